"""The adaptive attacker's faces: random occluders (sunglasses, caps, hoods, blur...) over random masks.

An occluder looks protective against an attacker that never saw one; a real adversary trains on
photos of people who wear it. So the adaptive attacker is trained on the mask-robust attacker's
distribution widened. Each face of each batch, independently:

* wears a random mask ``mask_prob`` of the time, exactly as the mask-robust attacker's faces do
  (:class:`~maskprivacy.training.robust.RandomMasker`: every style, the paper's own mask included);
* then whatever :func:`maskprivacy.masking.occluders.random_occlusion` draws on top (sunglasses or
  glasses or an eye bar, a cap, beanie or hood, a scarf, a blur or pixelation, each slot with its own
  probability, profile ``occlusions.draw``), its mask slot off: masks come from the mask distribution.

Faces that drew nothing stay bare, so a face without anything stays in the attacker's world. Every
choice and every occluder's seed come from one generator per (seed, part, epoch, batch, rank): a rerun
draws the same faces, and validation faces are the same every epoch.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import torch

from maskprivacy.training.robust import RandomMasker


def occlusion_distribution(cfg: dict[str, Any]):
    """The profile's ``occlusions.draw`` as the occluders' distribution, its mask slot off (masks are
    drawn from the mask distribution, under the occluders)."""
    from maskprivacy.masking.occluders import OcclusionDistribution

    draw = dict((cfg.get("occlusions") or {}).get("draw") or {})
    if "mask_prob" in draw:
        raise ValueError("occlusions.draw.mask_prob: masks come from the mask distribution; set occlusions.mask_prob")
    return OcclusionDistribution.from_dict({**draw, "mask_prob": 0.0})


def mask_share(cfg: dict[str, Any]) -> float:
    """``occlusions.mask_prob`` checked (its value lives in the profiles' base.yaml, nowhere else)."""
    p = float(cfg["occlusions"]["mask_prob"])
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"occlusions.mask_prob must be in [0, 1], got {p}")
    return p


class OcclusionMasker:
    """``masker(rows, x, part, epoch, batch_idx, rank)`` -> x wearing random masks and occluders."""

    def __init__(self, masks: RandomMasker, dist: Any, mask_prob: float, seed: int):
        self.masks = masks
        self.dist = dist
        self.mask_prob = float(mask_prob)
        self.seed = int(seed)

    def dress(self, faces: np.ndarray, points: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
        """``faces`` (already wearing their masks) with random occluders on top, and what each drew."""
        from maskprivacy.masking.occluders import random_occlusion_batch

        return random_occlusion_batch(faces, points, rng, self.dist)

    def __call__(
        self, rows: torch.Tensor, x: torch.Tensor, part: str, epoch: int, batch_idx: int, rank: int = 0
    ) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, zlib.crc32(part.encode()), int(epoch), int(batch_idx), int(rank)])
        masked = rng.random(len(rows)) < self.mask_prob
        r = rows.detach().cpu().numpy()
        m = self.masks
        on_host = m.images.device.type == "cpu"
        faces = np.ascontiguousarray(
            m.images[torch.from_numpy(r)].numpy() if on_host else x.permute(0, 2, 3, 1).cpu().numpy()
        )
        if masked.any():
            sel = torch.from_numpy(np.flatnonzero(masked))
            dressed = m(rows[sel.to(rows.device)], x[sel.to(x.device)], part, epoch, batch_idx, rank)
            faces[sel.numpy()] = dressed.permute(0, 2, 3, 1).cpu().numpy()
        out, _ = self.dress(faces, m.points[r], rng)
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(x.device, non_blocking=True)
