"""Drawing a style of the table (table.py) on a face: flat paper shapes and shaded realistic masks.

Flat polygons teach a model to ignore one uniform colour; real masks have folds, seams, prints
and light fall-off. A realistic style's ``render`` section switches on the features below; the
geometry comes from its outline. All randomness comes from the generator passed in, so output is
reproducible. Features (``render:`` keys of a style file):

* ``shading``: strength of the front-light fall-off toward the sides and bottom (0.15-0.3).
* ``pleats``: horizontal pleats at these fractions of the way from the mask's top to point 8.
* ``seam``: ``[E, F]`` a stitched line between two point expressions (an N95's centre seam).
* ``fold``: ``[E, F]`` a crease between two points with the two halves lit differently (KN95).
* ``valve``: ``[E, r]`` an exhalation valve: a disc at E of radius r face widths.
* ``rim``: outline line: 0 one pixel, 1 ~face width / 90, 2 one pixel more (a moulded edge).
* ``print``: true for a fabric print (dots, stripes, checks or camouflage) with grain.
* ``straps``: ``ear_loops``, ``head`` (two straps over the ears), ``ties`` (strings to behind the
  head) or ``none``; ``strap_color``: ``light``, ``dark`` or ``fabric``.

:class:`Look` carries what the mask distribution (random_masks.py) varies per face: print,
grain, lighting, straps, and the placement jitter (top edge higher or lower on the nose, chin edge
further under the chin, a slight tilt, a wider or narrower mask). ``Look()`` is the style as drawn by
``draw_mask``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskprivacy.masking.styles.table import (
    StyleSpec,
    _compile,
    _ev,
    ellipse_params,
    face_width,
    get_style,
    outline_points,
    style_names,
)

PRINTS = ("dots", "stripes", "checks", "camo")
STRAPS = ("ear_loops", "head", "ties", "none")
_LIGHT = np.array([235.0, 235.0, 235.0], np.float32)
# Key points beyond this many image sizes outside the frame are clipped before drawing: OpenCV's
# int32 coordinates must not overflow on absurd input, and nothing that far away is visible.
_FAR = 4


@dataclass(frozen=True)
class Look:
    """Per-face variation of a style. Defaults: the style exactly as its file describes it."""

    print_kind: str | None = None  # None: the style's own (a random print if ``print: true``); "none" or one of PRINTS
    grain: float = 6.0  # fabric grain noise (std, grey levels), with a print
    shading: float | None = None  # None: the style's
    gain: float = 1.0  # overall brightness of the mask (lighting)
    light: float = 0.0  # side light: -0.3 (from the left) .. 0.3 (from the right)
    straps: str | None = None  # None: the style's
    top: float = 0.0  # top edge moved down (+) or up (-), in face widths
    chin: float = 0.0  # bottom edge moved down (+) or up (-), in face widths
    angle: float = 0.0  # tilt in degrees about the mask's centre
    width: float = 1.0  # horizontal scale about the mask's centre
    texture: bool = True  # False: flat colour for a realistic outline (no shading, no lines)


def _transform(look: Look, outline: np.ndarray, fw: float):
    """The placement jitter as an affine map on (N, 2) float points (identity for the default look).

    The top edge moves by ``top`` and the bottom edge by ``chin`` face widths, linearly in between
    (a vertical stretch), then the mask is scaled horizontally by ``width`` and tilted by ``angle``
    about its centre: one 2x3 matrix, so placing every feature line costs one tiny product.
    """
    if look.top == 0 and look.chin == 0 and look.angle == 0 and look.width == 1.0:
        return lambda q: np.asarray(q, dtype=np.float64).reshape(-1, 2)
    y0, y1 = float(outline[:, 1].min()), float(outline[:, 1].max())
    span = max(1e-6, y1 - y0)
    k = (look.chin - look.top) * fw / span  # y' = y + top*fw + (y - y0) * k
    stretch = np.array([[look.width, 0.0, 0.0], [0.0, 1.0 + k, look.top * fw - y0 * k], [0.0, 0.0, 1.0]])
    cx, cy = outline.mean(axis=0)
    stretch[0, 2] = cx * (1 - look.width)
    a = np.deg2rad(look.angle)
    c, s = np.cos(a), np.sin(a)
    rot = np.array([[c, -s, cx - c * cx + s * cy], [s, c, cy - s * cx - c * cy], [0.0, 0.0, 1.0]])
    m = (rot @ stretch)[:2]
    A, b = m[:, :2].T.copy(), m[:, 2].copy()

    def f(q: np.ndarray) -> np.ndarray:
        return np.asarray(q, dtype=np.float64).reshape(-1, 2) @ A + b

    return f


def base_outline(spec: StyleSpec, points: np.ndarray) -> np.ndarray:
    """Float (M, 2) outline of any style (ellipses as a 72-gon)."""
    if spec.kind == "polygon":
        return outline_points(spec, points)
    (cx, cy), (aw, ah) = ellipse_params(spec, points)
    t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    return np.stack([cx + aw / 2 * np.cos(t), cy + ah / 2 * np.sin(t)], axis=1)


def _point(spec: StyleSpec, expr, p: np.ndarray, fw: float) -> np.ndarray:
    """A point expression of the render section (an anchor name, an index, ...) for these points."""
    key = expr if isinstance(expr, str) else repr(expr)
    e = spec.anchors.get(key) if isinstance(expr, str) else None
    if e is None:
        e = _compile(expr, spec.anchors, f"{spec.source}: render")
    return np.array(_ev(e, p, fw))


def _shading(h: int, w: int, box: tuple[int, int, int, int], strength: float, light: float) -> np.ndarray:
    """A light-from-the-front shading map: darker toward the sides and bottom of the mask; ``light``
    tilts it toward one side."""
    x0, y0, x1, y1 = box
    xs = (np.arange(w, dtype=np.float32) - (x0 + x1) / 2) / max(1.0, (x1 - x0) / 2)
    ys = (np.arange(h, dtype=np.float32) - y0) / max(1.0, (y1 - y0))
    s = 1.0 - strength * np.clip(xs[None, :] ** 2, 0, 1.5) - 0.5 * strength * np.clip(ys[:, None], 0, 1.2) ** 2
    if light:
        s = s + light * np.clip(xs[None, :], -1.2, 1.2)
    return np.clip(s, 0.35, 1.1)[:, :, None]


def _print(
    tex: np.ndarray,
    box: tuple[int, int, int, int],
    color: np.ndarray,
    rng: np.random.Generator,
    kind: str | None,
    grain: float,
    scale: float,
) -> None:
    """Fabric print in a contrasting colour over ``box`` (vectorised: no per-dot Python), in place."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return
    contrast = np.where(color.mean() > 128, color * 0.45, np.minimum(255, color * 0.5 + 140)).astype(np.float32)
    k = int(rng.integers(3))
    kind = kind or PRINTS[k]
    step = max(2.0, float(rng.integers(7, 12)) * scale)
    yy, xx = np.mgrid[y0 : y1 + 1, x0 : x1 + 1].astype(np.float32)
    if kind == "dots":
        row = np.floor((yy - y0) / step)
        dx = np.mod(xx - x0 + (row % 2) * step / 2, step) - step / 2
        dy = np.mod(yy - y0, step) - step / 2
        layer = np.clip(step / 4 + 0.5 - np.sqrt(dx * dx + dy * dy), 0, 1)
    elif kind == "stripes":
        d = np.mod(xx + yy, step)
        layer = (d < max(1.0, step / 3)).astype(np.float32)
    elif kind == "checks":
        a = (np.floor((xx - x0) / step) % 2 == 0).astype(np.float32)
        b = (np.floor((yy - y0) / step) % 2 == 0).astype(np.float32)
        layer = np.maximum(a * 0.63, b)
    else:  # camo: blotches from coarse noise, enlarged
        gh, gw = max(2, int((y1 - y0) / step) + 2), max(2, int((x1 - x0) / step) + 2)
        noise = rng.random((gh, gw)).astype(np.float32)
        big = cv2.resize(noise, (x1 - x0 + 1, y1 - y0 + 1), interpolation=cv2.INTER_LINEAR)
        layer = (big > 0.55).astype(np.float32) * 0.8
    a = layer[:, :, None]
    sub = tex[y0 : y1 + 1, x0 : x1 + 1]
    sub[:] = sub * (1 - a) + contrast[None, None, :] * a
    if grain > 0:
        sub += rng.normal(0.0, grain, size=(y1 - y0 + 1, x1 - x0 + 1, 1)).astype(np.float32)


