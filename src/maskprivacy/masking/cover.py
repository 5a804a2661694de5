"""Paint the paper's digital mask over a real one, so an attacker reads the mask it was trained on.

A face photographed with a real mask differs from UTKFace's training faces twice: the lower face is
hidden (which no attacker can undo), and what hides it is a surgical, KN95 or cloth mask of any
colour, folds and straps, which the paper-style attacker never saw. The second difference is
removable: painting the flat white type-"a" mask over the real one gives the attacker the same input
it was trained and tested on, and takes nothing away from the adversary (the real mask already hid
what the paint covers). An adversary with a digital-mask model would do exactly this.

Where to paint: the 68 points below the eyes are guesses on a masked face, and real masks are larger
than type "a" (they reach the ears and under the chin). So the painted region is the union of type
"a" placed by the crop's own 68 points and type "a" placed by the template's mean points fitted to
the points above the mask (brows, eyes, nose bridge: :data:`~maskprivacy.faces.align.UPPER68`),
grown by a margin that stops below the eyes: what is painted is what a real mask covers on most
faces, and the eyes stay as they were.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskprivacy.faces.align import POINTS68, UPPER68, similarity, transform_points
from maskprivacy.masking.colors import RGB, parse_color
from maskprivacy.masking.shapes import region

COVER_STYLE = "a"  # the paper's mask: what its attacker was trained on
# Growth of the painted region, as a share of the crop's inter-ocular distance (52 px on UTKFace's
# 200-px crops, so about 4 px): a real mask's edge lies just outside type "a"'s outline.
MARGIN = 0.08
EYES = np.r_[36:48]


def template_points(points68: np.ndarray) -> np.ndarray:
    """The template's mean 68 points placed on this face by its points above the mask."""
    pts = np.asarray(points68, np.float64)
    return transform_points(POINTS68, similarity(POINTS68[UPPER68], pts[UPPER68]))


def cover_region(points68: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Boolean (H, W) mask of where :func:`cover_real_mask` paints, for a crop of ``size`` (H, W)."""
    pts = np.asarray(points68, np.float64)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        raise ValueError(f"cover needs 68 finite (x, y) points, got shape {pts.shape}")
    h, w = size
    # Points far outside the crop (a wild fit) are clipped: cv2 draws in int32 and a polygon at
    # 1e9 px would wrap around.
    lim = np.array([w, h], np.float64) * 4
    own = np.clip(pts, -lim, lim)
    tmpl = np.clip(template_points(pts), -lim, lim)
    paint = (region(own, COVER_STYLE, size) > 0) | (region(tmpl, COVER_STYLE, size) > 0)
    eyes = pts[EYES]
    span = float(np.linalg.norm(eyes[:6].mean(0) - eyes[6:].mean(0)))
    k = int(round(MARGIN * span)) * 2 + 1
    if k > 1:
        grown = cv2.dilate(paint.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
        # The margin never reaches up to the eyes (type "a" itself is painted whole, as in training).
        grown[: max(0, min(h, int(np.ceil(eyes[:, 1].max())) + 1))] = False
        paint |= grown
    return paint


def cover_real_mask(crop: np.ndarray, points68: np.ndarray, color: str | RGB = "white") -> np.ndarray:
    """A copy of an aligned ``crop`` whose real mask is painted over with the flat type-"a" mask.

    >>> from maskprivacy.faces.template_data import POINTS68, SIZE
    >>> face = np.zeros((SIZE, SIZE, 3), np.uint8)
    >>> out = cover_real_mask(face, np.array(POINTS68))
    >>> eyes = np.round(np.array(POINTS68)[36:48]).astype(int)
    >>> bool((out[150, 100] == 255).all()), bool(out[eyes[:, 1], eyes[:, 0]].any())  # mouth white, eyes not
    (True, False)
    """
    rgb = parse_color(color) if isinstance(color, str) else tuple(color)
    if rgb is None:
        raise ValueError(f"cover colour must be a fixed colour, got {color!r}")
    out = np.ascontiguousarray(crop).copy()
    out[cover_region(points68, out.shape[:2])] = rgb
    return out


__all__ = ["COVER_STYLE", "MARGIN", "cover_region", "cover_real_mask", "template_points"]
