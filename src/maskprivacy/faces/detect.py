"""Finding faces in ordinary photos, including faces that wear real masks.

dlib's HOG detector (the one the masking stage uses) finds about 10% of faces behind real masks
(../shared/FINDINGS.md), so a photo analyser built on it alone would silently skip the very faces it is
about. MediaPipe 0.10.14's BlazeFace finds about 95% of them and ships its model inside the wheel
(nothing is downloaded), so it is the primary detector when installed:

* ``blazeface``: BlazeFace short range on the whole image, plus overlapping tiles on large photos
  (its input is 128 px, so a face that is 20% of a 1024-px photo is only ~25 px to it). It gives a
  box and six key points (eyes, nose tip, mouth centre, ear tragions) that place even a masked face.
* ``dlib``: HOG (no up-sampling, then one), then dlib's MMOD CNN when HOG finds nothing (finds ~45%
  of masked faces, seconds a face on a CPU). Used when MediaPipe is absent, and as the fallback when
  BlazeFace finds nothing.

``auto`` picks ``blazeface`` when MediaPipe imports, else ``dlib``.

Every intermediate array is bounded in pixels, not in the photo's longest side: any photo within
the decoder's pixel limit (a 30000x1000 strip included) is searched without building an array much
larger than itself, and images too small or too thin to hold a face (``too_small``) are answered
"no face" before any detector sees them (dlib's CNN and OpenCV's resize fail on them).
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import sys
import threading
import warnings
import weakref
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import cv2
import numpy as np

from maskprivacy.faces.model_files import CNN_DETECTOR, model_path

# MediaPipe and dlib are imported where a detector is built: each is slow to load, MediaPipe is
# optional, and a process that uses one detector never needs the other.

BACKENDS = ("auto", "blazeface", "dlib")
# BlazeFace key point order (the subject's right eye is on the image's left).
BLAZE_KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear")
MIN_FACE_PX = 24  # smaller faces carry too little for a 200-px crop; they are ignored
# BlazeFace's input is 128 px: its whole-image pass and its padded retry see a copy no larger than
# this (the retry adds a quarter of the side on every side: at most 1536x1536 = 2.4 MP).
BLAZE_WHOLE_SIDE = 1024
# dlib's HOG pyramid costs a few bytes per pixel: it runs on a copy of at most this many pixels.
HOG_MAX_PIXELS = 8_000_000
# The MMOD CNN costs ~seconds per 300k pixels; it runs on a copy of at most this many (area, not side:
# a 30000x1000 strip keeps 100 rows, not 21).
CNN_MAX_PIXELS = 640 * 480
# dlib's CNN fails on inputs of a few pixels ("Filter windows must be small enough"), and its smallest
# face is ~40 px even with one up-sampling: a thinner copy is not searched.
CNN_MIN_SIDE = 40


def too_small(h: int, w: int) -> str | None:
    """Why an h x w image cannot hold a face worth reading, or None when it can."""
    if min(h, w) < MIN_FACE_PX:
        return (
            f"the image is {w}x{h} px: too small or too thin for a face "
            f"(a face needs at least {MIN_FACE_PX} px each way)"
        )
    return None


def shrink(img: np.ndarray, k: float) -> np.ndarray:
    """``img`` scaled by ``k`` <= 1 with area averaging (no side below 1 px)."""
    if k >= 1.0:
        return img
    h, w = img.shape[:2]
    return cv2.resize(img, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)


def _scaled(d: "Detection", k: float, pad: int = 0) -> "Detection":
    """A detection found on a copy scaled by ``k`` and padded by ``pad``, in the original's pixels."""
    kp = None if d.keypoints is None else (d.keypoints - pad) / k
    return Detection(tuple((v - pad) / k for v in d.box), d.score, d.source, kp)