def _tup(q) -> tuple[int, int]:
    return int(round(float(q[0]))), int(round(float(q[1])))


def sane_points(points: np.ndarray, h: int, w: int) -> np.ndarray:
    """Float (68, 2) points with NaN/inf replaced and anything absurdly far outside the image pulled in."""
    p = np.asarray(points, dtype=np.float64)
    lim = _FAR * max(h, w)
    if not np.isfinite(p).all() or p.min() < -lim or p.max() > lim + max(h, w):
        p = np.minimum(np.maximum(np.nan_to_num(p, nan=0.0, posinf=lim, neginf=-lim), -lim), lim + max(h, w))
    return p


def render(
    rgb: np.ndarray,
    points: np.ndarray,
    spec: StyleSpec,
    color: tuple[int, int, int],
    rng: np.random.Generator | None,
    look: Look = Look(),
) -> np.ndarray:
    """Paint ``spec`` in ``color`` on a copy of ``rgb`` (H, W, 3 uint8), placed by the 68 ``points``.

    Pixel work is done on the mask's bounding box only (plus a margin for the blur): at 72 px the
    per-operation overhead, not the pixels, is the cost, so every step is one vectorised call.
    """
    H, W = rgb.shape[:2]
    p = sane_points(points, H, W)
    fw = face_width(p)
    r = spec.render if spec.family == "realistic" else {"shading": 0.15, "rim": 0}
    base = base_outline(spec, p)
    T = _transform(look, base, fw)
    outline = np.round(T(base)).astype(np.int32)
    np.clip(outline[:, 0], 0, W - 1, out=outline[:, 0])
    np.clip(outline[:, 1], 0, H - 1, out=outline[:, 1])
    col = np.array(color, np.float32)
    if not look.texture:  # flat colour, as the paper's masks, on any outline
        out = np.ascontiguousarray(rgb).copy()
        cv2.fillPoly(out, [outline], tuple(int(v) for v in color), lineType=cv2.LINE_8)
        return out
    x0, y0 = (int(v) for v in outline.min(axis=0))
    x1, y1 = (int(v) for v in outline.max(axis=0))
    face_w = max(8.0, float(x1 - x0))
    # the working crop: the mask's box and a margin (blur, dilation, anti-aliased lines)
    ox, oy = max(0, x0 - 3), max(0, y0 - 3)
    cx1, cy1 = min(W, x1 + 4), min(H, y1 + 4)
    h, w = cy1 - oy, cx1 - ox
    off = np.array([ox, oy])
    loc = outline - off.astype(np.int32)
    box = (x0 - ox, y0 - oy, x1 - ox, y1 - oy)
    alpha = np.zeros((h, w), np.uint8)
    cv2.fillPoly(alpha, [loc], 255, cv2.LINE_AA)
    alpha = cv2.GaussianBlur(alpha, (3, 3), 0)

    tex = np.empty((h, w, 3), np.float32)
    tex[:] = col
    pk = look.print_kind
    if (pk is None and r.get("print")) or (pk is not None and pk != "none"):
        if rng is None:
            raise ValueError("a printed mask needs a random generator")
        _print(tex, box, col, rng, None if pk is None else pk, look.grain, face_w / 130.0)
    fold = r.get("fold")
    if fold:  # one half of a folded mask faces the light less
        a_pt = T(_point(spec, fold[0], p, fw))[0] - off
        b_pt = T(_point(spec, fold[1], p, fw))[0] - off
        xs = np.arange(w, dtype=np.float32)[None, :] - a_pt[0]
        ys = np.arange(h, dtype=np.float32)[:, None] - a_pt[1]
        side = xs * (b_pt[1] - a_pt[1]) - ys * (b_pt[0] - a_pt[0])
        tex *= np.where(side > 0, np.float32(0.9), np.float32(1.0))[:, :, None]
    shading = float(r.get("shading", 0.18) if look.shading is None else look.shading)
    sh = _shading(h, w, box, shading, look.light)
    if look.gain != 1.0:
        sh = sh * np.float32(look.gain)
    tex *= sh
    a = alpha.astype(np.float32)[:, :, None] * np.float32(1 / 255.0)
    region = rgb[oy:cy1, ox:cx1].astype(np.float32)
    region += (tex - region) * a
    region = np.clip(region, 0, 255).astype(np.uint8)

    g = look.gain
    dark = tuple(int(min(255.0, max(0.0, v * 0.6 * g))) for v in color)
    light = tuple(int(min(255.0, max(0.0, (v * 1.15 + 10) * g))) for v in color)
    thick = max(1, int(round(face_w / 90)))
    clip = np.zeros_like(region)
    top = float(base[:, 1].min())
    bottom = float(p[8][1])
    bx0, bx1 = float(base[:, 0].min()), float(base[:, 0].max())
    for k in r.get("pleats") or ():  # a shadow line with a highlight above it
        y = top + float(k) * (bottom - top)
        s0, s1 = T(np.array([[bx0, y + 1], [bx1, y + 1]])) - off
        cv2.line(clip, _tup(s0), _tup(s1), dark, thick, cv2.LINE_AA)
        s0, s1 = T(np.array([[bx0, y - thick], [bx1, y - thick]])) - off
        cv2.line(clip, _tup(s0), _tup(s1), light, 1, cv2.LINE_AA)
    for key in ("seam", "fold"):
        if r.get(key):
            a_pt = T(_point(spec, r[key][0], p, fw))[0] - off
            b_pt = T(_point(spec, r[key][1], p, fw))[0] - off
            cv2.line(clip, _tup(a_pt), _tup(b_pt), dark, thick, cv2.LINE_AA)
    rim = int(r.get("rim", 1))
    cv2.polylines(clip, [loc], True, dark, 1 if rim <= 0 else thick + rim - 1, cv2.LINE_AA)
    if r.get("valve"):
        c = T(_point(spec, r["valve"][0], p, fw))[0] - off
        rad = max(1, int(round(float(r["valve"][1]) * fw)))
        vcol = tuple(int(min(255.0, max(0.0, v * 0.8 * g))) for v in color)
        cv2.circle(clip, _tup(c), rad, vcol, -1, cv2.LINE_AA)
        cv2.circle(clip, _tup(c), rad, dark, max(1, thick), cv2.LINE_AA)
    drawn = clip.any(axis=2)
    inside = cv2.dilate(alpha, np.ones((3, 3), np.uint8)) > 0
    sel = drawn & inside
    region[sel] = clip[sel]
    out = np.ascontiguousarray(rgb).copy()
    out[oy:cy1, ox:cx1] = region

    straps = look.straps if look.straps is not None else r.get("straps", "none")
    if straps not in STRAPS:
        raise ValueError(f"{spec.source}: straps {straps!r}: choose from {', '.join(STRAPS)}")
    if straps == "none":
        return out
    pi = p.astype(np.int32)
    if straps == "ear_loops":
        out_l = np.array([pi[0][0] - face_w * 0.04, pi[0][1]])
        out_r = np.array([pi[16][0] + face_w * 0.04, pi[16][1]])
        loops = [
            (outline[outline[:, 0].argmin()], out_l),
            (T(p[4])[0], out_l),
            (outline[outline[:, 0].argmax()], out_r),
            (T(p[12])[0], out_r),
        ]
    elif straps == "head":
        lo_l = outline[np.argmin(((outline - T(p[2])[0]) ** 2).sum(1))]
        lo_r = outline[np.argmin(((outline - T(p[14])[0]) ** 2).sum(1))]
        loops = [(lo_l, pi[0] - (0, int(face_w * 0.15))), (lo_r, pi[16] - (0, int(face_w * 0.15)))]
    else:  # ties: from the mask's corners back past the face outline, one above and one below the ear
        up_l, up_r = outline[outline[:, 0].argmin()], outline[outline[:, 0].argmax()]
        lo_l, lo_r = T(p[4])[0], T(p[12])[0]
        back = 0.12 * fw
        loops = [
            (up_l, (p[0][0] - back, p[0][1] - 0.05 * fw)),
            (lo_l, (p[3][0] - back, p[4][1] + 0.04 * fw)),
            (up_r, (p[16][0] + back, p[16][1] - 0.05 * fw)),
            (lo_r, (p[13][0] + back, p[12][1] + 0.04 * fw)),
        ]
    sc = r.get("strap_color", "light")
    strap = (
        tuple(int(min(255.0, 235 * g)) for _ in range(3))
        if sc == "light"
        else tuple(int(min(255.0, max(0.0, v * 0.85 * g))) for v in color)
        if sc == "fabric"
        else dark
    )
    width = max(1, thick) + (1 if straps == "ties" else 0)
    strings = np.zeros((H, W), np.uint8)
    for a_pt, b_pt in loops:
        cv2.line(strings, _tup(a_pt), _tup(b_pt), 255, width, cv2.LINE_AA)
    full_alpha = np.zeros((H, W), np.uint8)
    full_alpha[oy:cy1, ox:cx1] = alpha
    outside = (strings > 0) & (full_alpha < 128)  # ear loops / straps run behind, not across, the mask
    out[outside] = strap
    return out


def draw_realistic(
    rgb: np.ndarray, points: np.ndarray, style: str, color: tuple[int, int, int], rng: np.random.Generator
) -> np.ndarray:
    """Paint a realistic ``style`` mask in ``color`` on a copy of ``rgb`` (the style as its file says)."""
    spec = get_style(style)
    if spec.family != "realistic":
        raise ValueError(f"{style!r} is not a realistic style; choose from {', '.join(style_names('realistic'))}")
    return render(rgb, points, spec, color, rng)
