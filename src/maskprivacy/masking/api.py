"""``mask_face``: the one-call Python API for masking a single image."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from maskprivacy.data.imageio import decode_image, to_rgb
from maskprivacy.faces.landmarks import MIN_SIDE, get_landmarker
from maskprivacy.masking.colors import RGB, parse_color
from maskprivacy.masking.draw import check_style, draw_mask


class NoFaceError(ValueError):
    """No face was found where one was expected."""


ImageLike = "str | os.PathLike | bytes | np.ndarray | Image.Image"


def load_rgb(image: str | os.PathLike | bytes | np.ndarray | Image.Image) -> np.ndarray:
    """Accept a path, encoded bytes, a PIL image or an array (RGB, RGBA or gray); return RGB uint8."""
    if isinstance(image, (str, os.PathLike)):
        return decode_image(Path(image).read_bytes())
    if isinstance(image, (bytes, bytearray)):
        return decode_image(bytes(image))
    if isinstance(image, Image.Image):
        return to_rgb(image)
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"array images must be uint8, got {arr.dtype}")
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim == 3 and arr.shape[2] == 4:
        return arr[:, :, :3].copy()
    if arr.ndim == 3 and arr.shape[2] == 3:
        return arr
    raise ValueError(f"expected an HxW, HxWx3 or HxWx4 array, got shape {arr.shape}")


def mask_face(
    image: str | os.PathLike | bytes | np.ndarray | Image.Image,
    style: str = "a",
    color: str | RGB = "white",
    seed: int = 0,
    detector: str = "fast",
) -> tuple[np.ndarray, np.ndarray]:
    """Mask the largest face of ``image``.

    Returns ``(masked_rgb, points)`` where ``points`` is the (68, 2) int32 array of dlib key points.
    Raises :class:`NoFaceError` when no face is found.

    >>> masked, points = mask_face("face.jpg", style="a", color="white")  # doctest: +SKIP
    """
    check_style(style)  # bad options fail before any work, face or no face
    if isinstance(color, str):
        parse_color(color)
    rgb = load_rgb(image)
    faces = get_landmarker(detector).faces(rgb)
    if not faces:
        h, w = rgb.shape[:2]
        why = " (too small or too thin for a face)" if min(h, w) < MIN_SIDE else " (dlib HOG detector)"
        raise NoFaceError(f"no face found in the {w}x{h} image{why}")
    points = faces[0].points
    return draw_mask(rgb, points, style=style, color=color, seed=seed), points
