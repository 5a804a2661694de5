"""Occluders: deterministic per seed, inside the image and the box around the face, robust to absurd
key points, a combination is its parts, image-level edits change the face and nothing else."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from maskprivacy.faces.template_data import POINTS68, SIZE
from maskprivacy.masking.occluders import (
    BARE,
    OCCLUSIONS,
    OcclusionDistribution,
    apply_occlusion,
    face_region,
    occlusion_names,
    occlusion_parts,
    random_occlusion,
)

SINGLES = [n for n, o in OCCLUSIONS.items() if len(o.parts) == 1]
COMBOS = [n for n, o in OCCLUSIONS.items() if len(o.parts) > 1]
EDITS = occlusion_names("image-edit")


@pytest.fixture(scope="module")
def faces(landmarked_faces):
    """Three sample faces at full size and one at the training cache's 72 px, with their key points."""
    out = [(rgb, pts.astype(np.float64)) for rgb, pts in landmarked_faces[:3]]
    rgb, pts = out[0]
    out.append((cv2.resize(rgb, (72, 72), interpolation=cv2.INTER_AREA), pts * (72 / rgb.shape[1])))
    return out


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=2)


def around_face(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A box around the key points, computed apart from the package: 0.9 of the points' width on each
    side, 1.4 of their height above (a cap's crown), 0.8 below (a scarf on the neck)."""
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    w, h = x1 - x0, y1 - y0
    m = np.zeros(size, bool)
    ys, xs = np.mgrid[0 : size[0], 0 : size[1]]
    m[(xs >= x0 - 0.9 * w) & (xs <= x1 + 0.9 * w) & (ys >= y0 - 1.4 * h) & (ys <= y1 + 0.8 * h)] = True
    return m


def test_the_catalog_names_what_was_asked_for():
    for n in OCCLUSIONS:
        assert re.fullmatch(r"[a-z0-9-]+(\+[a-z0-9-]+)*", n), n
        assert OCCLUSIONS[n].kind in ("drawn", "image-edit") and OCCLUSIONS[n].description, n
    want = {
        "mask",
        "sunglasses-round-dark",
        "sunglasses-wayfarer-mirrored",
        "clear-glasses",
        "cap",
        "beanie",
        "hood",
        "scarf",
        "eye-bar",
        "mask+sunglasses",
        "mask+cap",
        "mask+sunglasses+cap",
        "hood+mask+sunglasses",
    } | {f"{e}-{s}" for e in ("blur", "pixelate") for s in ("low", "mid", "high")}
    assert want <= set(OCCLUSIONS)
    assert OCCLUSIONS["hood+mask+sunglasses"].parts[:2] == ("hood", "mask")
    assert set(EDITS) == {n for n in want if n.startswith(("blur", "pixelate"))} | {"eye-bar"}


@pytest.mark.parametrize("name", list(OCCLUSIONS))
def test_each_occlusion_is_deterministic_and_stays_around_the_face(faces, name):
    for i, (rgb, pts) in enumerate(faces):
        before = rgb.copy()
        a = apply_occlusion(rgb, pts, name, seed=i)
        b = OCCLUSIONS[name](rgb, pts, seed=i)
        assert np.array_equal(rgb, before), "the input is untouched"
        assert np.array_equal(a.image, b.image) and np.array_equal(a.hidden, b.hidden)
        assert a.image.shape == rgb.shape and a.image.dtype == np.uint8 and a.hidden.shape == rgb.shape[:2]
        diff = changed(a.image, rgb)
        assert diff.sum() > 0.01 * diff.size and a.hidden.sum() > 0, name
        box = around_face(pts, rgb.shape[:2])
        assert not (diff & ~box).any() and not (a.hidden & ~box).any(), name
        if any(OCCLUSIONS[p].jitter for p in OCCLUSIONS[name].parts):  # colours and placement vary per seed
            assert not np.array_equal(a.image, apply_occlusion(rgb, pts, name, seed=i + 50).image), name


def test_what_each_occlusion_hides(faces):
    rgb, pts = faces[0]
    p = np.round(pts).astype(int)
    at = lambda m, k: bool(m[p[k, 1], p[k, 0]])  # noqa: E731
    for n in ("sunglasses-round-dark", "sunglasses-wayfarer-mirrored", "eye-bar"):
        h = apply_occlusion(rgb, pts, n, 0).hidden
        assert at(h, 37) and at(h, 44) and not at(h, 62), n  # both eyes, not the mouth
    for n in ("mask", "scarf"):
        h = apply_occlusion(rgb, pts, n, 0).hidden
        assert at(h, 62) and at(h, 33) and not at(h, 37), n  # mouth and nose tip, not the eyes
    clear = apply_occlusion(rgb, pts, "clear-glasses", 0)
    assert not at(clear.hidden, 37) and clear.fraction_hidden(pts) < 0.1  # a clear lens hides nothing
    hood = apply_occlusion(rgb, pts, "hood", 0).hidden
    assert at(hood, 0) and at(hood, 16) and not at(hood, 30)  # the face's outline, not its middle
    cap = apply_occlusion(rgb, pts, "cap", 0)
    eyes = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillConvexPoly(eyes, cv2.convexHull(p[36:48]), 1)
    assert cap.image[eyes > 0].mean() < 0.8 * rgb[eyes > 0].mean(), "the brim shades the eyes"
    brows_up = face_region(pts, rgb.shape[:2]) & (np.arange(rgb.shape[0])[:, None] < p[17:27, 1].min())
    assert apply_occlusion(rgb, pts, "beanie", 0).hidden[brows_up].mean() > 0.8, "the forehead is hidden"


@pytest.mark.parametrize("name", COMBOS)
def test_a_combination_is_its_parts_painted_in_order(faces, name):
    for seed, (rgb, pts) in enumerate(faces[:2]):
        out, hidden = rgb, np.zeros(rgb.shape[:2], bool)
        for part in OCCLUSIONS[name].parts:
            one = apply_occlusion(out, pts, part, seed)
            out, hidden = one.image, hidden | one.hidden
        combo = apply_occlusion(rgb, pts, name, seed)
        assert np.array_equal(combo.image, out) and np.array_equal(combo.hidden, hidden)
        assert np.array_equal(apply_occlusion(rgb, pts, "+".join(OCCLUSIONS[name].parts), seed).image, out)


@pytest.mark.parametrize("name", EDITS)
def test_image_edits_change_the_face_region_only(faces, name):
    for rgb, pts in faces:
        out = apply_occlusion(rgb, pts, name, 0)
        face = face_region(pts, rgb.shape[:2])
        diff = changed(out.image, rgb)
        assert not (diff & ~face).any(), name
        assert (out.hidden & ~face).sum() == 0
        if name != "eye-bar":
            assert out.hidden[face].all() and diff[face].mean() > 0.3, name


def test_stronger_edits_remove_more_detail(faces):
    rgb, pts = faces[0]
    face = face_region(pts, rgb.shape[:2])
    for kind in ("blur", "pixelate"):
        err = [
            np.abs(apply_occlusion(rgb, pts, f"{kind}-{s}", 0).image.astype(int) - rgb)[face].mean()
            for s in ("low", "mid", "high")
        ]
        assert err[0] < err[1] < err[2], (kind, err)


def _extreme_points() -> dict[str, np.ndarray]:
    t = np.array(POINTS68, np.float64)
    return {
        "outside the frame": t + 5000,
        "half outside": t - [150, 0],
        "collapsed": np.full((68, 2), 100.0),
        "huge": t * 1e12,
        "mirrored": t[:, ::-1] * [-1, 1] + [SIZE, 0],
        "upside down": t * [1, -1] + [0, SIZE],
        "tiny": t * 0.01,
    }


@pytest.mark.parametrize("case", list(_extreme_points()))
def test_extreme_key_points_draw_inside_the_image_without_crashing(case):
    pts = _extreme_points()[case]
    rgb = np.random.default_rng(0).integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
    for name in [*OCCLUSIONS, "+".join(SINGLES)]:
        out = apply_occlusion(rgb, pts, name, seed=1)
        assert out.image.shape == rgb.shape and out.hidden.shape == rgb.shape[:2]
    far = apply_occlusion(rgb, _extreme_points()["outside the frame"], "mask+sunglasses+cap", 1)
    assert np.array_equal(far.image, rgb) and not far.hidden.any()  # a face outside the image draws nothing


def test_bad_input_gets_a_clear_error():
    t = np.array(POINTS68, np.float64)
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    bad = t.copy()
    bad[5, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        apply_occlusion(rgb, bad, "cap", 0)
    with pytest.raises(ValueError, match="68"):
        apply_occlusion(rgb, t[:5], "cap", 0)
    with pytest.raises(ValueError, match="choose from"):
        apply_occlusion(rgb, t, "tinfoil-hat", 0)
    with pytest.raises(ValueError, match="uint8"):
        apply_occlusion(rgb.astype(np.float32), t, "cap", 0)
    bare = apply_occlusion(rgb, t, BARE, 0)
    assert np.array_equal(bare.image, rgb) and not bare.hidden.any()


def test_random_occlusions_are_seeded_and_cover_the_catalog():
    a = [random_occlusion(np.random.default_rng(3)) for _ in range(3)]
    assert len(set(a)) == 1
    rng = np.random.default_rng(0)
    names = [random_occlusion(rng) for _ in range(4000)]
    parts = [p for n in names for p in occlusion_parts(n)]
    assert set(parts) == {
        "mask",
        "scarf",
        *OcclusionDistribution().eyes,
        *OcclusionDistribution().head,
        *OcclusionDistribution().edits,
    }
    assert 0.1 < names.count(BARE) / len(names) < 0.18  # 0.14 by the docstring's product
    for n in names[:200]:  # the painting order: hood under the mask, an edit last
        p = occlusion_parts(n)
        assert "hood" not in p or p[0] == "hood"
        assert not any(q.startswith(("blur", "pixelate")) for q in p[:-1])
    none = OcclusionDistribution(mask_prob=0, scarf_prob=0, eyes_prob=0, head_prob=0, edit_prob=0)
    assert random_occlusion(rng, none) == BARE
    assert OcclusionDistribution.from_dict(none.to_dict()) == none
    with pytest.raises(ValueError, match="mask_prob"):
        OcclusionDistribution(mask_prob=2)
    with pytest.raises(ValueError, match="unknown"):
        OcclusionDistribution.from_dict({"sunglasses_prob": 0.3})
    with pytest.raises(ValueError, match="eyes"):
        OcclusionDistribution(eyes=("mask+cap",))


def test_batches_are_seeded_per_face_and_combine_like_single_faces(faces):
    from maskprivacy.masking.occluders import face_seed, occlusion_batch, random_occlusion_batch

    ims = np.stack([cv2.resize(rgb, (72, 72), interpolation=cv2.INTER_AREA) for rgb, _ in faces[:3]])
    pts = np.stack([p * (72 / rgb.shape[1]) for rgb, p in faces[:3]])
    keys = ["x", "y", "z"]
    capped, hidden = occlusion_batch(ims, pts, "cap", 5, keys)
    assert hidden.shape == ims.shape[:3] and hidden.any(axis=(1, 2)).all()
    assert np.array_equal(capped[1], apply_occlusion(ims[1], pts[1], "cap", face_seed(5, "y")).image)
    reordered, _ = occlusion_batch(ims[::-1], pts[::-1], "cap", 5, keys[::-1])
    assert np.array_equal(reordered[::-1], capped)  # a face's draw does not depend on its place in the batch
    masked, _ = occlusion_batch(ims, pts, "mask", 5, keys)
    both, _ = occlusion_batch(ims, pts, "mask+cap", 5, keys)
    assert np.array_equal(both, occlusion_batch(masked, pts, "cap", 5, keys)[0])
    a, names = random_occlusion_batch(ims, pts, np.random.default_rng(1))
    b, again = random_occlusion_batch(ims, pts, np.random.default_rng(1))
    assert names == again and np.array_equal(a, b) and len(names) == 3


@pytest.mark.parametrize(
    "doc, why",
    [
        ({"occlusions": {"Cap": {"kind": "drawn", "paint": "cap"}}}, "lower-case"),
        ({"occlusions": {"cap": {"kind": "worn", "paint": "cap"}}}, "kind 'worn'"),
        ({"occlusions": {"cap": {"kind": "drawn", "paint": "helmet"}}}, "paint 'helmet'"),
        ({"occlusions": {"cap": {"kind": "drawn", "paint": "cap", "jitter": 2}}}, "jitter"),
        ({"occlusions": {"a+b": {"parts": ["a", "b"]}}}, "parts"),
        ({"occluders": {}}, "occlusions:"),
    ],
)
def test_a_bad_catalog_entry_is_named_with_the_reason(doc, why):
    from maskprivacy.masking.occluders.catalog import _parse

    with pytest.raises(ValueError, match=re.escape(why)):
        _parse(doc)
