"""Image-level edits of the face region, and the paper's mask as one part of a combination.

Blurring or pixelating a face before posting it, or a black bar over the eyes, are what people do
to "anonymise" a photo; McPherson, Shokri and Shmatikov (2016) showed networks trained on such
faces read through blur and pixelation. Strengths are in face units (frame.py: the inter-ocular
distance), so a strength means the same on a 72-px training face and on a 640-px photo: ``sigma``
is the Gaussian's standard deviation, ``block`` a pixelation cell's side. The edited region is the
face (``frame.face_region``: the jaw closed over the forehead); nothing outside it changes.
"""

from __future__ import annotations

from typing import Any, Mapping

import cv2
import numpy as np

from maskprivacy.masking.draw import draw_mask
from maskprivacy.masking.occluders.frame import FaceFrame, face_region, polygon_mask
from maskprivacy.masking.occluders.layer import Layer, named
from maskprivacy.masking.shapes import region

PAPER_MASK = ("a", "white")  # the paper's mask: type "a", white, flat, as masking.draw draws it


def _bounds(where: np.ndarray, margin: int) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(where)
    if len(xs) == 0:
        return None
    h, w = where.shape
    return (
        max(0, xs.min() - margin),
        max(0, ys.min() - margin),
        min(w, xs.max() + 1 + margin),
        min(h, ys.max() + 1 + margin),
    )


def blur(layer: Layer, frame: FaceFrame, params: Mapping[str, Any], rng: np.random.Generator) -> None:
    """Gaussian blur of the face region, standard deviation ``sigma`` face units."""
    sigma = max(0.5, float(params["sigma"]) * frame.unit)
    where = face_region(frame.points, frame.size)
    box = _bounds(where, int(np.ceil(3 * sigma)))
    if box is None:
        return
    x0, y0, x1, y1 = box
    out = layer.image.copy()
    out[y0:y1, x0:x1] = cv2.GaussianBlur(layer.image[y0:y1, x0:x1], (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    layer.replace(out, where)


def pixelate(layer: Layer, frame: FaceFrame, params: Mapping[str, Any], rng: np.random.Generator) -> None:
    """Pixelation of the face region: cells of side ``block`` face units (at least 2 px), each the mean
    colour of the pixels under it."""
    cell = max(2, int(round(float(params["block"]) * frame.unit)))
    where = face_region(frame.points, frame.size)
    box = _bounds(where, 0)
    if box is None:
        return
    x0, y0, x1, y1 = box
    crop = layer.image[y0:y1, x0:x1]
    small = cv2.resize(
        crop, (max(1, -(-(x1 - x0) // cell)), max(1, -(-(y1 - y0) // cell))), interpolation=cv2.INTER_AREA
    )
    big = np.repeat(np.repeat(small, cell, axis=0), cell, axis=1)[: y1 - y0, : x1 - x0]
    out = layer.image.copy()
    out[y0:y1, x0:x1] = big
    layer.replace(out, where)


def eye_bar(layer: Layer, frame: FaceFrame, params: Mapping[str, Any], rng: np.random.Generator) -> None:
    """A bar over both eyes, ``width`` (half-length across) and ``height`` (top, bottom) in face units,
    cut to the face region like the other edits."""
    half = float(params.get("width", 1.1))
    top, bottom = (float(v) for v in params.get("height", (-0.3, 0.26)))
    bar = polygon_mask(frame, np.array([[-half, top], [half, top], [half, bottom], [-half, bottom]]))
    bar *= face_region(frame.points, frame.size)
    layer.blend(bar, np.array(named(str(params.get("color", "black"))), np.float32))


def paper_mask(layer: Layer, frame: FaceFrame, params: Mapping[str, Any], rng: np.random.Generator) -> None:
    """The paper's white type-"a" mask, drawn by ``masking.draw`` exactly as the masked attacker saw it."""
    style, color = PAPER_MASK
    masked = draw_mask(layer.uint8(), frame.points, style, color)
    layer.replace(masked, region(frame.points, style, frame.size) > 0)


__all__ = ["PAPER_MASK", "blur", "eye_bar", "paper_mask", "pixelate"]
