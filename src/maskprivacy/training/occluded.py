"""The adaptive attacker's faces: random occluders (sunglasses, caps, hoods, blur...) over random masks.

An occluder looks protective against an attacker that never saw one; a real adversary trains on
photos of people who wear it. So the adaptive attacker is trained on the mask-robust attacker's
distribution widened: each face of each batch is, independently,

* bare (``bare_prob``), so a face without anything stays in its world;
* wearing one occlusion drawn uniformly from ``names`` (``share``; masking/occluders: every
  registered one by default, combinations with masks included), itself over a random mask from the
  mask distribution ``mask_prob`` of the time;
* else wearing a random mask only, exactly as the mask-robust attacker's faces do
  (:class:`~maskprivacy.training.robust.RandomMasker`, the paper's own mask included).

Every choice and every occluder's seed come from one generator per (seed, part, epoch, batch, rank),
so a rerun draws the same faces and validation faces are the same every epoch.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from maskprivacy.training.robust import RandomMasker


def occlusion_names(names: Any) -> tuple[str, ...]:
    """The occlusions a setting names: ``all`` (or null) for every registered one; unknown names refused."""
    from maskprivacy.masking.occluders import OCCLUSIONS

    known = tuple(OCCLUSIONS)
    if names in (None, "all"):
        return known
    if isinstance(names, str):
        names = [names]
    unknown = [n for n in names if n not in OCCLUSIONS]
    if unknown:
        raise ValueError(f"unknown occlusion(s) {', '.join(map(str, unknown))}: choose from {', '.join(known)}")
    if not names:
        raise ValueError("occlusions.names is empty: name at least one occlusion, or all")
    return tuple(names)


@dataclass(frozen=True)
class OcclusionMix:
    """How the adaptive attacker's training faces are dressed (profile section ``occlusions``)."""

    names: tuple[str, ...]
    share: float = 0.6
    mask_prob: float = 0.5
    bare_prob: float = 0.1

    def __post_init__(self) -> None:
        for k in ("share", "mask_prob", "bare_prob"):
            if not 0.0 <= float(getattr(self, k)) <= 1.0:
                raise ValueError(f"occlusions.{k} must be in [0, 1], got {getattr(self, k)}")
        if self.share + self.bare_prob > 1.0:
            raise ValueError("occlusions.share + occlusions.bare_prob must be at most 1")

    @classmethod
    def from_cfg(cls, cfg: dict[str, Any]) -> "OcclusionMix":
        oc = cfg.get("occlusions") or {}
        return cls(
            occlusion_names(oc.get("names", "all")),
            float(oc.get("share", 0.6)),
            float(oc.get("mask_prob", 0.5)),
            float(oc.get("bare_prob", 0.1)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "share": self.share, "mask_prob": self.mask_prob, "bare_prob": self.bare_prob}

    def plan(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per face: whether it wears a random mask, which occlusion (-1: none), and the occluder's seed."""
        u = rng.random((n, 3))
        bare = u[:, 0] < self.bare_prob
        occluded = ~bare & (u[:, 0] < self.bare_prob + self.share)
        which = np.where(occluded, np.minimum((u[:, 1] * len(self.names)).astype(int), len(self.names) - 1), -1)
        masked = ~bare & (~occluded | (u[:, 2] < self.mask_prob))
        seeds = rng.integers(0, 2**31 - 1, size=n)
        return masked, which, seeds


def occlude_faces(
    faces: np.ndarray, points: np.ndarray, which: np.ndarray, seeds: np.ndarray, names: Sequence[str]
) -> np.ndarray:
    """Copies of (N, S, S, 3) uint8 ``faces`` with occlusion ``names[which[i]]`` drawn on face i
    (``which[i]`` -1: unchanged), from its key points, seeded by ``seeds[i]``."""
    from maskprivacy.masking.occluders import apply_occlusion

    out = np.array(faces, copy=True)
    for i in np.flatnonzero(np.asarray(which) >= 0):
        out[i] = apply_occlusion(out[i], points[i], names[int(which[i])], int(seeds[i])).image
    return out


class OcclusionMasker:
    """``masker(rows, x, part, epoch, batch_idx, rank)`` -> x dressed by :class:`OcclusionMix`."""

    def __init__(self, masks: RandomMasker, mix: OcclusionMix, seed: int):
        self.masks = masks
        self.mix = mix
        self.seed = int(seed)

    def __call__(
        self, rows: torch.Tensor, x: torch.Tensor, part: str, epoch: int, batch_idx: int, rank: int = 0
    ) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, zlib.crc32(part.encode()), int(epoch), int(batch_idx), int(rank)])
        masked, which, seeds = self.mix.plan(rng, len(rows))
        r = rows.detach().cpu().numpy()
        m = self.masks
        faces = m.images[torch.from_numpy(r)].numpy() if m.images.device.type == "cpu" else x.permute(0, 2, 3, 1).cpu().numpy()
        faces = np.ascontiguousarray(faces)
        if masked.any():
            sel = np.flatnonzero(masked)
            dressed = m(rows[torch.from_numpy(sel)], x[torch.from_numpy(sel).to(x.device)], part, epoch, batch_idx, rank)
            faces[sel] = dressed.permute(0, 2, 3, 1).cpu().numpy()
        out = occlude_faces(faces, m.points[r], which, seeds, self.mix.names)
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(x.device, non_blocking=True)
