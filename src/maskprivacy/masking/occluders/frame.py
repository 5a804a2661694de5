"""Where a face is, in units every occluder shares: the eyes' midpoint, their distance and the roll.

An occluder (sunglasses, a cap, a hood, ...) is placed the way a mask style is, from the 68 key
points, but it sits on parts of the head the key points do not outline (the crown, the temples, the
neck). So its shapes are written in *face coordinates*: ``a`` across the face (to the image's right)
and ``b`` down it, both in inter-ocular distances (``unit``), with the origin midway between the
eye centres. On UTKFace's mean face the brows sit at b = -0.37, the nose tip at 0.54, the chin at
1.77 and the jaw's ends at a = +-1.11. A tilted head tilts every shape with it.

Absurd key points (a failed fit, points far outside the photo, all 68 collapsed on one pixel) must
not crash a batch: the unit never falls under one pixel, points are pulled in to a few image sizes
(OpenCV draws in int32), and only non-finite points (NaN, inf) are refused, because nothing sensible
can be drawn from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskprivacy.masking.styles.table import face_width

LEFT_EYE = np.r_[36:42]
RIGHT_EYE = np.r_[42:48]
# Key points farther than this many image sizes outside the frame are pulled in before drawing.
FAR = 4
# The box every drawn occluder stays in, in face coordinates: wide enough for a hood's sides and a
# cap's crown, down to a scarf's lower edge under the chin.
BOX_A = 2.5
BOX_TOP = -2.8
BOX_BOTTOM = 3.0


def check_points(points: np.ndarray) -> np.ndarray:
    """(68, 2) finite float64 key points, or a ValueError that says what is wrong."""
    p = np.asarray(points, dtype=np.float64)
    if p.shape != (68, 2):
        raise ValueError(f"occluders need the 68 (x, y) key points, got an array of shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("occluders need finite key points; these contain NaN or infinity (a failed fit?)")
    return p


@dataclass(frozen=True)
class FaceFrame:
    """The face's own coordinate system in an image of ``size`` (H, W); see the module's docstring."""

    points: np.ndarray  # (68, 2) float64, pulled in to a few image sizes
    origin: np.ndarray  # (2,) the eyes' midpoint, pixels
    across: np.ndarray  # (2,) unit vector from the image-left eye to the image-right eye
    down: np.ndarray  # (2,) unit vector down the face (``across`` turned a quarter clockwise)
    unit: float  # pixels per face unit (the inter-ocular distance, at least 1)
    size: tuple[int, int]

    @property
    def left_eye(self) -> np.ndarray:
        return self.points[LEFT_EYE].mean(axis=0)

    @property
    def right_eye(self) -> np.ndarray:
        return self.points[RIGHT_EYE].mean(axis=0)

    @property
    def angle(self) -> float:
        """The head's roll in degrees (image y down: positive turns the face clockwise)."""
        return float(np.degrees(np.arctan2(self.across[1], self.across[0])))

    def to_image(self, ab: np.ndarray) -> np.ndarray:
        """(N, 2) face coordinates (a, b) -> (N, 2) float pixel coordinates (x, y)."""
        q = np.asarray(ab, dtype=np.float64).reshape(-1, 2)
        return self.origin + self.unit * (q[:, :1] * self.across + q[:, 1:] * self.down)

    def to_face(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) pixels -> (N, 2) face coordinates (the inverse of :meth:`to_image`)."""
        d = np.asarray(xy, dtype=np.float64).reshape(-1, 2) - self.origin
        return np.stack([d @ self.across, d @ self.down], axis=1) / self.unit

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Face coordinates (a, b) of every pixel centre, two (H, W) float32 arrays."""
        h, w = self.size
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        dx, dy = xs - np.float32(self.origin[0]), ys - np.float32(self.origin[1])
        u, v, s = self.across.astype(np.float32), self.down.astype(np.float32), np.float32(1.0 / self.unit)
        return (dx * u[0] + dy * u[1]) * s, (dx * v[0] + dy * v[1]) * s

    def box(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` (x1, y1 exclusive), clipped to the image: the rectangle from a = +-2.5 and
        b = -2.8 (over the crown) to 3.0 (under the chin) in face coordinates, made upright."""
        corners = self.to_image(
            np.array([[-BOX_A, BOX_TOP], [BOX_A, BOX_TOP], [BOX_A, BOX_BOTTOM], [-BOX_A, BOX_BOTTOM]])
        )
        h, w = self.size
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
        return max(0, min(w, int(x0))), max(0, min(h, int(y0))), max(0, min(w, int(x1))), max(0, min(h, int(y1)))

    def moved(self, da: float, db: float, scale: float) -> "FaceFrame":
        """The same face with its origin moved by (da, db) face units and its unit scaled: how an
        occluder sits a little higher, lower or larger on one face than on another."""
        origin = self.origin + self.unit * (da * self.across + db * self.down)
        return FaceFrame(self.points, origin, self.across, self.down, self.unit * scale, self.size)

    def box_mask(self) -> np.ndarray:
        """Boolean (H, W): True inside :meth:`box`."""
        m = np.zeros(self.size, dtype=bool)
        x0, y0, x1, y1 = self.box()
        m[y0:y1, x0:x1] = True
        return m


def face_frame(points: np.ndarray, size: tuple[int, int]) -> FaceFrame:
    """The :class:`FaceFrame` of 68 key points in an image of ``size`` (H, W).

    >>> from maskprivacy.faces.template_data import POINTS68, SIZE
    >>> f = face_frame(np.array(POINTS68), (SIZE, SIZE))
    >>> round(f.unit), np.round(f.to_face(np.array(POINTS68)[[8]]), 2).tolist()  # the chin
    (78, [[0.0, 1.77]])
    """
    p = check_points(points)
    h, w = int(size[0]), int(size[1])
    lim = FAR * max(h, w, 1)
    p = np.clip(p, -lim, lim + max(h, w))
    left, right = p[LEFT_EYE].mean(axis=0), p[RIGHT_EYE].mean(axis=0)
    d = right - left
    iod = float(np.hypot(*d))
    across = d / iod if iod > 1e-6 else np.array([1.0, 0.0])
    down = np.array([-across[1], across[0]])
    # A profile squeezes the eyes together; the jaw's span keeps the shapes face-sized.
    unit = max(iod, 0.3 * face_width(p), 1.0)
    return FaceFrame(p, (left + right) / 2, across, down, unit, (h, w))


def polygon_mask(frame: FaceFrame, ab: np.ndarray) -> np.ndarray:
    """Float32 (H, W) coverage in [0, 1] of a polygon given in face coordinates (anti-aliased edge)."""
    h, w = frame.size
    out = np.zeros((h, w), np.uint8)
    xy = frame.to_image(ab)
    lim = FAR * max(h, w, 1)
    q = np.round(np.clip(xy, -lim, lim) * 16).astype(np.int32)
    cv2.fillPoly(out, [q], 255, lineType=cv2.LINE_AA, shift=4)
    return out.astype(np.float32) * np.float32(1 / 255)


def ellipse_outline(center: tuple[float, float], axes: tuple[float, float], n: int = 48) -> np.ndarray:
    """(n, 2) points of an ellipse in face coordinates (``axes`` are the semi-axes)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([center[0] + axes[0] * np.cos(t), center[1] + axes[1] * np.sin(t)], axis=1)


def face_region(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Boolean (H, W): the face itself, the jaw line closed over the forehead (the brows raised by
    0.6 face units). What the image-level edits blur or pixelate, and the area against which "the
    fraction of the face hidden" is measured."""
    f = face_frame(points, size)
    jaw = f.to_face(f.points[0:17])
    brows = f.to_face(f.points[17:27])[::-1] - np.array([0.0, 0.6])
    hull = cv2.convexHull(np.round(f.to_image(np.vstack([jaw, brows])) * 16).astype(np.int32))
    out = np.zeros(f.size, np.uint8)
    cv2.fillConvexPoly(out, hull, 1, lineType=cv2.LINE_8, shift=4)
    return out > 0


__all__ = [
    "FaceFrame",
    "check_points",
    "ellipse_outline",
    "face_frame",
    "face_region",
    "polygon_mask",
]
