"""Face localisation (dlib HOG) and the 68 key points (dlib shape predictor).

Two detection recipes:

* ``paper``: HOG on the full image with one up-sampling, as the paper's code did.
* ``fast`` (default): UTKFace crops are aligned, so the face fills the frame; on such crops HOG
  runs on a copy shrunk to 100 px without up-sampling (a fraction of the cost), falling back to
  the full image and then to one up-sampling when that finds nothing. Other images are searched at
  full resolution (then with one up-sampling). The 68 points are always predicted on the full-resolution
  image. ``scripts/bench_mask.py`` measures how far its key points are from the paper recipe's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskprivacy.faces.model_files import SHAPE_68, model_path

# dlib is imported when a Landmarker is built: it is slow to load, and importing this module
# (for its constants and types) should not.

DETECTORS = ("fast", "paper")
FAST_SIDE = 100
# The shrunken pass only suits aligned crops, where the face fills the frame; bigger or oblong
# images (photos, several faces) are searched at full resolution.
CROP_MAX_SIDE = 320
DETECT_MAX_SIDE = 1600
# HOG's window is 80 px (40 px with one up-sampling): a thinner image holds no face it can find, and
# shrinking a 20000x1 strip to DETECT_MAX_SIDE would leave no row at all.
MIN_SIDE = 24


@dataclass(frozen=True)
class Face:
    """One detected face: box (left, top, right, bottom) in image pixels and 68 (x, y) points."""

    box: tuple[int, int, int, int]
    points: np.ndarray  # (68, 2) int32

    @property
    def area(self) -> int:
        l, t, r, b = self.box
        return max(0, r - l) * max(0, b - t)


class Landmarker:
    """dlib detector + 68-point predictor, loaded once per process (they are not picklable)."""

    def __init__(self, detector: str = "fast"):
        import dlib

        if detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
        self.mode = detector
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = None  # loaded on first use: the batch masker may never need it (~1 s, 100 MB)

    def detect(self, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes in ``gray`` (uint8 HxW) as (left, top, right, bottom), largest first.

        Photos larger than ``DETECT_MAX_SIDE`` are searched on a shrunken copy: HOG time grows with
        the pixel count, and faces in such photos are far bigger than HOG's 80-px window anyway.
        """
        h, w = gray.shape[:2]
        if min(h, w) < MIN_SIDE:
            return []
        if max(h, w) > DETECT_MAX_SIDE:
            k = max(h, w) / DETECT_MAX_SIDE
            if min(h, w) / k < MIN_SIDE:
                return []  # a long strip: at the size HOG would search it, too thin for a face
            small = cv2.resize(gray, (round(w / k), round(h / k)), interpolation=cv2.INTER_AREA)
            return [tuple(round(v * k) for v in b) for b in self.detect(small)]  # type: ignore[misc]
        boxes: list[tuple[int, int, int, int]] = []
        if self.mode == "fast":
            if FAST_SIDE < max(h, w) <= CROP_MAX_SIDE and 0.8 <= h / w <= 1.25:
                k = max(h, w) / FAST_SIDE
                small = cv2.resize(gray, (max(1, round(w / k)), max(1, round(h / k))), interpolation=cv2.INTER_AREA)
                boxes = [
                    (round(r.left() * k), round(r.top() * k), round(r.right() * k), round(r.bottom() * k))
                    for r in self._detector(small, 0)
                ]
            if not boxes:
                boxes = self._boxes(gray, 0)
        if not boxes:
            boxes = self._boxes(gray, 1)
        return sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)

    def _boxes(self, gray: np.ndarray, upsample: int) -> list[tuple[int, int, int, int]]:
        return [(r.left(), r.top(), r.right(), r.bottom()) for r in self._detector(gray, upsample)]

    def points(self, gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The 68 key points (dlib's 0-based order) inside ``box``, as an int32 (68, 2) array."""
        if self._predictor is None:
            self._predictor = self._dlib.shape_predictor(str(model_path(SHAPE_68)))
        shape = self._predictor(gray, self._dlib.rectangle(*box))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.int32)

    def faces(self, rgb_or_gray: np.ndarray) -> list[Face]:
        """All faces of an image, largest first, each with its 68 points."""
        gray = rgb_or_gray if rgb_or_gray.ndim == 2 else cv2.cvtColor(rgb_or_gray, cv2.COLOR_RGB2GRAY)
        return [Face(box, self.points(gray, box)) for box in self.detect(gray)]


_CACHE: dict[str, Landmarker] = {}


def get_landmarker(detector: str = "fast") -> Landmarker:
    """A process-wide :class:`Landmarker` (the 100 MB predictor is loaded once)."""
    if detector not in _CACHE:
        _CACHE[detector] = Landmarker(detector)
    return _CACHE[detector]
