"""The canvas an occluder paints on: a float copy of the image and the pixels it hides.

Every occluder is a few layers blended over the face (a lens, a rim, a brim's shadow); one class
keeps the blending and the "hidden" bookkeeping in one place, so that what counts as hidden means
the same for sunglasses and for a hood: a pixel whose layer covers it at least half (alpha >= 0.5),
or that an image-level edit replaced. A clear lens or a faint shadow changes pixels without hiding
them, and the fraction of the face hidden should not count them.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from maskprivacy.masking.colors import EXTRA_COLORS, NAMED_COLORS, RGB
from maskprivacy.masking.occluders.frame import FAR, FaceFrame

HIDES_AT = 0.5


class Layer:
    """A float32 working copy of an (H, W, 3) uint8 image and the boolean (H, W) mask it has hidden."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.image = np.asarray(rgb, dtype=np.float32).copy()
        self.hidden = np.zeros(self.image.shape[:2], dtype=bool)

    def blend(self, alpha: np.ndarray, color: np.ndarray | Sequence[float], hides: bool = True) -> None:
        """Blend ``color`` ((3,) or (H, W, 3)) over the image with coverage ``alpha`` ((H, W) in [0, 1])."""
        a = np.clip(alpha, 0.0, 1.0).astype(np.float32)
        c = np.asarray(color, dtype=np.float32)
        self.image += (c - self.image) * a[:, :, None]
        if hides:
            self.hidden |= a >= HIDES_AT

    def replace(self, rgb: np.ndarray, where: np.ndarray) -> None:
        """Take ``rgb``'s pixels where the boolean ``where`` is True (an image-level edit): all hidden."""
        self.image[where] = np.asarray(rgb, dtype=np.float32)[where]
        self.hidden |= where

    def uint8(self) -> np.ndarray:
        return np.clip(np.rint(self.image), 0, 255).astype(np.uint8)


def lines(frame: FaceFrame, ab: np.ndarray, width: float, closed: bool = False) -> np.ndarray:
    """Float32 (H, W) coverage of a polyline through face coordinates ``ab``, ``width`` face units wide
    (at least one pixel), anti-aliased."""
    h, w = frame.size
    out = np.zeros((h, w), np.uint8)
    lim = FAR * max(h, w, 1)
    q = np.round(np.clip(frame.to_image(ab), -lim, lim) * 16).astype(np.int32)
    px = max(1, int(round(width * frame.unit)))
    cv2.polylines(out, [q], closed, 255, px, lineType=cv2.LINE_AA, shift=4)
    return out.astype(np.float32) * np.float32(1 / 255)


def named(name: str) -> RGB:
    """A colour of the shared palette (``masking.colors``) by name; a clear error for a typo."""
    rgb = NAMED_COLORS.get(name) or EXTRA_COLORS.get(name)
    if rgb is None:
        raise ValueError(f"occluder colour {name!r}: choose from {', '.join([*NAMED_COLORS, *EXTRA_COLORS])}")
    return rgb


def pick_color(names: Sequence[str], rng: np.random.Generator, shift: float = 12.0) -> np.ndarray:
    """One colour of ``names`` (uniformly), moved a little per channel: (3,) float32."""
    base = np.array(named(names[int(rng.integers(len(names)))]), np.float32)
    return np.clip(base + rng.uniform(-shift, shift, 3).astype(np.float32), 0, 255)


__all__ = ["HIDES_AT", "Layer", "lines", "named", "pick_color"]
