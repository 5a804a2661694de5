"""Does a face already wear a mask? A colour heuristic on the aligned crop.

Why a heuristic: a face behind a real mask must go to the models trained on masked faces, and must
not get a second, digital mask. No mask classifier can be downloaded here, and one trained only on
our digital masks would learn their shapes. The cue used is simple and explainable: on an aligned
crop, the skin between the eyebrows (the glabella, above any mask) is compared with the lower face
(mouth, chin and lower cheeks, from the template's 68 points). If few lower-face pixels have the
glabella's colour, something covers the lower face.

Calibrated by ``scripts/check_faces.py`` on UTKFace crops with digital masks of every style (the
threshold that is best on one half of the faces, checked on the other), and measured on real masked
photos, never tuned to them, by ``scripts/check_realmask.py`` (both in docs/ANALYZE.md). Known failure
modes, seen on real photos: glasses or a fringe over the glabella, dark masks on faces in shadow and
greyscale photos (read as bare); turned heads, whose lower-face region then holds background, thick
beards, strong shadows or face paint (read as masked); skin-coloured masks (read as bare). Callers
can always say what they know (``already_masked=True/False``) instead.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskprivacy.faces.align import POINTS68, SIZE

# Regions in the 200x200 template geometry.
GLABELLA = (slice(38, 56), slice(88, 109))  # rows, cols: between the brows, above the nose bridge
_LOWER_IDX = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 35, 33, 31]  # jaw 3..13 and under the nose
LOWER = np.zeros((SIZE, SIZE), np.uint8)
cv2.fillPoly(LOWER, [np.round(POINTS68[_LOWER_IDX]).astype(np.int32)], 1)
LOWER_BOOL = LOWER.astype(bool)
# Colour distance in Lab with lightness down-weighted (the lower face is often in shadow).
LIGHTNESS_WEIGHT = 0.3
SKIN_DELTA_E = 15.0
# Below this share of skin-coloured lower-face pixels, the face is read as masked
# (chosen by scripts/check_faces.py on UTKFace faces with digital masks; see docs/ANALYZE.md).
MASKED_BELOW = 0.22


def lower_face_skin_share(crop: np.ndarray) -> float:
    """Share of lower-face pixels whose colour is within ``SKIN_DELTA_E`` of the glabella's (0..1)."""
    if crop.shape[:2] != (SIZE, SIZE):
        crop = cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).astype(np.float32)
    ref = np.median(lab[GLABELLA].reshape(-1, 3), axis=0)
    low = lab[LOWER_BOOL]
    w = np.array([LIGHTNESS_WEIGHT, 1.0, 1.0], np.float32)
    d = np.linalg.norm((low - ref) * w, axis=1)
    return float((d < SKIN_DELTA_E).mean())


def looks_masked(crop: np.ndarray, threshold: float = MASKED_BELOW) -> tuple[bool, float]:
    """(masked?, skin share) for an aligned crop."""
    share = lower_face_skin_share(crop)
    return share < threshold, share
