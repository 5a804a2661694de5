"""The adaptive attacker's training faces: random occluders over random masks, seeded per batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from maskprivacy.faces.template_data import POINTS68, SIZE
from maskprivacy.masking.random_masks import MaskDistribution
from maskprivacy.training.config import load_profile
from maskprivacy.training.occluded import OcclusionMasker, occlusion_distribution
from maskprivacy.training.robust import RandomMasker

S = 48


def _masker(mask_prob: float, **draw: float) -> tuple[OcclusionMasker, torch.Tensor]:
    rng = np.random.default_rng(0)
    faces = rng.integers(60, 200, size=(6, S, S, 3), dtype=np.uint8)
    points = np.repeat(np.asarray(POINTS68, np.float32)[None] * (S / SIZE), len(faces), axis=0)
    images = torch.from_numpy(faces)
    cfg = {"occlusions": {"draw": draw}}
    masks = RandomMasker(images, points, MaskDistribution(), seed=1)
    return OcclusionMasker(masks, occlusion_distribution(cfg), mask_prob, seed=2), images


def _call(m: OcclusionMasker, images: torch.Tensor, batch_idx: int = 0) -> torch.Tensor:
    rows = torch.arange(len(images))
    return m(rows, images[rows].permute(0, 3, 1, 2), "train", 0, batch_idx)


def test_same_batch_same_faces_other_batch_other_faces():
    m, images = _masker(0.5, eyes_prob=0.5, head_prob=0.5, edit_prob=0.3)
    a, b = _call(m, images), _call(m, images)
    assert torch.equal(a, b)
    assert not torch.equal(a, _call(m, images, batch_idx=1))
    assert a.shape == (len(images), 3, S, S) and a.dtype == torch.uint8


def test_nothing_drawn_leaves_the_faces_bare():
    m, images = _masker(0.0, scarf_prob=0.0, eyes_prob=0.0, head_prob=0.0, edit_prob=0.0)
    assert torch.equal(_call(m, images), images.permute(0, 3, 1, 2))


def test_every_face_masked_and_every_face_blurred_or_pixelated():
    m, images = _masker(1.0, scarf_prob=0.0, eyes_prob=0.0, head_prob=0.0, edit_prob=1.0)
    out = _call(m, images)
    bare = images.permute(0, 3, 1, 2)
    assert all(not torch.equal(out[i], bare[i]) for i in range(len(images)))
    _, names = m.dress(images.numpy(), m.masks.points, np.random.default_rng(0))
    assert all(n.split("+")[-1].startswith(("blur", "pixelate")) for n in names)


def test_profiles_draw_masks_from_the_mask_distribution_not_the_occluders():
    for name in ("smoke", "cpu", "gpu"):
        d = occlusion_distribution(load_profile(name))
        assert d.mask_prob == 0.0 and d.eyes_prob > 0
    with pytest.raises(ValueError, match="occlusions.mask_prob"):
        occlusion_distribution({"occlusions": {"draw": {"mask_prob": 0.5}}})
