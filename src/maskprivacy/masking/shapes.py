"""The paper's six flat mask shapes, drawn from dlib's 68 key points (0-based indices).

Their geometry lives in the style table (``styles/a.yaml`` ... ``styles/f.yaml``) and is that of the
paper's public code (see ../shared/PAPER_NOTES.md): "a" (the paper's choice) is the jaw 1..15 closed over the
nose bridge; "c" and "e" close the jaw at the nose tip or along the nostrils; "b", "d", "f" are
ellipses under the nose whose top sits at mid 27-28, at 29, or a third of the inter-ocular distance
below 29, 0.8 x (x13 - x3) wide, reaching down to the chin (point 8). Polygons are drawn from the
integer key points with 8-connected lines, ellipses with OpenCV's float centre: byte for byte what
the paper's code draws.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskprivacy.masking.styles.table import ellipse_params, get_style, outline_points, style_names

FLAT_SHAPES: tuple[str, ...] = style_names("flat")


def _flat(shape: str):
    spec = get_style(shape)
    if spec.family != "flat":
        raise ValueError(f"{shape!r} is not one of the paper's flat shapes ({', '.join(FLAT_SHAPES)})")
    return spec


def polygon(points: np.ndarray, shape: str) -> np.ndarray:
    """Outline (N, 2) int32 of polygon shapes a, c, e."""
    spec = _flat(shape)
    if spec.kind != "polygon":
        raise ValueError(f"{shape!r} is not a polygon shape")
    return np.round(outline_points(spec, np.asarray(points).astype(np.int32))).astype(np.int32)


def ellipse(points: np.ndarray, shape: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """Centre and full axes (width, height) of ellipse shapes b, d, f."""
    spec = _flat(shape)
    if spec.kind != "ellipse":
        raise ValueError(f"{shape!r} is not an ellipse shape")
    return ellipse_params(spec, np.asarray(points).astype(np.int32))


def region(points: np.ndarray, shape: str, size: tuple[int, int]) -> np.ndarray:
    """Binary uint8 mask (H, W) of where ``shape`` covers the face, for an image of ``size`` (H, W)."""
    m = np.zeros(size, dtype=np.uint8)
    return draw_flat(m[:, :, None].repeat(3, axis=2), points, shape, (255, 255, 255))[:, :, 0]


def draw_flat(rgb: np.ndarray, points: np.ndarray, shape: str, color: tuple[int, int, int]) -> np.ndarray:
    """Paint ``shape`` in a flat ``color`` on a copy of ``rgb`` (the paper's digital mask)."""
    out = np.ascontiguousarray(rgb).copy()
    if _flat(shape).kind == "polygon":
        cv2.fillPoly(out, [polygon(points, shape)], color, lineType=cv2.LINE_8)
    else:
        center, axes = ellipse(points, shape)
        cv2.ellipse(out, (center, axes, 0.0), color, thickness=-1, lineType=cv2.LINE_8)
    return out
