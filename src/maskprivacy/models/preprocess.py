"""The one image preprocessing shared by training, evaluation and inference.

Training reads the decoded cache, inference reads whatever crop ``analysis/`` aligned; both must see
exactly the same pixels statistics, so both call :func:`to_model_input`. Everything is a batched
tensor operation (no PIL, no per-image Python), so it runs on the GPU as well as the CPU.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FULL_CROP = (0.0, 0.0, 1.0, 1.0)


def check_crop(crop: Sequence[float]) -> tuple[float, float, float, float]:
    """A crop box (x0, y0, x1, y1) as fractions of the aligned face image."""
    c = tuple(float(v) for v in crop)
    if len(c) != 4 or not (0 <= c[0] < c[2] <= 1 and 0 <= c[1] < c[3] <= 1):
        raise ValueError(f"crop must be x0,y0,x1,y1 fractions with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, got {crop}")
    return c  # type: ignore[return-value]


def nhwc_uint8_to_nchw(x: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) uint8 view (no copy)."""
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected (N, H, W, 3) RGB images, got shape {tuple(x.shape)}")
    return x.permute(0, 3, 1, 2)


def crop_pixels(h: int, w: int, crop: Sequence[float]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = crop
    return (
        int(round(y0 * h)),
        max(int(round(y1 * h)), int(round(y0 * h)) + 1),
        int(round(x0 * w)),
        max(int(round(x1 * w)), int(round(x0 * w)) + 1),
    )


def normalize(
    x: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
) -> torch.Tensor:
    m = torch.tensor(mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - m) / s


def to_model_input(
    x: torch.Tensor,
    size: int,
    crop: Sequence[float] = FULL_CROP,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> torch.Tensor:
    """uint8 (N, 3, H, W) in UTKFace geometry -> normalised float (N, 3, size, size), channels-last.

    Crops the ``crop`` box, resizes with antialiasing (so a 200-px input and a 64-px cache entry give
    nearly the same result), scales to [0, 1] and normalises.
    """
    h, w = x.shape[-2:]
    r0, r1, c0, c1 = crop_pixels(h, w, check_crop(crop))
    x = x[:, :, r0:r1, c0:c1].float().div_(255.0)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(
            x,
            size=(size, size),
            mode="bilinear",
            align_corners=False,
            antialias=bool(x.shape[-1] > size or x.shape[-2] > size),
        )
    return normalize(x, mean, std).contiguous(memory_format=torch.channels_last)
