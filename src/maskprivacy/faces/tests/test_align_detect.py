"""Detection and alignment: known transforms are recovered; faces in big photos land where UTKFace's do."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskprivacy.faces.align import (
    BLAZE6,
    HOG_BOX,
    POINTS68,
    SIZE,
    compose,
    points_error,
    similarity,
    transform_points,
    warp,
)
from maskprivacy.faces.detect import Detection, FaceDetector, iou, mediapipe_available, nms, tiles
from maskprivacy.faces.photo import find_faces
from maskprivacy.masking.api import load_rgb


def _sim(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]])


def test_template_is_a_face_measured_from_data():
    eyes_y = POINTS68[36:48, 1].mean()
    assert POINTS68[27:31, 1].min() > POINTS68[17:27, 1].max() - 20  # nose below the brows
    assert eyes_y < POINTS68[30, 1] < POINTS68[48:68, 1].mean() < POINTS68[8, 1] <= SIZE
    # left/right symmetric about the nose line within a few pixels
    assert abs((POINTS68[36, 0] + POINTS68[45, 0]) / 2 - POINTS68[30, 0]) < 4
    # BlazeFace's eyes (subject's right eye on the image's left) sit near the 68-point eye centres
    assert BLAZE6[0, 0] < BLAZE6[1, 0]
    assert np.linalg.norm(BLAZE6[0] - POINTS68[36:42].mean(0)) < 8
    l, t, r, b = HOG_BOX
    assert 0 <= l < r <= SIZE and 0 <= t < b <= SIZE


@pytest.mark.parametrize("n", [3, 6, 68])
def test_similarity_recovers_a_known_transform(n):
    m_true = _sim(17, 1.7, 40.0, -12.5)
    src = POINTS68[np.linspace(0, 67, n).astype(int)]
    got = similarity(src, transform_points(src, m_true))
    np.testing.assert_allclose(got, m_true, atol=1e-3)
    back = compose(cv2.invertAffineTransform(got), got)
    np.testing.assert_allclose(back, np.eye(3)[:2], atol=1e-6)


def test_warp_shrinks_without_aliasing():
    # 1-px black/white stripes shrunk 8x must average to grey, not alias into bands
    stripes = np.zeros((1600, 1600, 3), np.uint8)
    stripes[:, ::2] = 255
    crop = warp(stripes, _sim(0, 1 / 8, 0, 0))
    assert crop.shape == (SIZE, SIZE, 3)
    assert abs(crop.mean() - 127.5) < 6 and crop.std() < 8


def test_tiles_nms_iou():
    ts = tiles(768, 1024, 460)
    assert len(ts) == 6
    covered = np.zeros((768, 1024), bool)
    for x0, y0, x1, y1 in ts:
        assert x1 - x0 == 460 and y1 - y0 == 460
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    xs = sorted({t[0] for t in ts})
    assert xs == [0, 282, 564] and min(b - a for a, b in zip(xs, xs[1:])) <= 460 * 0.7  # overlap >= 30%
    assert tiles(300, 300, 460) == [(0, 0, 300, 300)]
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)
    a, b, c = (
        Detection((0, 0, 10, 10), 0.9, "x"),
        Detection((1, 1, 11, 11), 0.8, "x"),
        Detection((50, 50, 60, 60), 0.7, "x"),
    )
    assert nms([b, c, a]) == [a, c]


@pytest.mark.parametrize("backend", ["blazeface", "dlib"])
def test_detectors_find_a_sample_face_and_nothing_in_noise(backend, face_path):
    if backend == "blazeface" and not mediapipe_available():
        pytest.skip("mediapipe is not installed")
    det = FaceDetector(backend, use_cnn=False)
    found = det.detect(load_rgb(face_path))
    assert len(found) == 1 and found[0].size > 120
    if backend == "blazeface":
        kp = found[0].keypoints
        assert kp.shape == (6, 2) and kp[0, 0] < kp[2, 0] < kp[1, 0]  # right eye, nose, left eye
    noise = (np.random.default_rng(1).random((300, 300, 3)) * 60 + 90).astype(np.uint8)
    assert det.detect(noise) == []


def test_alignment_undoes_rotation_and_scale(face_path):
    """A face rotated, enlarged and moved into a bigger photo is cut back to the same crop."""
    face = load_rgb(face_path)
    m_true = _sim(-14, 1.8, 220, 90)  # crop -> photo
    photo = cv2.warpAffine(face, m_true, (800, 620), borderMode=cv2.BORDER_CONSTANT, borderValue=(118, 118, 118))
    direct = find_faces(face)
    moved = find_faces(photo)
    assert len(direct) == 1 and len(moved) == 1
    # photo -> crop after crop -> photo must equal the alignment of the face as it was
    m_round = compose(moved[0].aligned.matrix, m_true)
    err = np.linalg.norm(
        transform_points(POINTS68, m_round) - transform_points(POINTS68, direct[0].aligned.matrix), axis=1
    )
    assert err.mean() < 3.0, err.mean()
    assert not moved[0].already_masked
    assert moved[0].aligned.method == "68 points"
    assert points_error(moved[0].aligned.points68) < 12  # within UTKFace's own spread of the template
    diff = np.abs(moved[0].aligned.crop.astype(int) - direct[0].aligned.crop.astype(int))[40:160, 40:160]
    assert diff.mean() < 14


def test_group_photo_finds_every_face(good_faces, group_photo):
    photo = group_photo(good_faces[:3])
    faces = find_faces(photo)
    assert len(faces) == 3
    xs = sorted((f.box[0] + f.box[2]) / 2 for f in faces)
    pasted = [40 + i * 320 + 130 for i in range(3)]  # group_photo's face centres
    assert np.abs(np.array(xs) - pasted).max() < 45  # one per pasted 260-px face, each where it was pasted
    for f in faces:
        assert f.aligned.crop.shape == (SIZE, SIZE, 3) and f.aligned.points68.shape == (68, 2)


def test_masked_faces_are_aligned_from_facemesh_points_above_the_mask(good_faces):
    """Digitally masked UTKFace crops, rotated and enlarged into photos, are cut back to UTKFace's geometry
    from FaceMesh's eye, brow and nose-bridge points (the mask hides the rest); where FaceMesh finds no
    face, from BlazeFace + dlib's upper points, as before."""
    if not mediapipe_available():
        pytest.skip("mediapipe is not installed")
    from maskprivacy.faces.landmarks import get_landmarker
    from maskprivacy.faces.photo import align_face
    from maskprivacy.masking.draw import draw_mask

    errs, how = [], []
    for i, p in enumerate(good_faces):
        face = load_rgb(p)
        pts = get_landmarker("fast").faces(face)[0].points
        masked = draw_mask(face, pts, style=("surgical", "cloth", "n95", "a")[i % 4], color="random", key=p.name)
        m_true = _sim(6, 1.6, 200, 80)
        photo = cv2.warpAffine(masked, m_true, (700, 560), borderMode=cv2.BORDER_CONSTANT, borderValue=(118, 118, 118))
        found = find_faces(photo, already_masked=True)
        assert len(found) == 1
        how.append(found[0].aligned.method)
        # where UTKFace's template points land after photo -> crop: the identity if the cut is UTKFace's
        m_round = compose(found[0].aligned.matrix, m_true)
        errs.append(np.linalg.norm(transform_points(POINTS68, m_round) - POINTS68, axis=1).mean())
    mesh = [e for e, h in zip(errs, how) if h == "facemesh upper points"]
    assert len(mesh) >= 4 and set(how) <= {"facemesh upper points", "upper 68 points"}, how
    assert np.mean(mesh) < 6, errs  # UTKFace's own faces scatter ~7.6 px around the template
    with pytest.raises(ValueError, match="masked_aligner"):
        align_face(photo, found[0].detection, True, masked_aligner="x")
