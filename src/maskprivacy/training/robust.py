"""The mask-robust attacker's masks: a fresh mask from the distribution for every face in every batch.

The paper-style attacker is trained on faces that all wear the same flat white mask "a", and reads
real masks poorly. This one is trained on the *unmasked* cached faces, each wearing a mask drawn
afresh, per batch, from :class:`maskprivacy.masking.random_masks.MaskDistribution` (every style,
colour, print, lighting and placement), placed by the face's key points scaled to the cache
(``points.npy``). It starts from the paper-style attacker's fine-tuned weights, so a few epochs
teach it the variety without paying for a second full training; mixing in the paper's own mask
(``paper_prob``) keeps what it knew about that one; those faces are taken from the masked cache, so
they are pixel for pixel what the test set shows (drawn at full size, then shrunk).

Masks depend only on (seed, part, epoch, batch, rank) and the batch's rows: a rerun draws the same
masks, whatever the timing. Validation masks are the same every epoch, so early stopping compares
like with like.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import torch

from maskprivacy.masking.random_masks import MaskDistribution, mask_batch


class RandomMasker:
    """``masker(rows, x, part, epoch, batch_idx, rank)`` -> x with masks (uint8 (B, 3, S, S), any device)."""

    def __init__(
        self,
        images: torch.Tensor,
        points: np.ndarray,
        dist: MaskDistribution,
        seed: int,
        paper: np.ndarray | None = None,
    ):
        if points.shape[0] != images.shape[0] or points.shape[1:] != (68, 2):
            raise ValueError(f"key points {points.shape} do not match the cached images {tuple(images.shape)}")
        if paper is not None and paper.shape != tuple(images.shape):
            raise ValueError(f"the masked cache {paper.shape} does not match the unmasked one {tuple(images.shape)}")
        self.images = images  # (N, S, S, 3) uint8, host memory (the bank's own tensor)
        self.paper = paper  # the same faces with the paper's mask (masked cache), or None
        self.points = np.asarray(points, dtype=np.float32)
        self.dist = dist
        self.seed = int(seed)

    def rng(self, part: str, epoch: int, batch_idx: int, rank: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(part.encode()), int(epoch), int(batch_idx), int(rank)])

    def __call__(
        self, rows: torch.Tensor, x: torch.Tensor, part: str, epoch: int, batch_idx: int, rank: int = 0
    ) -> torch.Tensor:
        r = rows.detach().cpu().numpy()
        faces = (
            self.images[torch.from_numpy(r)].numpy()
            if self.images.device.type == "cpu"
            else x.permute(0, 2, 3, 1).cpu().numpy()
        )
        paper = None if self.paper is None else np.asarray(self.paper[r])
        out = mask_batch(
            np.ascontiguousarray(faces), self.points[r], self.rng(part, epoch, batch_idx, rank), self.dist, paper
        )
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(x.device, non_blocking=True)


def distribution(cfg: dict[str, Any]) -> MaskDistribution:
    """The profile's ``robust.masks`` settings as a distribution (unknown keys refused)."""
    return MaskDistribution.from_dict((cfg.get("robust") or {}).get("masks"))