@dataclass
class Detection:
    """A face in image pixels: box (left, top, right, bottom), score, optional BlazeFace key points."""

    box: tuple[float, float, float, float]
    score: float
    source: str  # "blazeface", "hog" or "cnn"
    keypoints: np.ndarray | None = field(default=None, repr=False)  # (6, 2) float, BLAZE_KEYPOINTS order

    @property
    def size(self) -> float:
        l, t, r, b = self.box
        return max(0.0, min(r - l, b - t))


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (l, t, r, b) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def overlap_small(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box's area (a part of a face inside the whole face gives ~1)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / small if small > 0 else 0.0


def nms(dets: list[Detection], threshold: float = 0.3, contained: float = 0.6) -> list[Detection]:
    """Keep the highest-scoring of overlapping detections (tiles see the same face twice)."""
    kept: list[Detection] = []
    for d in sorted(dets, key=lambda d: d.score, reverse=True):
        if all(iou(d.box, k.box) < threshold and overlap_small(d.box, k.box) < contained for k in kept):
            kept.append(d)
    return kept


def mediapipe_available() -> bool:
    try:
        import mediapipe.python.solutions.face_detection  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "not usable"
        return False
    return True


def tiles(h: int, w: int, side: int, overlap: float = 0.3) -> list[tuple[int, int, int, int]]:
    """Square tiles (x0, y0, x1, y1) of ``side`` px, evenly spaced, overlapping by at least ``overlap``."""

    def starts(n: int) -> list[int]:
        if n <= side:
            return [0]
        k = int(np.ceil((n - side) / (side * (1 - overlap)))) + 1
        return [int(round(v)) for v in np.linspace(0, n - side, k)]

    return [(x, y, min(w, x + side), min(h, y + side)) for y in starts(h) for x in starts(w)]


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C++ log lines (written to file descriptor 2) and MediaPipe's protobuf deprecation warning."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*SymbolDatabase.GetPrototype.*")
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class BlazeFaceDetector:
    """MediaPipe BlazeFace (short range) on the image and, for large photos, on tiles."""

    TILE_ABOVE = 480  # photos larger than this (max side) are also searched tile by tile

    def __init__(self, min_confidence: float = 0.5):
        with _quiet_stderr():  # TFLite and absl print start-up chatter straight to fd 2
            from mediapipe.python.solutions import face_detection

            self._fd = face_detection.FaceDetection(model_selection=0, min_detection_confidence=min_confidence)
            self._fd.process(np.zeros((64, 64, 3), np.uint8))  # the chatter comes with the first frame
        self._lock = threading.Lock()  # a MediaPipe graph is not re-entrant

    def _run(self, rgb: np.ndarray, ox: int = 0, oy: int = 0) -> list[Detection]:
        h, w = rgb.shape[:2]
        with self._lock, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*SymbolDatabase.GetPrototype.*")
            res = self._fd.process(np.ascontiguousarray(rgb))
        out = []
        for d in res.detections or []:
            rb = d.location_data.relative_bounding_box
            box = (ox + rb.xmin * w, oy + rb.ymin * h, ox + (rb.xmin + rb.width) * w, oy + (rb.ymin + rb.height) * h)
            kp = np.array([(ox + k.x * w, oy + k.y * h) for k in d.location_data.relative_keypoints], np.float64)
            out.append(Detection(box, float(d.score[0]), "blazeface", kp if len(kp) == 6 else None))
        return out

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        # The whole-image pass: BlazeFace resizes to 128 px anyway, so a copy of at most
        # BLAZE_WHOLE_SIDE loses nothing and keeps MediaPipe's own copies small.
        k = min(1.0, BLAZE_WHOLE_SIDE / max(h, w))
        small = shrink(rgb, k)
        dets = [_scaled(d, k) for d in self._run(small)]
        # A face that fills the whole frame (a tight crop, a selfie, a close-up in profile) is often
        # missed: BlazeFace expects some context, and on a masked close-up it may box an ear or the
        # forehead instead (realmask-dev: the first cut then holds no face; docs/ANALYZE.md). A grey
        # border, a quarter of the side, gives it context. Always run, not only when the plain
        # pass found nothing: NMS keeps one box per face, and the largest face is read first.
        # It pads the small copy, never the photo: the padded array is at most 1536x1536.
        pad = max(small.shape[:2]) // 4
        padded = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(118, 118, 118))
        dets += [_scaled(d, k, pad) for d in self._run(padded) if d.keypoints is not None]
        if max(h, w) > self.TILE_ABOVE:
            side = max(256, int(0.6 * min(h, w)))  # 1024x768: 6 tiles of 460 px
            for x0, y0, x1, y1 in tiles(h, w, side):
                m = 0.02 * side  # a face cut by an inner tile edge is seen whole by a neighbour tile
                dets += [
                    d
                    for d in self._run(rgb[y0:y1, x0:x1], x0, y0)
                    if (d.box[0] > x0 + m or x0 == 0)
                    and (d.box[1] > y0 + m or y0 == 0)
                    and (d.box[2] < x1 - m or x1 == w)
                    and (d.box[3] < y1 - m or y1 == h)
                ]
        return nms(dets)


_CHILD_CNN = None  # the CNN of the child process that runs it for an isolated DlibDetector


def _load_cnn():
    import dlib

    return dlib.cnn_face_detection_model_v1(str(model_path(CNN_DETECTOR)))


def _cnn_boxes(cnn, rgb: np.ndarray, upsample: int) -> list[tuple[int, int, int, int, float]]:
    return [
        (d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom(), float(d.confidence)) for d in cnn(rgb, upsample)
    ]


def _cnn_in_child(rgb: np.ndarray, upsample: int) -> list[tuple[int, int, int, int, float]]:
    """Runs in the child process of an isolated :class:`DlibDetector` (loads the CNN once there)."""
    global _CHILD_CNN
    if _CHILD_CNN is None:
        _CHILD_CNN = _load_cnn()
    return _cnn_boxes(_CHILD_CNN, rgb, upsample)


_ISOLATED: "weakref.WeakSet[DlibDetector]" = weakref.WeakSet()


