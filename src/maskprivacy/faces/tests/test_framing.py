"""How tight a photo is around a face: the share of the aligned crop beyond the photo, and its buckets."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskprivacy.faces.align import (
    FRAMING_MOST,
    FRAMING_SOME,
    FRAMINGS,
    HOG_BOX,
    SIZE,
    beyond_frame_share,
    framing_of,
)
from maskprivacy.faces.photo import find_faces


def _sim(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]])


def _warped_ones(m: np.ndarray, w: int, h: int) -> float:
    """1 - the mean of an all-ones photo warped with ``m`` and a zero border: the definition, the slow way."""
    ones = np.ones((h, w), np.float32)
    out = cv2.warpAffine(ones, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return float(1 - out.mean())


def test_share_is_zero_inside_one_when_outside_and_half_when_cut_in_half():
    # the crop taken at scale 1 from the middle of a 1000 x 800 photo: nothing beyond it
    assert beyond_frame_share(_sim(0, 1, -400, -300), (1000, 800)) == 0
    # the crop taken entirely to the right of a 300 x 300 photo
    assert beyond_frame_share(_sim(0, 1, -400, 0), (300, 300)) == 1
    # the photo ends halfway across the crop (its right half lies beyond)
    assert beyond_frame_share(_sim(0, 1, 0, 0), (100, 400)) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "m, size",
    [
        (_sim(12, 0.8, -30, 40), (220, 260)),
        (_sim(-25, 1.7, 20, -60), (180, 150)),
        (_sim(3, 0.2, -100, -80), (1600, 1200)),  # a large photo shrunk: warp's two-step path
        (_sim(40, 2.5, 90, 10), (64, 90)),
    ],
)
def test_share_equals_warping_an_all_ones_photo(m, size):
    assert beyond_frame_share(m, size) == pytest.approx(_warped_ones(m, *size), abs=0.01)


def test_a_face_well_inside_a_big_photo_has_nothing_beyond_and_a_close_up_has_most(good_faces, group_photo, close_up):
    for face in good_faces[:3]:
        inside = find_faces(group_photo([face], (900, 700), 200), already_masked=False, max_faces=1)
        tight = find_faces(close_up(face), already_masked=False, max_faces=1)
        assert len(inside) == 1 and len(tight) == 1
        assert inside[0].beyond_frame < 0.01
        assert framing_of(inside[0].beyond_frame) == "none"
        # the close-up keeps about 45% of the crop (130 x 140 of its 200 x 200 px)
        assert tight[0].beyond_frame > 0.4
        assert framing_of(tight[0].beyond_frame) == "most"


def test_framing_buckets_and_their_boundaries():
    assert FRAMINGS == ("none", "some", "most") and 0 < FRAMING_SOME < FRAMING_MOST < 1
    assert framing_of(0.0) == "none"
    assert framing_of(np.nextafter(FRAMING_SOME, 0)) == "none"
    assert framing_of(FRAMING_SOME) == "some"
    assert framing_of(np.nextafter(FRAMING_MOST, 0)) == "some"
    assert framing_of(FRAMING_MOST) == "most"
    assert framing_of(1.0) == "most"
    for bad in (-0.01, 1.01, float("nan")):
        with pytest.raises(ValueError):
            framing_of(bad)


def test_most_starts_where_the_photo_shows_no_more_than_dlibs_face_box():
    """The threshold's reason, checked: the share of the crop around the template's face box."""
    l, t, r, b = HOG_BOX
    around_box = 1 - (r - l) * (b - t) / SIZE**2
    assert abs(FRAMING_MOST - around_box) < 0.01
    # a photo that ends exactly at that box falls in "most" within rounding of the box's edges
    m = _sim(0, 1, l, t)  # the photo's corner lands on the box's
    assert beyond_frame_share(m, (int(r - l), int(b - t))) == pytest.approx(around_box, abs=0.005)
