"""A learned "does this face already wear a mask?" detector: a small CNN on the aligned first cut.

Why: the colour check (:mod:`maskprivacy.faces.maskcheck`) is explainable but fails on glasses over
the brow, beards, shadows, grey photos and dark or skin-coloured masks (0.900 accurate on real masked
photos, docs/ANALYZE.md). A face behind a real mask must go to the mask-robust attacker, a bare one to
the bare-face attacker plus a digital mask, so each wrong decision costs a reading. This network is
trained by the ``mask_detector`` stage (:mod:`maskprivacy.training.mask_detector`) on the run's own
training faces, half of each batch bare and half wearing a mask drawn afresh from the whole random mask
distribution (every style, colour, print, light and placement), under geometric jitter wider than the
first cut's measured alignment error, so it learns "the lower face is covered", not one mask's shape.

Small on purpose: it reads one 200-px first cut per face (a few milliseconds on one CPU core) and
trains in about a minute on a laptop CPU. One definition of its input (:func:`to_input`) serves
training and reading, so the network sees the same pixels in both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from maskprivacy.atomic import replacing
from maskprivacy.faces.align import resize_crop

#: Probability above which a face is read as masked. Training is balanced (half bare, half masked),
#: so 0.5 is the neutral point; it is not tuned to any set of real photos.
THRESHOLD = 0.5
MEAN, STD = 0.5, 0.25


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 2, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


CHANNELS = (24, 48, 96, 128)


class MaskDetectorNet(nn.Module):
    """Four stride-2 blocks (``CHANNELS``), global pooling, one logit (masked)."""

    def __init__(self, channels: tuple[int, ...] = CHANNELS, dropout: float = 0.2):
        super().__init__()
        ins = (3, *channels[:-1])
        self.features = nn.Sequential(*[_block(i, o) for i, o in zip(ins, channels)])
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels[-1], 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


def resample(x: torch.Tensor, size: int, theta: torch.Tensor | None = None) -> torch.Tensor:
    """float (N, 3, H, W) -> (N, 3, size, size) through the affine ``theta`` (N, 2, 3); None: identity."""
    if theta is None:
        theta = torch.eye(2, 3, device=x.device).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(theta, [x.shape[0], 3, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def to_input(images: np.ndarray | torch.Tensor, size: int, theta: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 (N, S, S, 3) faces at the cache's side -> the network's normalised (N, 3, size, size)."""
    x = torch.as_tensor(np.ascontiguousarray(images)) if isinstance(images, np.ndarray) else images
    x = x.permute(0, 3, 1, 2).float() / 255.0
    return (resample(x, size, theta) - MEAN) / STD


@dataclass
class MaskDetector:
    """A trained detector: ``check(crop)`` -> (masked?, probability) for 200-px aligned first cuts."""

    net: MaskDetectorNet
    input_size: int
    cache_size: int
    threshold: float = THRESHOLD
    info: dict[str, Any] | None = None

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 aligned faces of any side -> P(masked) per face."""
        small = np.stack([resize_crop(c, self.cache_size) for c in crops])  # as the training cache resized
        with torch.inference_mode():
            return torch.sigmoid(self.net(to_input(small, self.input_size)).float()).numpy()

    def check(self, crop: np.ndarray) -> tuple[bool, float]:
        p = float(self.probabilities(crop[None])[0])
        return p >= self.threshold, p


def save_mask_detector(path: str | os.PathLike, net: MaskDetectorNet, info: dict[str, Any]) -> None:
    """The bundle: weights plus what reading needs (input and cache sides, channels, threshold)."""
    with replacing(path) as tmp:
        torch.save({"state_dict": net.state_dict(), "info": info}, tmp)


def load_mask_detector(path: str | os.PathLike) -> MaskDetector:
    b = torch.load(Path(path), map_location="cpu", weights_only=True)
    info = dict(b["info"])
    net = MaskDetectorNet(tuple(int(c) for c in info.get("channels", CHANNELS)))
    net.load_state_dict(b["state_dict"])
    net.eval()
    return MaskDetector(
        net, int(info["input_size"]), int(info["cache_size"]), float(info.get("threshold", THRESHOLD)), info
    )
