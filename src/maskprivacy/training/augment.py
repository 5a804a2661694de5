"""Batched, device-agnostic augmentations on uint8 image tensors.

Per-image PIL transforms in DataLoader workers are the usual CPU bottleneck of contrastive
learning; here a whole batch is augmented by a handful of tensor operations on whatever device
holds it (the GPU profile keeps the dataset in GPU memory). Random resized crop and horizontal
flip are one ``affine_grid`` + ``grid_sample``; colour jitter and grayscale are arithmetic.

Crops are taken relative to the model's ``crop`` box (fractions of the aligned face), so training
sees the same region the evaluation and the :class:`~maskprivacy.models.predictor.Predictor` see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from maskprivacy.models.preprocess import FULL_CROP, IMAGENET_MEAN, IMAGENET_STD, check_crop, normalize


@dataclass(frozen=True)
class AugmentConfig:
    """What one view of an image may look like. Defaults: MoCo v2's recipe, scaled to faces."""

    scale: tuple[float, float] = (0.2, 1.0)  # area of the crop box kept
    ratio: tuple[float, float] = (0.75, 1.3333)  # aspect ratio range
    flip: float = 0.5
    jitter: float = 0.8  # probability of colour jitter
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    grayscale: float = 0.2
    edge: float = 0.0  # probability of a simulated photo edge (see photo_edge); 0 keeps older configs exact
    edge_cut: float = 0.25  # most of each side's fraction that may lie beyond that edge

    def __post_init__(self) -> None:
        if not 0.0 <= self.edge <= 1.0:
            raise ValueError(f"augment.edge is a probability (0-1), got {self.edge}")
        if not 0.0 <= self.edge_cut < 0.5:  # two opposite cuts must leave some of the face
            raise ValueError(f"augment.edge_cut is a fraction of a side in [0, 0.5), got {self.edge_cut}")

    @classmethod
    def from_dict(cls, d: dict | None) -> "AugmentConfig":
        d = dict(d or {})
        for k in ("scale", "ratio"):
            if k in d:
                d[k] = tuple(float(v) for v in d[k])
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"unknown augmentation settings {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}"
            )
        return cls(**d)


