"""MediaPipe FaceMesh's points above a mask (eyes, brows, nose bridge), to align faces behind real masks.

Why: a face behind a real mask hides the nose, mouth and jaw, so dlib's 68 points there are guesses,
and BlazeFace's six key points are regressed from a box that a mask changes (on real masked photos
its cut was often too large and too low: see docs/ANALYZE.md). FaceMesh (MediaPipe 0.10.14, model in
the wheel, nothing downloaded) places 468 points; those of the eyes, brows and nose bridge stay on
what is visible. They are mapped onto where FaceMesh puts the same points on UTKFace's own crops
wearing digital masks (``mesh_template_data.py``, written by ``scripts/make_mesh_template.py``).

FaceMesh runs its own BlazeFace first, which misses some masked faces in one framing and finds
them in another: :meth:`FaceMeshLocator.points` tries up to three views of the region around the
detection.
"""

from __future__ import annotations

import threading
import warnings

import cv2
import numpy as np

from maskprivacy.faces.detect import _quiet_stderr, mediapipe_available

# MediaPipe is imported when FaceMesh is built: it is optional and slow to load.

# FaceMesh indices above any mask: eye contours (16 + 16), brows (10 + 10), the nose bridge's top (3).
EYES = (
    33,
    7,
    163,
    144,
    145,
    153,
    154,
    155,
    133,
    173,
    157,
    158,
    159,
    160,
    161,
    246,
    362,
    382,
    381,
    380,
    374,
    373,
    390,
    249,
    263,
    466,
    388,
    387,
    386,
    385,
    384,
    398,
)
BROWS = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46, 300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
BRIDGE = (168, 6, 197)
UPPER = np.array(EYES + BROWS + BRIDGE)
# The eyes' outer and inner corners, image left to right (dlib 36, 39, 42, 45).
EYE_CORNERS = np.array([33, 133, 362, 263])
MESH_SIDE = 320


class FaceMeshLocator:
    """FaceMesh's 468 points (photo pixels) of the face at a detector's box, or None if it finds none."""

    def __init__(self, min_confidence: float = 0.3):
        with _quiet_stderr():
            from mediapipe.python.solutions import face_mesh

            self._fm = face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=3, refine_landmarks=False, min_detection_confidence=min_confidence
            )
            self._fm.process(np.zeros((64, 64, 3), np.uint8))
        self._lock = threading.Lock()  # a MediaPipe graph is not re-entrant

    def _run(self, rgb: np.ndarray) -> list[np.ndarray]:
        h, w = rgb.shape[:2]
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self._fm.process(np.ascontiguousarray(rgb))
        return [np.array([(p.x * w, p.y * h) for p in f.landmark]) for f in (res.multi_face_landmarks or [])]

    def points(self, rgb: np.ndarray, box: tuple[float, float, float, float] | None = None) -> np.ndarray | None:
        """FaceMesh's 468 points of the face at ``box`` (photo pixels), or None.

        FaceMesh's own detector misses some masked faces at one framing and finds them at another, so
        it gets up to three views, stopping at the first that finds the face: the region of three face
        widths around the box (clipped to the photo) reduced to ``MESH_SIDE`` px, a tighter region of
        two widths, and the first with a grey border (context for a face that fills the frame).
        """
        h, w = rgb.shape[:2]
        l, t, r, b = box if box is not None else (0, 0, w, h)
        side = max(r - l, b - t)
        cx, cy = (l + r) / 2, (t + b) / 2
        for reach, pad in ((1.5, False), (1.0, False), (1.5, True)):
            x0, y0 = int(max(0, cx - reach * side)), int(max(0, cy - reach * side))
            x1, y1 = int(min(w, cx + reach * side)), int(min(h, cy + reach * side))
            if x1 - x0 < 16 or y1 - y0 < 16:
                return None
            roi = rgb[y0:y1, x0:x1]
            k = min(1.0, MESH_SIDE / max(roi.shape[:2]))
            if k < 1.0:
                roi = cv2.resize(
                    roi,
                    (max(1, round(roi.shape[1] * k)), max(1, round(roi.shape[0] * k))),
                    interpolation=cv2.INTER_AREA,
                )
            g = max(roi.shape[:2]) // 4 if pad else 0
            if g:
                roi = cv2.copyMakeBorder(roi, g, g, g, g, cv2.BORDER_CONSTANT, value=(118, 118, 118))
            faces = [(f - g) / k + (x0, y0) for f in self._run(roi)]
            # the face whose eyes are nearest the box's centre, if they are within the box
            for f in sorted(faces, key=lambda f: np.hypot(*(f[EYE_CORNERS].mean(0) - (cx, cy))))[:1]:
                ex, ey = f[EYE_CORNERS].mean(0)
                if l <= ex <= r and t - 0.25 * side <= ey <= b:
                    return f
        return None


_MESH: FaceMeshLocator | None = None
_MESH_LOCK = threading.Lock()


def get_mesh() -> FaceMeshLocator | None:
    """A process-wide :class:`FaceMeshLocator`, or None when MediaPipe is not installed."""
    global _MESH
    with _MESH_LOCK:
        if _MESH is None and mediapipe_available():
            _MESH = FaceMeshLocator()
        return _MESH
