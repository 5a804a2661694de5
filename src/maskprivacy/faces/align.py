"""Cutting any face to UTKFace's aligned 200x200 geometry, so models trained there transfer.

The geometry is measured, not guessed (``template_data.py``, written by
``scripts/make_align_template.py``): the mean dlib 68 key points of the whole archive, and the mean
BlazeFace key points on the same crops, bare and digitally masked. A face is mapped onto it by a
similarity transform (rotation, uniform scale, shift: ``cv2.estimateAffinePartial2D``), never a
free affine, so faces are not sheared into a shape the models never saw.

Which key points place the face:

* bare faces: all 68 dlib points (the most stable fit, and the same points UTKFace's masks use);
* faces behind a real mask, whose lower 68 points are guesses: BlazeFace's eyes, nose tip and mouth
  centre against their masked template, or, without BlazeFace, dlib's brow, eye and nose-bridge
  points (``UPPER68``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskprivacy.faces import template_data as T

SIZE = T.SIZE
POINTS68 = np.array(T.POINTS68, dtype=np.float64)
BLAZE6 = np.array(T.BLAZE6, dtype=np.float64)
BLAZE6_MASKED = np.array(T.BLAZE6_MASKED, dtype=np.float64)
HOG_BOX = tuple(int(round(v)) for v in T.HOG_BOX)
# Brows, nose bridge and eyes: above any mask.
UPPER68 = np.r_[17:31, 36:48]
# BlazeFace points used for alignment: eyes, nose tip, mouth centre (ears vanish in profile).
BLAZE_USED = np.arange(4)


@dataclass
class AlignedFace:
    """A face cut to UTKFace's geometry: ``crop`` (200x200x3 RGB), ``matrix`` (2x3, image -> crop)."""

    crop: np.ndarray
    matrix: np.ndarray
    method: str  # which points placed it: "68 points", "upper 68 points", "blazeface key points"
    points68: np.ndarray | None = None  # (68, 2) int32 in crop pixels, as the masking stage finds them


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 similarity transform that best maps ``src`` points onto ``dst`` (least squares).

    ``cv2.estimateAffinePartial2D`` with LMEDS ignores a few wild points (a 68-point fit on a
    turned head); with fewer than 5 points, or if it fails, a plain least-squares (Umeyama) fit.
    """
    src = np.asarray(src, np.float64).reshape(-1, 2)
    dst = np.asarray(dst, np.float64).reshape(-1, 2)
    if len(src) >= 5:
        m, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
        if m is not None and np.isfinite(m).all():
            return m.astype(np.float64)
    return _umeyama(src, dst)


def _umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var = (s**2).sum() / len(src)
    if var <= 1e-12:
        raise ValueError("cannot align: the key points coincide")
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    e = np.diag([1.0, 1.0 if np.linalg.det(u @ vt) > 0 else -1.0])
    r = u @ e @ vt
    c = float(np.trace(np.diag(sig) @ e)) / var
    m = np.zeros((2, 3))
    m[:, :2] = c * r
    m[:, 2] = mu_d - c * r @ mu_s
    return m


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """2x3 matrix of ``outer`` applied after ``inner``."""
    a = np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]])
    return a[:2]


def transform_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    p = np.asarray(points, np.float64).reshape(-1, 2)
    return p @ m[:, :2].T + m[:, 2]


def scale_of(m: np.ndarray) -> float:
    return float(np.sqrt(abs(np.linalg.det(m[:, :2]))))


def warp(rgb: np.ndarray, m: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Cut the ``size`` x ``size`` crop that ``m`` maps the image onto.

    Shrinking a large face by more than 2x in one bilinear warp aliases (it reads one pixel in
    four); the face's neighbourhood is first reduced with area averaging, then warped.
    """
    s = scale_of(m)
    if s < 0.5:
        inv = cv2.invertAffineTransform(m)
        corners = transform_points(np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64), inv)
        h, w = rgb.shape[:2]
        pad = 4 / s
        x0 = int(max(0, np.floor(corners[:, 0].min() - pad)))
        y0 = int(max(0, np.floor(corners[:, 1].min() - pad)))
        x1 = int(min(w, np.ceil(corners[:, 0].max() + pad)))
        y1 = int(min(h, np.ceil(corners[:, 1].max() + pad)))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            k = min(1.0, 2 * s)  # leave a final bilinear step of at most 2x
            roi = rgb[y0:y1, x0:x1]
            small = cv2.resize(
                roi, (max(1, round(roi.shape[1] * k)), max(1, round(roi.shape[0] * k))), interpolation=cv2.INTER_AREA
            )
            kx, ky = small.shape[1] / roi.shape[1], small.shape[0] / roi.shape[0]
            # crop pixel = m @ image pixel; image pixel = (small pixel / k) + offset
            to_img = np.array([[1 / kx, 0, x0], [0, 1 / ky, y0]], np.float64)
            return cv2.warpAffine(
                small, compose(m, to_img), (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
    return cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


# How tight a photo is around a face, from :func:`beyond_frame_share`, in three buckets: ``none`` below
# FRAMING_SOME, ``most`` from FRAMING_MOST on, ``some`` between. FRAMING_MOST: dlib's face box on the
# template (HOG_BOX, 174 px square) leaves about a quarter of the crop around it, so from 25% on the photo shows no more than the
# face's own box: no hair, no head outline (a close-up selfie). FRAMING_SOME: a 10-px strip along one side
# of the 200-px crop; UTKFace's own crops, re-aligned, mostly stay under it (alignment jitter), so
# ``none`` means as much in frame as the attackers were trained on. Set from the geometry, not from readings.
FRAMING_SOME = 0.05
FRAMING_MOST = 0.25
FRAMINGS = ("none", "some", "most")


def framing_of(share: float) -> str:
    """The framing bucket (:data:`FRAMINGS`) of a :func:`beyond_frame_share`."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"a share beyond the frame lies in 0..1, got {share!r}")
    return "none" if share < FRAMING_SOME else "most" if share >= FRAMING_MOST else "some"


def beyond_frame_share(matrix: np.ndarray, image_size: tuple[int, int], size: int = SIZE) -> float:
    """The share (0-1) of the ``size`` x ``size`` crop that ``matrix`` (image -> crop) fills from beyond the
    photo's borders, where :func:`warp` only repeats the edge pixels: how tight the photo is around the face.

    Why it matters: UTKFace's crops, on which every attacker learned, show the hair and the head's
    outline; a close-up that ends at the forehead and the chin leaves that part of the crop empty, and
    behind a real mask little face is left. Equal to 1 - the mean of an all-ones photo warped with
    ``matrix`` and a zero border, but computed from where each crop pixel's centre falls (no photo-sized
    array). ``image_size`` is (width, height).
    """
    w, h = image_size
    inv = cv2.invertAffineTransform(np.asarray(matrix, np.float64))
    g = np.arange(size, dtype=np.float64)
    xs, ys = np.meshgrid(g, g)
    sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    inside = (sx >= -0.5) & (sx < w - 0.5) & (sy >= -0.5) & (sy < h - 0.5)  # pixel areas, centres at integers
    return float(1.0 - inside.mean())


def resize_crop(crop: np.ndarray, side: int | None) -> np.ndarray:
    """A square face crop at ``side`` px (None or already that side: unchanged), resized as the training
    cache resizes its faces: area averaging when shrinking, bilinear when enlarging. Every reader of a
    cached-size model (the attackers, the mask detector) goes through this, so it sees the cache's pixels."""
    if side is None or crop.shape[:2] == (side, side):
        return crop
    interp = cv2.INTER_AREA if crop.shape[0] >= side else cv2.INTER_LINEAR
    return cv2.resize(crop, (side, side), interpolation=interp)


def crop_points68(crop: np.ndarray, landmarker, detect: bool = False) -> np.ndarray:
    """The 68 points of an aligned crop, placed as the masking stage placed UTKFace's.

    On UTKFace's crops the masking stage's HOG returned the same box for over 75% of faces (its
    median, ``HOG_BOX``), so on a crop already aligned to that geometry the predictor is placed on
    ``HOG_BOX`` directly: same points, without a detector pass, and it also
    works behind a mask, where HOG finds nothing. ``detect=True`` runs HOG first anyway.
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    box = HOG_BOX
    if detect:
        boxes = landmarker.detect(gray)
        if boxes and _plausible(boxes[0]):
            box = boxes[0]
    return landmarker.points(gray, box)


def _plausible(box: tuple[int, int, int, int]) -> bool:
    """A HOG box on an aligned crop must be roughly where UTKFace's are (not a face in the background)."""
    l, t, r, b = box
    cx, cy, side = (l + r) / 2, (t + b) / 2, (r - l)
    hl, ht, hr, hb = HOG_BOX
    return abs(cx - (hl + hr) / 2) < 30 and abs(cy - (ht + hb) / 2) < 30 and 0.6 < side / (hr - hl) < 1.5


def points_error(points: np.ndarray, idx: np.ndarray | slice = slice(None)) -> float:
    """Mean distance (crop pixels) between points and the template's: how far a crop is from UTKFace's."""
    return float(np.linalg.norm(np.asarray(points, np.float64)[idx] - POINTS68[idx], axis=1).mean())