@atexit.register
def _close_cnn_children() -> None:
    """Shut the CNN child processes down while the interpreter is still whole: a pool left for the
    interpreter's teardown is collected after ``multiprocessing`` is gone and prints a traceback."""
    for det in list(_ISOLATED):
        pool, det._pool = det._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class DlibDetector:
    """dlib HOG (0 then 1 up-sampling), then the MMOD CNN when HOG finds nothing.

    dlib's Python bindings hold the GIL while they run: the CNN's few seconds would freeze every
    other thread of the process, a web server's event loop included. :meth:`isolate_cnn` moves the
    CNN into one child process (the web service does this; its input is at most ``CNN_MAX_PIXELS``,
    under 1 MB to send), which also keeps a crash inside dlib from taking the server down.
    """

    CNN_SIDE = 640  # the CNN costs ~seconds; it runs on a copy no larger than this

    def __init__(self, use_cnn: bool = True):
        import dlib

        self._dlib = dlib
        self._hog = dlib.get_frontal_face_detector()
        self._cnn = None
        self.use_cnn = use_cnn
        self._lock = threading.Lock()
        self._pool = None  # a one-process pool when isolated

    def isolate_cnn(self) -> None:
        """Run the CNN in a child process from now on (started now, in the background)."""
        with self._lock:
            if self._pool is None:
                self._pool = self._start_pool()
                _ISOLATED.add(self)

    @staticmethod
    def _start_pool():
        # spawn, not fork: the server has threads (a forked child could inherit a held lock)
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        pool.submit(_cnn_in_child, np.zeros((CNN_MIN_SIDE, CNN_MIN_SIDE, 3), np.uint8), 0)  # load it now
        return pool

    def _run_cnn(self, rgb: np.ndarray, upsample: int) -> list[tuple[int, int, int, int, float]]:
        if self._pool is None:
            if self._cnn is None:
                self._cnn = _load_cnn()
            return _cnn_boxes(self._cnn, rgb, upsample)
        for attempt in (0, 1):
            try:
                return self._pool.submit(_cnn_in_child, rgb, upsample).result()
            except BrokenProcessPool:  # the child died inside dlib: one new child, then give up
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._start_pool()
        raise RuntimeError("the CNN face detector's process died twice on this image")

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        kh = min(1.0, float(np.sqrt(HOG_MAX_PIXELS / (h * w))))
        gray = cv2.cvtColor(shrink(rgb, kh), cv2.COLOR_RGB2GRAY)
        with self._lock:
            for up in (0, 1):
                if up and max(gray.shape) > 1600:
                    break  # up-sampling a big photo costs seconds for faces HOG can see anyway
                rects, scores, _ = self._hog.run(gray, up, 0.0)
                if len(rects):
                    return nms(
                        [
                            _scaled(Detection((r.left(), r.top(), r.right(), r.bottom()), float(s), "hog"), kh)
                            for r, s in zip(rects, scores)
                        ]
                    )
            if not self.use_cnn:
                return []
            k = min(1.0, self.CNN_SIDE / max(h, w))
            if min(h, w) * k < 2 * CNN_MIN_SIDE:
                # A long strip: bound the copy by area instead, so it keeps enough rows for a face.
                k = min(1.0, float(np.sqrt(CNN_MAX_PIXELS / (h * w))))
            small = shrink(rgb, k)
            if min(small.shape[:2]) < CNN_MIN_SIDE:
                return []
            found = self._run_cnn(small, 1 if max(small.shape[:2]) < 400 else 0)
        return nms([_scaled(Detection((l, t, r, b), conf, "cnn"), k) for l, t, r, b, conf in found])


class FaceDetector:
    """Every face of a photo, largest first, from the best available detector."""

    def __init__(self, backend: str = "auto", use_cnn: bool = True):
        if backend not in BACKENDS:
            raise ValueError(f"detector must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if backend == "auto":
            backend = "blazeface" if mediapipe_available() else "dlib"
        if backend == "blazeface" and not mediapipe_available():
            raise ValueError("the blazeface detector needs mediapipe==0.10.14 (pip install -e .)")
        self.backend = backend
        self._blaze = BlazeFaceDetector() if backend == "blazeface" else None
        self._dlib = DlibDetector(use_cnn=use_cnn)

    def isolate_cnn(self) -> None:
        """dlib's CNN in a child process from now on (see :class:`DlibDetector`): for servers."""
        self._dlib.isolate_cnn()

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        if too_small(*rgb.shape[:2]):
            return []  # see too_small(): no detector is asked about a 1x1 or 20000x1 image
        dets = self._blaze.detect(rgb) if self._blaze is not None else []
        if not dets:
            dets = self._dlib.detect(rgb)
        h, w = rgb.shape[:2]
        out = []
        for d in dets:
            l, t, r, b = d.box
            if d.size >= MIN_FACE_PX and r > 0 and b > 0 and l < w and t < h:
                out.append(d)
        return sorted(out, key=lambda d: d.size, reverse=True)


_CACHE: dict[tuple[str, bool], FaceDetector] = {}
_CACHE_LOCK = threading.Lock()


def get_detector(backend: str = "auto", use_cnn: bool = True) -> FaceDetector:
    """A process-wide :class:`FaceDetector` (loading the models takes about a second)."""
    with _CACHE_LOCK:
        if (backend, use_cnn) not in _CACHE:
            _CACHE[(backend, use_cnn)] = FaceDetector(backend, use_cnn)
        return _CACHE[(backend, use_cnn)]
