"""Mask colours: fixed (``255,255,255`` or ``#1f77b4``), named (``white``), or ``random``.

``random`` is seeded per image from (seed, file name), so the colour of a face never depends on
the order in which workers happen to process files: the same seed gives byte-identical output.
"""

from __future__ import annotations

import hashlib

import numpy as np

RGB = tuple[int, int, int]

NAMED_COLORS: dict[str, RGB] = {
    "white": (255, 255, 255),
    "black": (20, 20, 20),
    "surgical-blue": (140, 190, 220),
    "blue": (40, 90, 170),
    "light-blue": (170, 205, 230),
    "green": (120, 170, 140),
    "pink": (235, 170, 190),
    "grey": (150, 150, 150),
    "navy": (30, 40, 80),
    "red": (180, 40, 50),
}


# More colours the mask distribution (random_masks.py) and the style files may name; kept apart from
# NAMED_COLORS so that ``--color random`` draws from the same palette (the same output) as before.
EXTRA_COLORS: dict[str, RGB] = {
    "beige": (215, 195, 160),
    "khaki": (170, 160, 110),
    "olive": (100, 110, 60),
    "purple": (110, 70, 140),
    "yellow": (230, 200, 70),
    "orange": (220, 120, 50),
    "teal": (40, 130, 130),
    "skin-light": (236, 200, 170),
    "skin-medium": (200, 150, 110),
    "skin-tan": (165, 115, 75),
    "skin-dark": (110, 75, 50),
}


def image_rng(seed: int, name: str) -> np.random.Generator:
    """A random generator that depends only on ``seed`` and the image's name."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def parse_color(spec: str) -> RGB | None:
    """Parse a colour spec; returns None for ``random`` (drawn per image). Raises ValueError."""
    s = spec.strip().lower()
    if s == "random":
        return None
    if s in NAMED_COLORS:
        return NAMED_COLORS[s]
    if s in EXTRA_COLORS:
        return EXTRA_COLORS[s]
    if s.startswith("#") and len(s) == 7:
        try:
            return (int(s[1:3], 16), int(s[3:5], 16), int(s[5:7], 16))
        except ValueError:
            pass
    parts = s.split(",")
    if len(parts) == 3 and all(p.strip().isdigit() for p in parts):
        rgb = tuple(int(p) for p in parts)
        if all(0 <= v <= 255 for v in rgb):
            return rgb  # type: ignore[return-value]
    raise ValueError(
        f"colour {spec!r}: use a name ({', '.join([*NAMED_COLORS, *EXTRA_COLORS])}), 'R,G,B' with 0-255 values, '#RRGGBB' or 'random'"
    )


def resolve_color(spec: str | RGB, rng: np.random.Generator | None) -> RGB:
    """The colour to paint: ``spec`` itself, or a seeded draw from the named palette for 'random'."""
    if not isinstance(spec, str):
        return tuple(int(v) for v in spec)  # type: ignore[return-value]
    fixed = parse_color(spec)
    if fixed is not None:
        return fixed
    if rng is None:
        raise ValueError("a random colour needs a random generator")
    names = sorted(NAMED_COLORS)
    return NAMED_COLORS[names[int(rng.integers(len(names)))]]
