"""Mask styles as data: one YAML file per style in this folder, compiled once into matrices.

MaskTheFace keeps its masks in ``masks.cfg``; we keep ours in ``styles/<name>.yaml`` so that a new
style is a few lines of data, not code. A file says::

    name: kn95
    family: realistic        # flat: the paper's one-colour shapes (exact geometry); realistic: shaded fabric
    kind: polygon            # polygon (an outline of points) or ellipse (the paper's b, d, f)
    anchors:                 # optional named points, usable below by name
      nose_top: {mix: [[28, 0.7], [27, 0.3]]}
    outline: ["2..14", {mix: [[14, 0.45], [nose_top, 0.55]]}, nose_top, {mix: [[2, 0.45], [nose_top, 0.55]]}]
    render: {shading: 0.22, fold: true, straps: ear_loops, ...}   # see render.py
    colors: [white, surgical-blue, ...]                          # what the mask distribution draws from

A *point expression* is a dlib key point index (0-67, 0-based), ``"i..j"`` (the points i to j, in an
outline), an anchor's name, ``{x: E, y: F}`` (x of E, y of F), ``{mix: [[E, w], ...]}`` (the
weighted sum of points) or ``{at: E, shift: [dx, dy]}`` (E moved by dx, dy face widths; the face
width is the distance from point 0 to point 16, so a shift means the same at 72 px and at 200 px).
Every expression is linear in the key points plus a multiple of the face width, so each outline
compiles to two (M, 68) weight matrices and an (M, 2) shift: placing a mask is two small matrix
products (microseconds), which is what lets training draw a fresh mask per image per batch.

Ellipses (``kind: ellipse``) keep the paper's code exactly: centre x at ``center_x``, top at the y
of ``top`` plus ``top_shift: [i, j, k]`` = k * (x_j - x_i), full height down to the y of
``bottom``, full width ``width: [i, j, k]`` = k * (x_j - x_i), both truncated to whole pixels and
at least 1.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import yaml

N_POINTS = 68
FAMILIES = ("flat", "realistic")
KINDS = ("polygon", "ellipse")
_RANGE = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")


@dataclass(frozen=True)
class Expr:
    """A compiled point expression: x = wx . px + sx * fw, y = wy . py + sy * fw."""

    wx: np.ndarray
    wy: np.ndarray
    sx: float = 0.0
    sy: float = 0.0

    def __add__(self, o: "Expr") -> "Expr":
        return Expr(self.wx + o.wx, self.wy + o.wy, self.sx + o.sx, self.sy + o.sy)

    def scale(self, k: float) -> "Expr":
        return Expr(self.wx * k, self.wy * k, self.sx * k, self.sy * k)


def _onehot(i: int) -> Expr:
    v = np.zeros(N_POINTS)
    v[i] = 1.0
    return Expr(v, v.copy())


@dataclass(frozen=True)
class StyleSpec:
    """One style, compiled. ``outline_w*``: (M, 68) weights; ``outline_s``: (M, 2) face-width shifts."""

    name: str
    family: str
    kind: str
    description: str
    render: dict[str, Any]
    colors: tuple[str, ...]
    outline_wx: np.ndarray | None = None
    outline_wy: np.ndarray | None = None
    outline_s: np.ndarray | None = None
    ellipse: dict[str, Any] | None = None
    anchors: dict[str, Expr] = field(default_factory=dict)
    source: str = ""


def face_width(p: np.ndarray) -> float:
    """Distance from key point 0 to 16 (the jaw's ends): the unit of ``shift``."""
    return math.hypot(float(p[16][0] - p[0][0]), float(p[16][1] - p[0][1]))


class StyleError(ValueError):
    """A style file that cannot be compiled; the message names the file and the problem."""


def _compile(expr: Any, anchors: Mapping[str, Expr], where: str) -> Expr:
    if isinstance(expr, bool):
        raise StyleError(f"{where}: {expr!r} is not a point expression")
    if isinstance(expr, int):
        if not 0 <= expr < N_POINTS:
            raise StyleError(f"{where}: key point {expr} is not in 0..67")
        return _onehot(expr)
    if isinstance(expr, str):
        if expr in anchors:
            return anchors[expr]
        raise StyleError(f"{where}: unknown anchor {expr!r} (known: {', '.join(anchors) or 'none'})")
    if isinstance(expr, Mapping):
        keys = set(expr)
        if keys == {"x", "y"}:
            ex, ey = _compile(expr["x"], anchors, where), _compile(expr["y"], anchors, where)
            return Expr(ex.wx, ey.wy, ex.sx, ey.sy)
        if keys == {"mix"}:
            parts = expr["mix"]
            if not isinstance(parts, list) or not parts:
                raise StyleError(f"{where}: mix needs a list of [point, weight] pairs")
            total: Expr | None = None
            for item in parts:
                if not isinstance(item, (list, tuple)) or len(item) != 2 or not isinstance(item[1], (int, float)):
                    raise StyleError(f"{where}: mix item {item!r} is not [point, weight]")
                e = _compile(item[0], anchors, where).scale(float(item[1]))
                total = e if total is None else total + e
            assert total is not None
            return total
        if keys == {"at", "shift"}:
            sh = expr["shift"]
            if not isinstance(sh, (list, tuple)) or len(sh) != 2:
                raise StyleError(f"{where}: shift must be [dx, dy] in face widths")
            e = _compile(expr["at"], anchors, where)
            return Expr(e.wx, e.wy, e.sx + float(sh[0]), e.sy + float(sh[1]))
    raise StyleError(
        f"{where}: cannot read point expression {expr!r} (an index, 'i..j', an anchor, "
        "{x:, y:}, {mix: [[p, w], ...]} or {at:, shift: [dx, dy]})"
    )


def _triple(v: Any, where: str) -> tuple[int, int, float]:
    if not isinstance(v, (list, tuple)) or len(v) != 3:
        raise StyleError(f"{where}: expected [i, j, k] (k * (x_j - x_i))")
    i, j, k = v
    for q in (i, j):
        if not isinstance(q, int) or not 0 <= q < N_POINTS:
            raise StyleError(f"{where}: key point {q!r} is not in 0..67")
    return int(i), int(j), float(k)


def compile_style(doc: Mapping[str, Any], source: str = "<dict>") -> StyleSpec:
    """A parsed YAML document -> :class:`StyleSpec` (raises :class:`StyleError` naming ``source``)."""
    if not isinstance(doc, Mapping):
        raise StyleError(f"{source}: expected a mapping")
    name = doc.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise StyleError(f"{source}: 'name' must be lower-case letters, digits, - or _")
    family = doc.get("family", "realistic")
    kind = doc.get("kind", "polygon")
    if family not in FAMILIES:
        raise StyleError(f"{source}: family {family!r}: choose from {', '.join(FAMILIES)}")
    if kind not in KINDS:
        raise StyleError(f"{source}: kind {kind!r}: choose from {', '.join(KINDS)}")
    anchors: dict[str, Expr] = {}
    for k, v in (doc.get("anchors") or {}).items():
        anchors[str(k)] = _compile(v, anchors, f"{source}: anchor {k}")
    render = dict(doc.get("render") or {})
    colors = tuple(str(c) for c in (doc.get("colors") or ()))
    common = dict(
        name=name,
        family=family,
        kind=kind,
        description=str(doc.get("description", "")).strip(),
        render=render,
        colors=colors,
        anchors=anchors,
        source=source,
    )
    if kind == "polygon":
        items: list[Any] = []
        for item in doc.get("outline") or []:
            m = _RANGE.match(item) if isinstance(item, str) else None
            if m:
                a, b = int(m.group(1)), int(m.group(2))
                items.extend(range(a, b + 1) if a <= b else range(a, b - 1, -1))
            else:
                items.append(item)
        if len(items) < 3:
            raise StyleError(f"{source}: a polygon outline needs at least 3 points")
        exprs = [_compile(e, anchors, f"{source}: outline[{i}]") for i, e in enumerate(items)]
        return StyleSpec(
            **common,
            outline_wx=np.stack([e.wx for e in exprs]),
            outline_wy=np.stack([e.wy for e in exprs]),
            outline_s=np.array([[e.sx, e.sy] for e in exprs]),
        )
    e = doc.get("ellipse")
    if not isinstance(e, Mapping):
        raise StyleError(f"{source}: kind ellipse needs an 'ellipse' mapping")
    ell = {
        "center_x": _compile(e.get("center_x", 28), anchors, f"{source}: ellipse.center_x"),
        "top": _compile(e.get("top"), anchors, f"{source}: ellipse.top"),
        "bottom": _compile(e.get("bottom", 8), anchors, f"{source}: ellipse.bottom"),
        "top_shift": _triple(e["top_shift"], f"{source}: ellipse.top_shift") if e.get("top_shift") else None,
        "width": _triple(e.get("width", [3, 13, 0.8]), f"{source}: ellipse.width"),
    }
    return StyleSpec(**common, ellipse=ell)


def _ev(e: Expr, p: np.ndarray, fw: float) -> tuple[float, float]:
    return float(e.wx @ p[:, 0] + e.sx * fw), float(e.wy @ p[:, 1] + e.sy * fw)


def outline_points(spec: StyleSpec, points: np.ndarray) -> np.ndarray:
    """Float (M, 2) outline of a polygon style for these (68, 2) key points."""
    if spec.kind != "polygon":
        raise ValueError(f"style {spec.name!r} is an ellipse, not a polygon")
    p = np.asarray(points, dtype=np.float64)
    fw = face_width(p)
    assert spec.outline_wx is not None and spec.outline_wy is not None and spec.outline_s is not None
    return np.stack([spec.outline_wx @ p[:, 0], spec.outline_wy @ p[:, 1]], axis=1) + spec.outline_s * fw


def ellipse_params(spec: StyleSpec, points: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Centre and full axes (width, height) of an ellipse style, as the paper's code computes them."""
    if spec.kind != "ellipse" or spec.ellipse is None:
        raise ValueError(f"style {spec.name!r} is a polygon, not an ellipse")
    p = np.asarray(points, dtype=np.float64)
    fw = face_width(p)
    e = spec.ellipse
    top = _ev(e["top"], p, fw)[1]
    if e["top_shift"] is not None:
        i, j, k = e["top_shift"]
        top = top + k * (p[j][0] - p[i][0])
    bottom = _ev(e["bottom"], p, fw)[1]
    i, j, k = e["width"]
    center = (_ev(e["center_x"], p, fw)[0], top + (bottom - top) / 2)
    # Clamped at 1 px: implausible key points (a profile, a bad fit) must not crash the batch.
    axes = (float(max(1, int((p[j][0] - p[i][0]) * k))), float(max(1, int(bottom - top))))
    return center, axes


def _style_files() -> list[tuple[str, str]]:
    folder = resources.files("maskprivacy.masking").joinpath("styles")
    return sorted((f.name, f.read_text()) for f in folder.iterdir() if f.name.endswith(".yaml"))


# Order in which styles are listed (--help, tables): the paper's first, then the realistic ones.
_ORDER = ("a", "b", "c", "d", "e", "f", "surgical", "cloth", "n95")


@functools.lru_cache(maxsize=1)
def load_styles() -> dict[str, StyleSpec]:
    """Every style shipped in ``maskprivacy/masking/styles/*.yaml``, by name (compiled once)."""
    out: dict[str, StyleSpec] = {}
    for fname, text in _style_files():
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise StyleError(f"styles/{fname}: not valid YAML: {e}") from None
        spec = compile_style(doc, f"styles/{fname}")
        if Path(fname).stem != spec.name:
            raise StyleError(f"styles/{fname}: file name and name {spec.name!r} differ")
        out[spec.name] = spec
    rank = {n: i for i, n in enumerate(_ORDER)}
    return dict(sorted(out.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def get_style(name: str) -> StyleSpec:
    styles = load_styles()
    if name not in styles:
        raise ValueError(f"mask style {name!r}: choose from {', '.join(styles)}")
    return styles[name]


def style_names(family: str | None = None) -> tuple[str, ...]:
    return tuple(n for n, s in load_styles().items() if family is None or s.family == family)
