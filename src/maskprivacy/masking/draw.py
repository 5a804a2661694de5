"""One entry point for every mask style: the paper's flat shapes and the realistic ones."""

from __future__ import annotations

import numpy as np

from maskprivacy.masking.colors import RGB, image_rng, parse_color, resolve_color
from maskprivacy.masking.shapes import FLAT_SHAPES, draw_flat
from maskprivacy.masking.styles import REALISTIC_STYLES, draw_realistic  # every style of styles/*.yaml

STYLES: tuple[str, ...] = FLAT_SHAPES + REALISTIC_STYLES


def check_style(style: str) -> str:
    if style not in STYLES:
        raise ValueError(f"mask style {style!r}: choose from {', '.join(STYLES)}")
    return style


def draw_mask(
    rgb: np.ndarray, points: np.ndarray, style: str = "a", color: str | RGB = "white", seed: int = 0, key: str = ""
) -> np.ndarray:
    """Return a copy of ``rgb`` wearing a ``style`` mask placed by the 68 ``points``.

    Random colours and prints are drawn from a generator seeded by (``seed``, ``key``); batches pass
    the file name as ``key`` so that a face's mask does not depend on processing order. The generator
    is only built when something is random (building it is not free at hundreds of images a second).

    The paper's mask "a" on a blank crop, placed by UTKFace's mean key points: white below the nose,
    the forehead untouched.

    >>> from maskprivacy.faces.template_data import POINTS68, SIZE
    >>> masked = draw_mask(np.zeros((SIZE, SIZE, 3), np.uint8), np.array(POINTS68), "a", "white")
    >>> white = (masked == 255).all(axis=2)
    >>> masked.shape, bool(white[150, 100]), bool(white[:50].any())
    ((200, 200, 3), True, False)
    """
    check_style(style)
    needs_rng = style in REALISTIC_STYLES or (isinstance(color, str) and parse_color(color) is None)
    rng = image_rng(seed, key) if needs_rng else None
    rgb_color = resolve_color(color, rng)
    if style in FLAT_SHAPES:
        return draw_flat(rgb, points, style, rgb_color)
    assert rng is not None
    return draw_realistic(rgb, points, style, rgb_color, rng)


__all__ = ["STYLES", "draw_mask", "check_style"]
