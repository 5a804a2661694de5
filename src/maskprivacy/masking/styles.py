"""Realistic mask styles drawn by our own code from the 68 key points, with shading.

Flat polygons teach a model to ignore one uniform colour; real masks have folds, seams, prints
and light fall-off. These styles give a harder, more realistic test of what a mask hides:

* ``surgical``: pleated rectangle-ish mask over nose and mouth, three pleats, ear loops.
* ``cloth``: a fitted cloth mask with a seeded print (dots, stripes or checks) and fabric grain.
* ``n95``: a cup-shaped respirator with a centre seam, a moulded rim and head straps.

All randomness comes from the per-image generator, so output is reproducible.
"""
from __future__ import annotations

import cv2
import numpy as np

REALISTIC_STYLES = ("surgical", "cloth", "n95")


def _outline(points: np.ndarray, style: str) -> np.ndarray:
    p = points.astype(np.float64)
    nose_top = p[28] + (p[27] - p[28]) * 0.3  # just under the eyes, on the nose bridge
    left, right = p[1], p[15]
    if style == "surgical":
        jaw = [p[i] for i in range(2, 15)]
        top_left = np.array([left[0], nose_top[1] + 0.25 * (left[1] - nose_top[1])])
        top_right = np.array([right[0], nose_top[1] + 0.25 * (right[1] - nose_top[1])])
        pts = [left] + jaw + [right, top_right, nose_top, top_left]
    elif style == "cloth":
        jaw = [p[i] for i in range(1, 16)]
        pts = jaw + [(p[15] + p[28]) / 2 - (0, 2), nose_top, (p[1] + p[28]) / 2 - (0, 2)]
    elif style == "n95":
        jaw = [p[i] for i in range(2, 15)]
        pts = jaw + [(p[14] * 0.45 + nose_top * 0.55), nose_top, (p[2] * 0.45 + nose_top * 0.55)]
    else:
        raise ValueError(f"unknown realistic style {style!r}; choose from {REALISTIC_STYLES}")
    # Chin: reach a little below point 8 so the mask wraps under the jaw.
    return np.round(np.array(pts)).astype(np.int32)


def _shading(h: int, w: int, box: tuple[int, int, int, int], strength: float) -> np.ndarray:
    """A light-from-the-front shading map: darker toward the sides and bottom of the mask."""
    x0, y0, x1, y1 = box
    xs = (np.arange(w, dtype=np.float32) - (x0 + x1) / 2) / max(1.0, (x1 - x0) / 2)
    ys = (np.arange(h, dtype=np.float32) - y0) / max(1.0, (y1 - y0))
    s = 1.0 - strength * np.clip(xs[None, :] ** 2, 0, 1.5) - 0.5 * strength * np.clip(ys[:, None], 0, 1.2) ** 2
    return np.clip(s, 0.35, 1.1)[:, :, None]


