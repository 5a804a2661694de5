"""The paper's six flat mask shapes, drawn from dlib's 68 key points (0-based indices).

Geometry as in the paper's public code (see PAPER_NOTES.md): "a" (the paper's choice) is the jaw
1..15 closed over the nose bridge; "c" and "e" close the jaw at the nose tip or along the nostrils;
"b", "d", "f" are ellipses under the nose whose top sits at mid 27-28, at 29, or a third of the
inter-ocular distance below 29, 0.8 x (x13 - x3) wide, reaching down to the chin (point 8).
"""
from __future__ import annotations

import cv2
import numpy as np

FLAT_SHAPES = ("a", "b", "c", "d", "e", "f")

JAW = list(range(1, 16))


def polygon(points: np.ndarray, shape: str) -> np.ndarray:
    """Outline (N, 2) int32 of polygon shapes a, c, e."""
    p = points.astype(np.int32)
    jaw = [p[i] for i in JAW]
    if shape == "a":
        extra = [(p[42][0], p[15][1]), p[27], (p[39][0], p[1][1])]
    elif shape == "c":
        extra = [p[29]]
    elif shape == "e":
        extra = [p[35], p[34], p[33], p[32], p[31]]
    else:
        raise ValueError(f"{shape!r} is not a polygon shape (a, c, e)")
    return np.array([tuple(q) for q in jaw] + [tuple(q) for q in extra], dtype=np.int32)


def ellipse(points: np.ndarray, shape: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """Centre and full axes (width, height) of ellipse shapes b, d, f."""
    p = points.astype(np.float64)
    if shape == "b":
        top = p[27][1] + (p[28][1] - p[27][1]) / 2
    elif shape == "d":
        top = p[29][1]
    elif shape == "f":
        top = p[29][1] + 0.33 * (p[46][0] - p[40][0])
    else:
        raise ValueError(f"{shape!r} is not an ellipse shape (b, d, f)")
    center = (p[28][0], top + (p[8][1] - top) / 2)
    # Clamped at 1 px: implausible key points (a profile, a bad fit) must not crash the batch.
    axes = (float(max(1, int((p[13][0] - p[3][0]) * 0.8))), float(max(1, int(p[8][1] - top))))
    return center, axes


def region(points: np.ndarray, shape: str, size: tuple[int, int]) -> np.ndarray:
    """Binary uint8 mask (H, W) of where ``shape`` covers the face, for an image of ``size`` (H, W)."""
    m = np.zeros(size, dtype=np.uint8)
    if shape in ("a", "c", "e"):
        cv2.fillPoly(m, [polygon(points, shape)], 255, lineType=cv2.LINE_8)
    else:
        center, axes = ellipse(points, shape)
        cv2.ellipse(m, (center, axes, 0.0), 255, thickness=-1, lineType=cv2.LINE_8)
    return m


def draw_flat(rgb: np.ndarray, points: np.ndarray, shape: str, color: tuple[int, int, int]) -> np.ndarray:
    """Paint ``shape`` in a flat ``color`` on a copy of ``rgb`` (the paper's digital mask)."""
    out = np.ascontiguousarray(rgb).copy()
    if shape in ("a", "c", "e"):
        cv2.fillPoly(out, [polygon(points, shape)], color, lineType=cv2.LINE_8)
    else:
        center, axes = ellipse(points, shape)
        cv2.ellipse(out, (center, axes, 0.0), color, thickness=-1, lineType=cv2.LINE_8)
    return out
