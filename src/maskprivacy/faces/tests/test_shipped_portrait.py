"""Finding and aligning a face with no ../shared: the portrait that matplotlib ships (conftest.py)."""

from __future__ import annotations

import pytest

from maskprivacy.faces.align import SIZE, points_error
from maskprivacy.faces.detect import mediapipe_available
from maskprivacy.faces.photo import find_faces
from maskprivacy.masking.api import load_rgb

# Where the face is in the 512x600 portrait, read off the photo: brows to chin, ear to ear.
FACE_X, FACE_Y = (150, 390), (120, 370)


@pytest.mark.parametrize("detector", ["dlib", "blazeface"])
def test_the_portrait_is_found_and_cut_to_utkface_geometry(shipped_portrait, detector):
    if detector == "blazeface" and not mediapipe_available():
        pytest.skip("mediapipe is not installed")
    rgb = load_rgb(shipped_portrait)
    faces = find_faces(rgb, False, detector)
    assert len(faces) == 1
    f = faces[0]
    left, top, right, bottom = f.box
    assert FACE_X[0] < left < right < FACE_X[1] and FACE_Y[0] < top < bottom < FACE_Y[1]
    assert f.aligned.crop.shape == (SIZE, SIZE, 3) and f.aligned.method == "68 points"
    # the key points found on the cut face sit where UTKFace's template puts them
    assert points_error(f.aligned.points68) < 8
    assert f.beyond_frame == 0.0  # the whole head is in the photo
    assert not f.already_masked  # told so


def test_a_mirrored_portrait_is_cut_to_the_mirrored_face(shipped_portrait):
    """Alignment follows the face, not the photo: the mirrored photo gives the mirrored crop."""
    rgb = load_rgb(shipped_portrait)
    a = find_faces(rgb, False, "dlib")[0]
    b = find_faces(rgb[:, ::-1].copy(), False, "dlib")[0]
    assert points_error(b.aligned.points68) < 8
    diff = abs(a.aligned.crop[:, ::-1].astype(int) - b.aligned.crop.astype(int)).mean()
    assert diff < 20, diff  # the same face, up to the few pixels the key points move
