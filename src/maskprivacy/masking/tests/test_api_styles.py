import numpy as np
import pytest

import maskprivacy
from maskprivacy.masking.colors import NAMED_COLORS, parse_color
from maskprivacy.masking.draw import STYLES, draw_mask
from maskprivacy.masking.shapes import region


@pytest.fixture(scope="module")
def face(good_faces):
    return good_faces[0]


def test_mask_face_type_a_is_white_over_mouth_not_eyes(face):
    masked, points = maskprivacy.mask_face(face, style="a", color="white")
    assert points.shape == (68, 2)
    mouth = points[48:68].mean(axis=0).astype(int)
    eye = points[36:42].mean(axis=0).astype(int)
    assert tuple(masked[mouth[1], mouth[0]]) == (255, 255, 255)
    from PIL import Image

    orig = np.asarray(Image.open(face).convert("RGB"))
    assert np.abs(masked[eye[1], eye[0]].astype(int) - orig[eye[1], eye[0]]).max() < 2


def test_no_face_raises_clear_error():
    noise = np.full((200, 200, 3), 127, np.uint8)
    with pytest.raises(maskprivacy.NoFaceError, match="no face"):
        maskprivacy.mask_face(noise)


@pytest.mark.parametrize("style", STYLES)
def test_every_style_covers_the_mouth_and_changes_pixels(face, style):
    masked, points = maskprivacy.mask_face(face, style=style, color="surgical-blue")
    from PIL import Image

    orig = np.asarray(Image.open(face).convert("RGB")).astype(int)
    diff = np.abs(masked.astype(int) - orig).sum(axis=2) > 30
    mouth = points[62]
    assert diff[mouth[1], mouth[0]], style
    # the eyes stay visible
    eye = points[37]
    assert not diff[eye[1] - 4, eye[0]], style
    assert 0.08 < diff.mean() < 0.6, style


def test_realistic_styles_are_shaded_not_flat(face):
    masked, points = maskprivacy.mask_face(face, style="surgical", color="white")
    inside = region(points, "a", masked.shape[:2]) > 0
    assert masked[inside].std() > 5  # pleats and shading, unlike the flat paper mask
    flat, _ = maskprivacy.mask_face(face, style="a", color="white")
    assert flat[region(points, "a", flat.shape[:2]) > 0].std() < 1


def test_colours(face):
    assert parse_color("white") == (255, 255, 255)
    assert parse_color("10,20,30") == (10, 20, 30)
    assert parse_color("#ff0080") == (255, 0, 128)
    assert parse_color("random") is None
    with pytest.raises(ValueError, match="R,G,B"):
        parse_color("300,0,0")
    _, p = maskprivacy.mask_face(face)
    img = np.zeros((200, 200, 3), np.uint8)
    a = draw_mask(img, p, "b", "random", seed=1, key="x.jpg")
    b = draw_mask(img, p, "b", "random", seed=1, key="x.jpg")
    assert np.array_equal(a, b)
    colours = {
        tuple(draw_mask(img, p, "b", "random", seed=1, key=f"{k}.jpg").reshape(-1, 3).max(axis=0)) for k in range(40)
    }
    assert len(colours) > 3 and colours <= {tuple(c) for c in NAMED_COLORS.values()}