def random_resized_crop(
    x: torch.Tensor,
    size: int,
    crop: Sequence[float] = FULL_CROP,
    scale: Sequence[float] = (0.2, 1.0),
    ratio: Sequence[float] = (0.75, 1.3333),
    flip: float = 0.5,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """uint8/float (N, 3, H, W) -> float [0, 1] (N, 3, size, size): a random box of the crop region per image.

    Each image gets its own area fraction in ``scale``, aspect ratio in ``ratio`` (log-uniform) and
    position, and is mirrored with probability ``flip``. Boxes stay inside the crop region.
    """
    n, dev = x.shape[0], x.device
    x0, y0, x1, y1 = check_crop(crop)
    u = torch.rand(n, 5, device=dev, generator=generator)
    area = scale[0] + (scale[1] - scale[0]) * u[:, 0]
    logr = math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * u[:, 1]
    r = torch.exp(logr)
    w = torch.sqrt(area * r).clamp(max=1.0)  # fraction of the crop box width
    h = torch.sqrt(area / r).clamp(max=1.0)
    cx = (2 * u[:, 2] - 1) * (1 - w)  # centre in [-1, 1] box coordinates
    cy = (2 * u[:, 3] - 1) * (1 - h)
    sign = torch.where(u[:, 4] < flip, -1.0, 1.0)
    # box coordinates -> image coordinates in [-1, 1] (align_corners=False convention)
    bw, bh = (x1 - x0), (y1 - y0)
    bcx, bcy = (x0 + x1) - 1.0, (y0 + y1) - 1.0
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0] = w * bw * sign
    theta[:, 0, 2] = bcx + cx * bw
    theta[:, 1, 1] = h * bh
    theta[:, 1, 2] = bcy + cy * bh
    grid = F.affine_grid(theta, [n, 3, size, size], align_corners=False)
    xf = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    return F.grid_sample(xf, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def photo_edge(
    x: torch.Tensor, p: float, max_cut: float = 0.25, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(N, C, H, W) -> the same faces as if each photo had ended close to the face, with probability ``p``.

    Why: real photos are often close-ups (selfies, cropped portraits); aligning one to UTKFace's
    geometry reaches beyond the photo, and ``faces.align.warp`` fills that part by repeating the
    photo's edge pixels (BORDER_REPLICATE): smeared stripes where UTKFace's crops show hair, neck or
    background. Each chosen image loses each of its four sides independently with probability 1/2,
    by a uniform fraction up to ``max_cut``, and the lost part repeats the new edge, as the warp does.
    Off in every profile: tried for the face network's mask-robust attacker (``edge: 0.5``), it read
    realmask-dev's real masks worse (docs/RESULTS.md, "Real masked photos"); kept as a setting to try elsewhere.
    """
    return replicate_beyond(x, edge_cuts(x.shape[0], x.shape[2], x.shape[3], p, max_cut, x.device, generator))


def edge_cuts(
    n: int,
    h: int,
    w: int,
    p: float,
    max_cut: float,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random pixel cuts (N, 4) as top, bottom, left, right for :func:`photo_edge`."""
    u = torch.rand(n, 9, device=device, generator=generator)
    chosen = (u[:, 1:5] < 0.5) & (u[:, :1] < p)
    frac = torch.where(chosen, u[:, 5:9] * max_cut, torch.zeros_like(u[:, 5:9]))
    side = torch.tensor([h, h, w, w], device=device, dtype=frac.dtype)
    return (frac * side).long()


def replicate_beyond(x: torch.Tensor, cuts: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W), cuts (N, 4) top/bottom/left/right in pixels -> each cut band repeats the edge next to it."""
    n, _, h, w = x.shape
    dev = x.device
    top, bottom, left, right = cuts.to(dev).unbind(1)
    rows = torch.arange(h, device=dev)[None, :].maximum(top[:, None]).minimum((h - 1 - bottom)[:, None])
    cols = torch.arange(w, device=dev)[None, :].maximum(left[:, None]).minimum((w - 1 - right)[:, None])
    idx = torch.arange(n, device=dev)[:, None, None]
    return x.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def _gray(x: torch.Tensor) -> torch.Tensor:
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def _rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x.unbind(1)
    mx, _ = x.max(1)
    mn, _ = x.min(1)
    d = mx - mn
    s = torch.where(mx > 0, d / mx.clamp(min=1e-8), torch.zeros_like(mx))
    dd = d.clamp(min=1e-8)
    h = torch.where(mx == r, ((g - b) / dd) % 6, torch.where(mx == g, (b - r) / dd + 2, (r - g) / dd + 4))
    h = torch.where(d > 0, h / 6.0, torch.zeros_like(h))
    return torch.stack([h, s, mx], 1)


def _hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    h, s, v = x.unbind(1)
    i = torch.floor(h * 6) % 6
    f = h * 6 - torch.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    sel = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = torch.zeros_like(x)
    for k, (rr, gg, bb) in enumerate(sel):
        m = (i == k).unsqueeze(1)
        out = torch.where(m, torch.stack([rr, gg, bb], 1), out)
    return out


def color_jitter(
    x: torch.Tensor,
    p: float,
    brightness: float,
    contrast: float,
    saturation: float,
    hue: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Per-image random brightness, contrast, saturation (and hue if > 0) on float [0, 1] images."""
    n, dev = x.shape[0], x.device
    u = torch.rand(n, 5, device=dev, generator=generator)
    on = (u[:, 0] < p).float().view(n, 1, 1, 1)
    fb = 1 + brightness * (2 * u[:, 1] - 1)
    fc = 1 + contrast * (2 * u[:, 2] - 1)
    fs = 1 + saturation * (2 * u[:, 3] - 1)
    y = x * fb.view(n, 1, 1, 1)
    mean = _gray(y).mean(dim=(1, 2, 3), keepdim=True)
    y = (y - mean) * fc.view(n, 1, 1, 1) + mean
    g = _gray(y)
    y = ((y - g) * fs.view(n, 1, 1, 1) + g).clamp(0, 1)
    if hue > 0:
        hsv = _rgb_to_hsv(y)
        shift = hue * (2 * u[:, 4] - 1)
        hsv = torch.cat([(hsv[:, :1] + shift.view(n, 1, 1, 1)) % 1.0, hsv[:, 1:]], 1)
        y = _hsv_to_rgb(hsv)
    return on * y + (1 - on) * x


def random_grayscale(x: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    on = (torch.rand(x.shape[0], device=x.device, generator=generator) < p).float().view(-1, 1, 1, 1)
    return on * _gray(x).expand_as(x) + (1 - on) * x


def augment(
    x: torch.Tensor,
    size: int,
    crop: Sequence[float],
    cfg: AugmentConfig,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> one random, normalised, channels-last view (N, 3, size, size)."""
    if cfg.edge > 0:
        x = photo_edge(x, cfg.edge, cfg.edge_cut, generator)
    y = random_resized_crop(x, size, crop, cfg.scale, cfg.ratio, cfg.flip, generator)
    if cfg.jitter > 0:
        y = color_jitter(y, cfg.jitter, cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue, generator)
    if cfg.grayscale > 0:
        y = random_grayscale(y, cfg.grayscale, generator)
    return normalize(y, mean, std).contiguous(memory_format=torch.channels_last)
