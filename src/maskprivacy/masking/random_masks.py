"""A distribution of masks: every style of the table, many colours, prints, lighting, placement.

The paper's attacker only ever saw one flat white mask (type "a") and fails on real masks. A real
adversary trains on realistic variety, so the mask-robust attacker (training/pipeline.py, condition
``robust``) draws a fresh mask from this distribution for every face in every batch, on the cached
72-px unmasked face, from its 68 key points scaled to that size. That is why the drawing is written
to be cheap at small sizes (``scripts/bench_robust.py`` measures it; figures in docs/RESULTS.md)
and why every choice comes from the one generator passed in: the same seed gives
the same masks.

What varies (:class:`MaskDistribution`, recorded in the robust attacker's model.pt ``info``):

* the style (a-f, surgical, cloth, n95, kn95, tie, bandana, valve: ``styles/*.yaml``), uniformly
  unless weighted; with probability ``paper_prob`` the paper's exact mask ("a", white, flat), so
  the attacker keeps its accuracy on the mask the paper measured;
* the colour: from the style's own palette or a wide one (white, blues, black, greys, skin tones,
  bright colours), then shifted a little per channel;
* the paper's flat shapes drawn flat or as fabric (``flat_texture_prob``);
* a print (dots, stripes, checks, camouflage) with grain, on any fabric (``print_prob``);
* lighting: overall gain and a side light; shading strength;
* placement: the top edge higher or lower on the nose, the bottom edge further under the chin, a
  slight tilt, a wider or narrower mask (all relative to the face width);
* ear loops / head straps / ties, or none (``straps_prob``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import cv2
import numpy as np

from maskprivacy.masking.colors import EXTRA_COLORS, NAMED_COLORS, RGB, image_rng
from maskprivacy.masking.settings import known_settings, settings_dict
from maskprivacy.masking.styles.render import PRINTS, STRAPS, Look, _transform, base_outline, render, sane_points
from maskprivacy.masking.styles.table import face_width, get_style, style_names

WIDE_PALETTE: tuple[str, ...] = (
    "white",
    "white",
    "surgical-blue",
    "light-blue",
    "blue",
    "black",
    "black",
    "grey",
    "navy",
    "pink",
    "green",
    "red",
    "beige",
    "khaki",
    "olive",
    "purple",
    "yellow",
    "orange",
    "teal",
    "skin-light",
    "skin-medium",
    "skin-tan",
    "skin-dark",
)


def _rgb(name: str) -> RGB:
    return NAMED_COLORS.get(name) or EXTRA_COLORS[name]


@dataclass(frozen=True)
class MaskDistribution:
    """The parameters of the mask distribution (ranges are uniform draws)."""

    styles: tuple[str, ...] = field(default_factory=lambda: style_names())
    weights: tuple[float, ...] | None = None  # per style (None: uniform)
    paper_prob: float = 0.25  # the paper's exact type "a", white, flat
    flat_texture_prob: float = 0.5  # flat shapes a-f drawn as shaded fabric instead of one colour
    own_palette_prob: float = 0.6  # colour from the style's palette (else the wide one)
    color_shift: int = 18  # +- per channel
    print_prob: float = 0.3  # a print on a fabric mask (cloth and bandana always print)
    straps_prob: float = 0.85  # the style's straps (else none)
    top: tuple[float, float] = (-0.04, 0.06)  # top edge moved down, face widths
    chin: tuple[float, float] = (-0.03, 0.06)  # bottom edge moved down, face widths
    angle: tuple[float, float] = (-7.0, 7.0)  # tilt, degrees
    width: tuple[float, float] = (0.93, 1.07)  # horizontal scale
    gain: tuple[float, float] = (0.7, 1.12)  # brightness of the mask
    light: tuple[float, float] = (-0.25, 0.25)  # side light
    shading: tuple[float, float] = (0.1, 0.32)  # shading strength

    def __post_init__(self) -> None:
        for s in self.styles:
            get_style(s)  # raises a clear error for an unknown style
        if not self.styles:
            raise ValueError("a mask distribution needs at least one style")
        if self.weights is not None and (
            len(self.weights) != len(self.styles) or min(self.weights) < 0 or sum(self.weights) <= 0
        ):
            raise ValueError("weights: one number >= 0 per style, not all 0")
        for k in ("paper_prob", "flat_texture_prob", "own_palette_prob", "print_prob", "straps_prob"):
            if not 0.0 <= float(getattr(self, k)) <= 1.0:
                raise ValueError(f"{k} must be in [0, 1]")

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "MaskDistribution":
        d = known_settings(cls, d, "mask distribution")
        if d.get("styles") in (None, "all"):
            d.pop("styles", None)
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return settings_dict(self)

    def only(self, style: str) -> "MaskDistribution":
        """The same distribution restricted to one style (and no extra paper masks)."""
        return MaskDistribution(**{**asdict(self), "styles": (style,), "weights": None, "paper_prob": 0.0})


DEFAULT = MaskDistribution()


@dataclass(frozen=True)
class Draw:
    """What was drawn for one face (for logs, tests and the per-style table)."""

    style: str
    color: RGB
    look: Look | None  # None: the flat paper drawing


def sample(rng: np.random.Generator, dist: MaskDistribution = DEFAULT) -> Draw:
    """Draw a style, a colour and a look (no image needed). One call to the generator: cheap."""
    u = rng.random(20).tolist()
    if u[0] < dist.paper_prob:
        return Draw("a", (255, 255, 255), None)
    if dist.weights is None:
        style = dist.styles[min(len(dist.styles) - 1, int(u[1] * len(dist.styles)))]
    else:
        cum = np.cumsum(np.asarray(dist.weights, dtype=float))
        style = dist.styles[min(len(cum) - 1, int(np.searchsorted(cum, u[1] * cum[-1], side="right")))]
    spec = get_style(style)
    pal = spec.colors if (spec.colors and u[2] < dist.own_palette_prob) else WIDE_PALETTE
    base = _rgb(pal[min(len(pal) - 1, int(u[3] * len(pal)))])
    sh = dist.color_shift
    color = tuple(int(min(255, max(0, c + round((2 * v - 1) * sh)))) for c, v in zip(base, u[4:7]))
    lo = lambda r, v: float(r[0] + (r[1] - r[0]) * v)  # noqa: E731
    top, chin, angle, width = lo(dist.top, u[7]), lo(dist.chin, u[8]), lo(dist.angle, u[9]), lo(dist.width, u[10])
    if spec.family == "flat" and u[11] >= dist.flat_texture_prob:
        return Draw(style, color, Look(texture=False, top=top, chin=chin, angle=angle, width=width))  # type: ignore[arg-type]
    printed = bool(spec.render.get("print")) or u[12] < dist.print_prob
    print_kind = PRINTS[min(len(PRINTS) - 1, int(u[13] * len(PRINTS)))] if printed else "none"
    straps = None if u[14] < dist.straps_prob else "none"
    if spec.family == "flat" and straps is None:
        straps = STRAPS[min(2, int(u[15] * 3))]  # fabric versions of the paper's shapes get some straps
    return Draw(
        style,
        color,
        Look(
            print_kind=print_kind,
            grain=lo((2.0, 8.0), u[16]),  # type: ignore[arg-type]
            shading=lo(dist.shading, u[17]),
            gain=lo(dist.gain, u[18]),
            light=lo(dist.light, u[19]),
            straps=straps,
            top=top,
            chin=chin,
            angle=angle,
            width=width,
        ),
    )


def _fill(rgb: np.ndarray, outline: np.ndarray, color: RGB) -> np.ndarray:
    """One flat colour with anti-aliased sub-pixel edges: at 72 px a hard 1-px edge would be a cue the
    masked cache (drawn at 200 px, then shrunk) does not have."""
    out = np.ascontiguousarray(rgb).copy()
    h, w = out.shape[:2]
    q = np.clip(np.nan_to_num(outline), -4 * max(h, w), 5 * max(h, w))
    cv2.fillPoly(out, [np.round(q * 16).astype(np.int32)], color, lineType=cv2.LINE_AA, shift=4)
    return out


def _transformed_outline(style: str, points: np.ndarray, look: Look) -> np.ndarray:
    base = base_outline(get_style(style), points)
    return _transform(look, base, face_width(np.asarray(points, dtype=np.float64)))(base)


def draw(rgb: np.ndarray, points: np.ndarray, d: Draw, rng: np.random.Generator) -> np.ndarray:
    """Paint a sampled mask ``d`` on a copy of ``rgb``, placed by float (68, 2) ``points``."""
    p = sane_points(points, *rgb.shape[:2])
    if d.look is None:
        return _fill(rgb, base_outline(get_style("a"), p), d.color)
    if not d.look.texture:
        return _fill(rgb, _transformed_outline(d.style, p, d.look), d.color)
    return render(rgb, p, get_style(d.style), d.color, rng, d.look)


def draw_random_mask(
    rgb: np.ndarray, points: np.ndarray, rng: np.random.Generator, dist: MaskDistribution = DEFAULT
) -> tuple[np.ndarray, Draw]:
    """A copy of ``rgb`` wearing a mask drawn from ``dist``; and what was drawn."""
    d = sample(rng, dist)
    return draw(rgb, points, d, rng), d


def mask_batch(
    images: np.ndarray,
    points: np.ndarray,
    rng: np.random.Generator,
    dist: MaskDistribution = DEFAULT,
    paper: np.ndarray | None = None,
) -> np.ndarray:
    """(N, S, S, 3) uint8 faces and their (N, 68, 2) key points in the same pixels -> masked copies.

    Used by the robust attacker's training step: one generator per batch, so the masks depend only on
    the seed and the batch, not on timing or threads. ``paper``: the same faces already wearing the
    paper's mask as the test set has it (the masked cache: drawn at full size, then shrunk); when
    given, faces drawn to wear the paper's mask take it from there, pixel for pixel.
    """
    out = np.empty_like(images)
    for i in range(len(images)):
        d = sample(rng, dist)
        out[i] = paper[i] if (d.look is None and paper is not None) else draw(images[i], points[i], d, rng)
    return out


def style_draw(style: str, rng: np.random.Generator, dist: MaskDistribution = DEFAULT) -> Draw | None:
    """How a face wears ``style`` in the per-style comparison: the paper's flat shapes a-f as the paper
    drew them (white, flat, no jitter); every realistic style with a colour, look and placement drawn
    from ``dist`` restricted to it; ``bare``: None (no mask)."""
    if style == "bare":
        return None
    spec = get_style(style)
    if spec.family == "flat":
        return Draw(style, (255, 255, 255), None if style == "a" else Look(texture=False))
    return sample(rng, dist.only(style))


def mask_style_batch(
    images: np.ndarray,
    points: np.ndarray,
    style: str,
    seed: int,
    dist: MaskDistribution = DEFAULT,
    keys: Sequence[str] | None = None,
) -> np.ndarray:
    """Every face wearing ``style`` (see :func:`style_draw`), seeded per face by (seed, style, key), so
    a face's mask does not depend on the batch it is in. ``bare`` returns the faces unchanged."""
    if style == "bare":
        return np.array(images, copy=True)
    out = np.empty_like(images)
    for i in range(len(images)):
        rng = image_rng(seed, f"{style}:{keys[i] if keys is not None else i}")
        d = style_draw(style, rng, dist)
        assert d is not None
        out[i] = draw(images[i], points[i], d, rng)
    return out


__all__ = [
    "DEFAULT",
    "Draw",
    "MaskDistribution",
    "WIDE_PALETTE",
    "draw",
    "draw_random_mask",
    "mask_batch",
    "mask_style_batch",
    "sample",
    "style_draw",
]
