"""The mask distribution: deterministic per seed, inside the face, robust to absurd key points, fast."""

import cv2
import numpy as np
import pytest

from maskprivacy.masking.draw import STYLES
from maskprivacy.masking.random_masks import DEFAULT, MaskDistribution, draw_random_mask, mask_batch, mask_style_batch

S = 72


@pytest.fixture(scope="module")
def small_faces(good_faces):
    """Sample faces at the training cache's 72 px, with their key points scaled to it."""
    from PIL import Image

    from maskprivacy.faces.landmarks import get_landmarker

    lm = get_landmarker("fast")
    ims, pts = [], []
    for f in good_faces:
        rgb = np.asarray(Image.open(f).convert("RGB"))
        found = lm.faces(rgb)
        if found:
            ims.append(cv2.resize(rgb, (S, S), interpolation=cv2.INTER_AREA))
            pts.append(found[0].points * (S / rgb.shape[1]))
    return np.stack(ims), np.stack(pts).astype(np.float32)


@pytest.mark.parametrize("style", STYLES)
def test_each_style_is_deterministic_per_seed_and_stays_on_the_face(small_faces, style):
    ims, pts = small_faces
    dist = DEFAULT.only(style)
    for i in range(len(ims)):
        a, d = draw_random_mask(ims[i], pts[i], np.random.default_rng(i), dist)
        b, _ = draw_random_mask(ims[i], pts[i], np.random.default_rng(i), dist)
        assert d.style == style and np.array_equal(a, b)
        c, _ = draw_random_mask(ims[i], pts[i], np.random.default_rng(i + 100), dist)
        assert not np.array_equal(a, c)  # another seed, another mask
        changed = np.abs(a.astype(int) - ims[i].astype(int)).sum(axis=2) > 24
        assert changed[int(pts[i][62][1]), int(pts[i][62][0])], "the mouth is covered"
        # mostly inside the face: the hull of the jaw and brows, grown by a tenth of the face width
        fw = float(np.hypot(*(pts[i][16] - pts[i][0])))
        hull = np.zeros((S, S), np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.round(pts[i][:27]).astype(np.int32)), 1)
        k = max(3, int(0.2 * fw) | 1)
        hull = cv2.dilate(hull, np.ones((k, k), np.uint8)) > 0
        assert (changed & hull).sum() >= 0.85 * changed.sum(), style


def test_batches_are_deterministic_and_vary(small_faces):
    ims, pts = small_faces
    a = mask_batch(ims, pts, np.random.default_rng(7))
    assert np.array_equal(a, mask_batch(ims, pts, np.random.default_rng(7)))
    assert not np.array_equal(a, mask_batch(ims, pts, np.random.default_rng(8)))
    assert a.dtype == np.uint8 and a.shape == ims.shape


def test_the_paper_mask_share_is_as_asked(small_faces):
    rng = np.random.default_rng(0)
    from maskprivacy.masking.random_masks import sample

    draws = [sample(rng, MaskDistribution(paper_prob=0.3)) for _ in range(2000)]
    share = np.mean([d.look is None for d in draws])
    assert 0.26 < share < 0.34
    assert len({d.style for d in draws}) == len(STYLES)
    assert len({d.color for d in draws}) > 500  # many colours


def test_per_style_batches_are_seeded_per_face(small_faces):
    ims, pts = small_faces
    keys = [f"f{i}" for i in range(len(ims))]
    a = mask_style_batch(ims, pts, "kn95", 0, keys=keys)
    b = mask_style_batch(ims[::-1], pts[::-1], "kn95", 0, keys=keys[::-1])
    assert np.array_equal(a, b[::-1])  # a face's mask does not depend on its batch
    assert np.array_equal(mask_style_batch(ims, pts, "bare", 0), ims)
    mouth = pts[0][62].astype(int)
    for shape in ("a", "b", "c", "d", "e", "f"):  # the paper's shapes as the paper drew them: white
        paper = mask_style_batch(ims, pts, shape, 0)
        assert tuple(paper[0][mouth[1], mouth[0]]) == (255, 255, 255)


@pytest.mark.parametrize("case", ["equal", "outside", "flipped", "upside_down", "huge", "nan", "tiny_image"])
def test_no_crash_on_absurd_key_points(small_faces, case):
    ims, pts = small_faces
    img, p = ims[0], pts[0].copy()
    if case == "equal":
        p[:] = 30
    elif case == "outside":
        p += 500
    elif case == "flipped":
        p[:, 0] = S - 1 - p[:, 0]
        p = p[::-1].copy()
    elif case == "upside_down":
        p[:, 1] = S - 1 - p[:, 1]
    elif case == "huge":
        p *= 1e9
    elif case == "nan":
        p[5] = np.nan
    elif case == "tiny_image":
        img, p = img[:4, :4].copy(), p / 18
    for style in STYLES:
        for seed in range(3):
            out, _ = draw_random_mask(img, p, np.random.default_rng(seed), DEFAULT.only(style))
            assert out.shape == img.shape and out.dtype == np.uint8


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="unknown mask distribution settings"):
        MaskDistribution.from_dict({"colour": 1})
    with pytest.raises(ValueError, match="mask style 'cape'"):
        MaskDistribution(styles=("cape",))
    d = MaskDistribution.from_dict({"paper_prob": 0.5, "styles": ["a", "kn95"], "angle": [-3, 3]})
    assert MaskDistribution.from_dict(d.to_dict()) == d
