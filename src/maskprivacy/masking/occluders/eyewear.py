"""Glasses drawn from the key points: sunglasses (dark or mirrored lenses) and clear glasses.

Each lens is centred on its eye (the mean of the eye's six key points), shaped in face units (see
frame.py) with the outer side toward the temple, so a left and a right lens are mirror images. A
bridge joins the lenses over the nose and the temples run back toward the ears (key points 0 and 16).
Dark lenses let a little of the eye through (alpha about 0.9); mirrored ones reflect the sky (a
vertical gradient with a highlight) and hide the eye entirely; clear lenses only tint it (they hide
nothing but their rims).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from maskprivacy.masking.occluders.frame import FaceFrame, ellipse_outline, polygon_mask
from maskprivacy.masking.occluders.layer import Layer, lines, named, pick_color

# Lens outlines around the eye centre, face units, for the image-right eye (+a toward its temple).
LENSES: dict[str, np.ndarray] = {
    "round": ellipse_outline((0.03, 0.0), (0.34, 0.31), 40),
    "wayfarer": np.array(
        [
            [-0.29, -0.2],
            [0.1, -0.24],
            [0.42, -0.26],
            [0.41, -0.08],
            [0.33, 0.15],
            [0.18, 0.25],
            [-0.12, 0.25],
            [-0.26, 0.13],
        ]
    ),
    "rectangle": np.array([[-0.28, -0.17], [0.4, -0.19], [0.39, 0.15], [-0.27, 0.16]]),
}


def _lens(shape: str) -> np.ndarray:
    if shape not in LENSES:
        raise ValueError(f"lens shape {shape!r}: choose from {', '.join(LENSES)}")
    return LENSES[shape]


def _lenses(frame: FaceFrame, shape: str) -> tuple[np.ndarray, np.ndarray]:
    """The two lens outlines in face coordinates (image-left first)."""
    lens = _lens(shape)
    left, right = frame.to_face(np.stack([frame.left_eye, frame.right_eye]))
    return left + lens * np.array([-1.0, 1.0]), right + lens


def _frame_parts(frame: FaceFrame, left: np.ndarray, right: np.ndarray) -> list[np.ndarray]:
    """Bridge and temples as polylines in face coordinates."""
    top = min(left[:, 1].min(), right[:, 1].min())
    inner_l, inner_r = left[:, 0].max(), right[:, 0].min()
    bridge = np.array([[inner_l - 0.02, top + 0.1], [(inner_l + inner_r) / 2, top + 0.06], [inner_r + 0.02, top + 0.1]])
    ears = frame.to_face(frame.points[[0, 16]])
    outer_l, outer_r = left[:, 0].min(), right[:, 0].max()
    temple_l = np.array([[outer_l + 0.02, top + 0.08], [min(outer_l, ears[0, 0]) - 0.05, ears[0, 1] - 0.1]])
    temple_r = np.array([[outer_r - 0.02, top + 0.08], [max(outer_r, ears[1, 0]) + 0.05, ears[1, 1] - 0.1]])
    return [bridge, temple_l, temple_r]


def glasses(layer: Layer, frame: FaceFrame, params: Mapping[str, Any], rng: np.random.Generator) -> None:
    """Paint glasses: ``lens`` (round, wayfarer, rectangle), ``tint`` (dark, mirrored, clear), ``rim``
    (width, face units) and ``colors`` (the frame's palette)."""
    tint = str(params.get("tint", "dark"))
    if tint not in ("dark", "mirrored", "clear"):
        raise ValueError(f"lens tint {tint!r}: choose from dark, mirrored, clear")
    left, right = _lenses(frame, str(params.get("lens", "round")))
    rim_color = pick_color(params.get("colors") or ["black"], rng)
    cover = np.maximum(polygon_mask(frame, left), polygon_mask(frame, right))
    a, b = frame.grid()
    top = float(min(left[:, 1].min(), right[:, 1].min()))
    t = np.clip((b - top) / 0.55, 0.0, 1.0)[:, :, None]  # 0 at the lenses' top edge, 1 at their bottom
    if tint == "dark":
        dark = np.array(named("black"), np.float32) * np.float32(rng.uniform(0.6, 1.2))
        layer.blend(cover * np.float32(rng.uniform(0.9, 0.96)), dark + 25 * t)
    elif tint == "mirrored":
        sky = pick_color(params.get("mirror") or ["light-blue"], rng)
        shade = sky * (1.05 - 0.6 * t)
        glare = np.clip(1 - np.abs((a + b - top * 0.5) % 1.1 - 0.3) / 0.06, 0, 1)[:, :, None]
        layer.blend(cover, np.minimum(255, shade + 90 * glare))
    else:
        layer.blend(cover * np.float32(0.08), np.array([235.0, 240.0, 245.0]), hides=False)
    rim = float(params.get("rim", 0.05))
    parts = [lines(frame, left, rim, closed=True), lines(frame, right, rim, closed=True)]
    parts += [lines(frame, p, rim * 0.8) for p in _frame_parts(frame, left, right)]
    layer.blend(np.maximum.reduce(parts), rim_color)


__all__ = ["LENSES", "glasses"]
