"""Things worn on the head, drawn in face units (frame.py): a cap, a beanie, a hood, a scarf.

* cap: a crown over the hair and the upper forehead, a brim just above the brows and, under it, a
  shadow that darkens the eyes (``shade``: how dark at the brim; it fades to nothing below the nose).
* beanie: a knitted dome with a ribbed cuff whose lower edge sits on the brows: hair and forehead gone.
* hood: fabric around the face from the crown to under the chin, its opening narrower than the jaw,
  so the hair, the ears and the face's outline are hidden; the opening casts a soft shadow inwards.
* scarf: wrapped around the neck and pulled up over the nose (its top edge across the nose bridge),
  knitted, plain or striped; wider than the jaw, down onto the neck.

Colours come from each entry's palette in catalog.yaml; the generator picks one per face.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from maskprivacy.masking.occluders.frame import FaceFrame, ellipse_outline, polygon_mask
from maskprivacy.masking.occluders.layer import Layer, lines, pick_color


def _arc(center: tuple[float, float], axes: tuple[float, float], t0: float, t1: float, n: int = 32) -> np.ndarray:
    t = np.linspace(t0, t1, n)
    return np.stack([center[0] + axes[0] * np.cos(t), center[1] + axes[1] * np.sin(t)], axis=1)


def cap(layer: Layer, frame: FaceFrame, params: Mapping[str, Any], rng: np.random.Generator) -> None:
    """A baseball cap: ``edge`` (the crown's lower edge, b), ``brim`` (how far down it reaches, face
    units below the edge), ``shade`` (the shadow's darkness under the brim)."""
    color = pick_color(params.get("colors") or ["navy"], rng)
    edge = float(params.get("edge", -0.62))
    brim = float(params.get("brim", 0.36))
    shade = float(params.get("shade", 0.7))
    a, b = frame.grid()
    fade = np.clip((0.45 - b) / (0.45 - edge), 0.0, 1.0) * np.clip((1.3 - np.abs(a)) / 0.25, 0.0, 1.0)
    layer.blend(fade * np.float32(shade) * (b > edge), np.zeros(3), hides=False)  # the brim's shadow
    crown = _arc((0.0, edge), (1.22, 1.6), np.pi, 2 * np.pi)
    layer.blend(
        polygon_mask(frame, crown), color * np.float32(0.95) * (1 - 0.25 * np.clip(np.abs(a) - 0.6, 0, 1))[:, :, None]
    )
    seams = [np.array([[s, edge], [s * 0.3, edge - 1.5]]) for s in (-0.45, 0.45)]
    layer.blend(np.maximum.reduce([lines(frame, s, 0.025) for s in seams]) * 0.6, color * 0.6, hides=False)
    visor = _arc((0.0, edge), (1.3, brim), 0.0, np.pi)
    underside = np.clip((b - edge) / brim, 0, 1)[:, :, None]
    layer.blend(polygon_mask(frame, visor), color * (0.85 - 0.3 * underside))


def beanie(layer: Layer, frame: FaceFrame, params: Mapping[str, Any], rng: np.random.Generator) -> None:
    """A knitted beanie: ``edge`` (its lower edge, b; on the brows hides the whole forehead) and
    ``cuff`` (the ribbed band's height)."""
    color = pick_color(params.get("colors") or ["grey"], rng)
    edge = float(params.get("edge", -0.42))
    cuff = float(params.get("cuff", 0.32))
    a, b = frame.grid()
    dome = np.vstack([_arc((0.0, edge), (1.34, 1.85), np.pi, 2 * np.pi), [[1.34, edge], [-1.34, edge]]])
    rib = 1 + 0.12 * np.sin(2 * np.pi * a / 0.09)  # vertical ribs in the cuff
    knit = 1 + 0.07 * np.sin(2 * np.pi * b / 0.07) * np.sin(2 * np.pi * a / 0.12)  # knit rows above
    pattern = np.where(b > edge - cuff, rib, knit * 0.93) * (1 - 0.2 * np.clip(np.abs(a) - 0.7, 0, 1))
    layer.blend(polygon_mask(frame, dome), color * pattern[:, :, None].astype(np.float32))
    layer.blend(
        lines(frame, np.array([[-1.34, edge - cuff], [1.34, edge - cuff]]), 0.03) * 0.5, color * 0.7, hides=False
    )


def hood(layer: Layer, frame: FaceFrame, params: Mapping[str, Any], rng: np.random.Generator) -> None:
    """A hood: the ``opening`` (semi-axes, face units, centred ``opening_center`` below the eyes) shows
    the face; everything else out to ``outer`` (semi-axes) and down to ``bottom`` (b) is fabric."""
    color = pick_color(params.get("colors") or ["grey"], rng)
    oa, ob = (float(v) for v in params.get("opening", (0.95, 1.45)))
    oc = float(params.get("opening_center", 0.55))
    ra, rb = (float(v) for v in params.get("outer", (2.1, 2.9)))
    bottom = float(params.get("bottom", 2.4))
    a, b = frame.grid()
    r_in = np.sqrt((a / oa) ** 2 + ((b - oc) / ob) ** 2)
    r_out = np.sqrt((a / ra) ** 2 + ((b - 0.4) / rb) ** 2)
    outer = polygon_mask(frame, np.vstack([ellipse_outline((0.0, 0.4), (ra, rb), 64)]))
    fabric = (
        outer
        * np.clip((r_in - 1.0) * frame.unit * min(oa, ob) + 0.5, 0, 1)
        * np.clip((bottom - b) * frame.unit + 0.5, 0, 1)
    )
    layer.blend(np.clip(0.45 * (r_in - 0.8) / 0.2, 0, 0.45) * (r_in < 1), np.zeros(3), hides=False)  # shadow inside
    folds = 1 - 0.12 * np.abs(np.sin(np.pi * r_out * 3.2)) - 0.2 * np.clip(r_out - 0.7, 0, 1)
    layer.blend(fabric, color * folds[:, :, None].astype(np.float32))


def scarf(layer: Layer, frame: FaceFrame, params: Mapping[str, Any], rng: np.random.Generator) -> None:
    """A scarf pulled up over the nose: ``top`` (its top edge at the nose, b), striped with probability
    ``stripes`` (two colours of the palette)."""
    palette = params.get("colors") or ["red"]
    color, second = pick_color(palette, rng), pick_color(palette, rng)
    top = float(params.get("top", 0.3))
    outline = np.array(
        [
            [-1.45, top + 0.22],
            [-0.95, top + 0.06],
            [-0.35, top + 0.01],
            [0.0, top],
            [0.35, top + 0.01],
            [0.95, top + 0.06],
            [1.45, top + 0.22],
            [1.5, 1.9],
            [1.25, 2.7],
            [-1.25, 2.7],
            [-1.5, 1.9],
        ]
    )
    a, b = frame.grid()
    period = float(rng.uniform(0.25, 0.45))
    striped = rng.random() < float(params.get("stripes", 0.5))
    base = np.where(((b - top) % period < period / 2)[:, :, None] & striped, second, color)
    knit = 1 + 0.08 * np.sin(2 * np.pi * a / 0.1) - 0.15 * np.clip(np.abs(a) - 0.8, 0, 1)
    wraps = 1 - 0.1 * np.abs(np.sin(np.pi * (b - top) / 0.6 + 0.6 * a))
    layer.blend(polygon_mask(frame, outline), base * (knit * wraps)[:, :, None].astype(np.float32))


__all__ = ["beanie", "cap", "hood", "scarf"]