def _print(tex: np.ndarray, area: tuple[int, int, int, int], color: np.ndarray, rng: np.random.Generator) -> None:
    """Seeded fabric print (dots, stripes or checks) in a contrasting colour, in place."""
    x0, y0, x1, y1 = area
    h, w = tex.shape[:2]
    contrast = np.where(color.mean() > 128, color * 0.45, np.minimum(255, color * 0.5 + 140))
    kind = ("dots", "stripes", "checks")[int(rng.integers(3))]
    step = int(rng.integers(7, 12))
    layer = np.zeros((h, w), np.uint8)
    if kind == "dots":
        for y in range(y0, y1, step):
            off = (step // 2) if ((y - y0) // step) % 2 else 0
            for x in range(x0 + off, x1, step):
                cv2.circle(layer, (x, y), max(1, step // 4), 255, -1, cv2.LINE_AA)
    elif kind == "stripes":
        for x in range(x0 - (y1 - y0), x1, step):
            cv2.line(layer, (x, y1), (x + (y1 - y0), y0), 255, max(1, step // 3), cv2.LINE_AA)
    else:
        for x in range(x0, x1, step * 2):
            cv2.rectangle(layer, (x, y0), (x + step - 1, y1), 160, -1)
        for y in range(y0, y1, step * 2):
            cv2.rectangle(layer, (x0, y), (x1, y + step - 1), 255, -1)
    a = (layer.astype(np.float32) / 255.0)[:, :, None]
    tex[:] = tex * (1 - a) + contrast[None, None, :] * a
    grain = rng.normal(0.0, 6.0, size=(h, w, 1)).astype(np.float32)
    tex += grain


def _ear_loops(outline: np.ndarray, p: np.ndarray, face_w: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two strings per side from the mask's upper and lower edge to just behind the ear (near 0/16)."""
    out_l = np.array([p[0][0] - face_w * 0.04, p[0][1]])
    out_r = np.array([p[16][0] + face_w * 0.04, p[16][1]])
    top_l = outline[outline[:, 0].argmin()]
    top_r = outline[outline[:, 0].argmax()]
    return [(top_l, out_l), (p[4], out_l), (top_r, out_r), (p[12], out_r)]


def draw_realistic(rgb: np.ndarray, points: np.ndarray, style: str, color: tuple[int, int, int],
                   rng: np.random.Generator) -> np.ndarray:
    """Paint a realistic ``style`` mask in ``color`` on a copy of ``rgb``."""
    h, w = rgb.shape[:2]
    outline = _outline(points, style)
    outline[:, 0] = np.clip(outline[:, 0], 0, w - 1)
    outline[:, 1] = np.clip(outline[:, 1], 0, h - 1)
    x0, y0 = outline.min(axis=0)
    x1, y1 = outline.max(axis=0)
    box = (int(x0), int(y0), int(x1), int(y1))
    face_w = max(8.0, float(x1 - x0))
    alpha = np.zeros((h, w), np.uint8)
    cv2.fillPoly(alpha, [outline], 255, cv2.LINE_AA)
    alpha = cv2.GaussianBlur(alpha, (3, 3), 0)

    col = np.array(color, np.float32)
    tex = np.empty((h, w, 3), np.float32)
    tex[:] = col
    if style == "cloth":
        _print(tex, box, col, rng)
    tex *= _shading(h, w, box, strength=0.18 if style != "n95" else 0.28)
    out = rgb.astype(np.float32)
    a = (alpha.astype(np.float32) / 255.0)[:, :, None]
    out = out * (1 - a) + tex * a
    out = np.clip(out, 0, 255).astype(np.uint8)

    dark = tuple(int(v) for v in np.clip(col * 0.6, 0, 255))
    light = tuple(int(v) for v in np.clip(col * 1.15 + 10, 0, 255))
    thick = max(1, int(round(face_w / 90)))
    p = points.astype(np.int32)
    clip = np.zeros_like(out)
    if style == "surgical":
        top = int(outline[:, 1].min())
        bottom = int(p[8][1])
        for k in (0.3, 0.5, 0.7):  # three pleats: a shadow line with a highlight above it
            y = int(top + k * (bottom - top))
            cv2.line(clip, (int(x0), y + 1), (int(x1), y + 1), dark, thick, cv2.LINE_AA)
            cv2.line(clip, (int(x0), y - thick), (int(x1), y - thick), light, 1, cv2.LINE_AA)
        cv2.polylines(clip, [outline], True, dark, 1, cv2.LINE_AA)
        loops = _ear_loops(outline, p, face_w)
    elif style == "n95":
        nose_top = outline[-2]
        cv2.line(clip, tuple(int(v) for v in nose_top), tuple(int(v) for v in p[8]), dark, thick, cv2.LINE_AA)
        cv2.polylines(clip, [outline], True, dark, thick + 1, cv2.LINE_AA)
        loops = [(outline[0], p[0] - (0, int(face_w * 0.15))), (outline[12], p[16] - (0, int(face_w * 0.15)))]
    else:
        cv2.polylines(clip, [outline], True, dark, thick, cv2.LINE_AA)
        loops = _ear_loops(outline, p, face_w)
    drawn = clip.any(axis=2)
    inside = cv2.dilate(alpha, np.ones((3, 3), np.uint8)) > 0
    sel = drawn & inside
    out[sel] = clip[sel]
    strap = (235, 235, 235) if style != "n95" else dark
    strings = np.zeros_like(out)
    for a_pt, b_pt in loops:
        cv2.line(strings, tuple(int(v) for v in a_pt), tuple(int(v) for v in b_pt), strap, max(1, thick), cv2.LINE_AA)
    outside = strings.any(axis=2) & (alpha < 128)  # ear loops / straps run behind, not across, the mask
    out[outside] = strings[outside]
    return out
