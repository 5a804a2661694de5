"""Mask styles: the table (one YAML file per style, table.py) and how a style is drawn (render.py).

``REALISTIC_STYLES`` and ``draw_realistic`` keep the names the rest of the package has always used.
"""

from __future__ import annotations

from maskprivacy.masking.styles.render import Look, draw_realistic, render
from maskprivacy.masking.styles.table import StyleError, StyleSpec, get_style, load_styles, style_names

FLAT_STYLES: tuple[str, ...] = style_names("flat")
REALISTIC_STYLES: tuple[str, ...] = style_names("realistic")

__all__ = [
    "FLAT_STYLES",
    "REALISTIC_STYLES",
    "Look",
    "StyleError",
    "StyleSpec",
    "draw_realistic",
    "get_style",
    "load_styles",
    "render",
    "style_names",
]
