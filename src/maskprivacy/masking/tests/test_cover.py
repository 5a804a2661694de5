"""Painting the paper's mask over a real one (masking/cover.py)."""

from __future__ import annotations

import numpy as np
import pytest

from maskprivacy.faces.template_data import POINTS68, SIZE
from maskprivacy.masking.cover import cover_real_mask, cover_region, template_points
from maskprivacy.masking.shapes import region

PTS = np.array(POINTS68, np.float64)


def _face() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)


def test_covers_all_of_type_a_and_more_but_not_the_eyes():
    paint = cover_region(PTS, (SIZE, SIZE))
    a = region(PTS, "a", (SIZE, SIZE)) > 0
    assert paint[a].all()  # everything the training mask covers
    assert paint.sum() > a.sum() * 1.05  # and a margin around it, where a real mask's edge lies
    eyes = np.round(PTS[36:48]).astype(int)
    assert not paint[eyes[:, 1], eyes[:, 0]].any()  # the eyes stay as photographed


def test_template_points_follow_the_upper_face():
    # A face shifted and scaled in the crop: the template's points follow its brows and eyes.
    moved = PTS * 0.9 + [7.0, -5.0]
    assert np.allclose(template_points(moved), moved, atol=1e-6)


def test_guessed_lower_points_do_not_shrink_the_cover():
    # dlib's lower points on a masked face are guesses; if they collapse onto the nose, the template's
    # points fitted to the upper face still place the whole mask.
    pts = PTS.copy()
    pts[:17] = pts[33]
    pts[48:] = pts[33]
    paint = cover_region(pts, (SIZE, SIZE))
    assert paint[region(PTS, "a", (SIZE, SIZE)) > 0].all()


def test_paints_white_leaves_the_rest_and_is_deterministic():
    face = _face()
    a = cover_real_mask(face, PTS)
    b = cover_real_mask(face, PTS)
    assert np.array_equal(a, b)
    paint = cover_region(PTS, (SIZE, SIZE))
    assert (a[paint] == 255).all()
    assert np.array_equal(a[~paint], face[~paint])
    assert a is not face and a.shape == face.shape and a.dtype == np.uint8
    assert (cover_real_mask(face, PTS, (0, 0, 0))[paint] == 0).all()


@pytest.mark.parametrize(
    "pts",
    [
        PTS * 40 - 3000,  # a wild fit, far outside the crop
        np.zeros((68, 2)) + 100,  # every point on one pixel
        PTS[::-1].copy(),  # upside down
    ],
)
def test_extreme_points_do_not_crash_and_stay_inside_the_crop(pts):
    face = _face()
    out = cover_real_mask(face, pts)
    paint = cover_region(pts, (SIZE, SIZE))
    assert out.shape == face.shape and out.dtype == np.uint8
    assert paint.shape == (SIZE, SIZE) and paint.dtype == bool  # clipped to the crop, whatever the points
    # the paint lands where the region says and nowhere else: no wrap-around, no stray pixels
    assert (out[paint] == 255).all() and np.array_equal(out[~paint], face[~paint])


def test_bad_points_and_colours_are_clear_errors():
    with pytest.raises(ValueError, match="68 finite"):
        cover_region(PTS[:10], (SIZE, SIZE))
    with pytest.raises(ValueError, match="68 finite"):
        cover_region(np.full((68, 2), np.nan), (SIZE, SIZE))
    with pytest.raises(ValueError, match="fixed colour"):
        cover_real_mask(_face(), PTS, "random")
