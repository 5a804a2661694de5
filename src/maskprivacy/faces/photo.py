"""From a photo to aligned faces: detect, align, decide "already masked", place the 68 points.

One job per step (``detect``, ``align``, ``maskcheck``); this module only sequences them:

1. every face is found (:mod:`.detect`) and cut roughly to UTKFace's geometry from its detector's
   key points (BlazeFace) or from dlib's 68 points (HOG/CNN box);
2. the 68 points are found on that crop as the masking stage found them on UTKFace, and a mask check
   says whether the lower face is covered, unless the caller knows: the run's trained detector when
   the caller passes one (``mask_check``; :mod:`maskprivacy.models.mask_classifier`), else the colour
   check (:mod:`.maskcheck`);
3. a bare face is re-cut from the original photo with all 68 points against the template; a masked
   one from FaceMesh's eye, brow and nose-bridge points against where FaceMesh puts them on UTKFace's
   digitally masked crops (:mod:`.mesh`), or, when FaceMesh finds no face (or MediaPipe is absent),
   from BlazeFace's key points against their masked template, refined by the 68 points above the mask;
4. on the final crop the 68 points are found again: they place the digital mask exactly as the
   masking stage placed it on the training faces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from maskprivacy.faces.align import (
    BLAZE6,
    BLAZE6_MASKED,
    BLAZE_USED,
    POINTS68,
    UPPER68,
    AlignedFace,
    beyond_frame_share,
    compose,
    crop_points68,
    similarity,
    warp,
)
from maskprivacy.faces.detect import Detection, get_detector, too_small
from maskprivacy.faces.landmarks import get_landmarker
from maskprivacy.faces.maskcheck import MASKED_BELOW, looks_masked
from maskprivacy.faces.mesh import UPPER, get_mesh
from maskprivacy.faces.mesh_template_data import MESH_UPPER_MASKED


@dataclass
class FoundFace:
    """One face of a photo, aligned, with whether it already wears a mask and why we think so."""

    detection: Detection
    aligned: AlignedFace
    already_masked: bool
    masked_reason: str  # "told by caller" or the mask check's evidence
    skin_share: float  # the colour check's lower-face skin share (computed always: cheap, and evidence)
    image_size: tuple[int, int]  # (width, height) of the photo
    mask_probability: float | None = None  # the trained detector's P(masked), when one decided

    @property
    def box(self) -> list[int]:
        """The detector's box in photo pixels, clipped to the photo (BlazeFace's may overhang it)."""
        w, h = self.image_size
        l, t, r, b = self.detection.box
        return [int(round(min(max(v, 0), lim))) for v, lim in ((l, w), (t, h), (r, w), (b, h))]

    @property
    def beyond_frame(self) -> float:
        """The share of the aligned crop that lies beyond the photo (:func:`~.align.beyond_frame_share`):
        how tight a close-up the face is, which the attackers' readings depend on."""
        return beyond_frame_share(self.aligned.matrix, self.image_size)


def _initial_matrix(rgb: np.ndarray, det: Detection, landmarker) -> np.ndarray:
    """A first cut: from BlazeFace's key points, or from dlib's 68 points in the detector's box."""
    if det.keypoints is not None:
        return similarity(det.keypoints[BLAZE_USED], BLAZE6[BLAZE_USED])
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    box = tuple(int(round(v)) for v in det.box)
    pts = landmarker.points(gray, box)
    return similarity(pts, POINTS68)


def first_cut(rgb: np.ndarray, det: Detection) -> np.ndarray:
    """The rough 200-px cut of a detected face on which the mask checks decide (before any re-cut)."""
    return warp(rgb, _initial_matrix(rgb, det, get_landmarker("fast")))


MASKED_ALIGNERS = ("auto", "facemesh", "blazeface")

#: A trained masked-or-bare check: the 200-px first cut -> (masked?, P(masked)).
MaskCheck = Callable[[np.ndarray], tuple[bool, float]]


def align_face(
    rgb: np.ndarray,
    det: Detection,
    already_masked: bool | None = None,
    masked_aligner: str = "auto",
    mask_check: MaskCheck | None = None,
) -> FoundFace:
    """Align one detected face and decide whether it already wears a mask.

    ``masked_aligner`` (faces behind a mask): ``auto`` = FaceMesh's points above the mask when it finds
    the face, else BlazeFace + dlib's upper points; ``facemesh`` / ``blazeface`` force one (to compare).
    ``mask_check``: decides when the caller does not say (``already_masked`` None); None: the colour check.
    """
    if masked_aligner not in MASKED_ALIGNERS:
        raise ValueError(f"masked_aligner must be one of {', '.join(MASKED_ALIGNERS)}, got {masked_aligner!r}")
    lm = get_landmarker("fast")
    m0 = _initial_matrix(rgb, det, lm)
    crop0 = warp(rgb, m0)  # the first cut, as :func:`first_cut` makes it
    pts0 = crop_points68(crop0, lm)
    masked_guess, share = looks_masked(crop0)
    prob = None
    if already_masked is None and mask_check is not None:
        masked, prob = mask_check(crop0)
        reason = (
            f"the run's mask detector reads the lower face as {'covered' if masked else 'bare'} (P(masked) {prob:.2f})"
        )
    elif already_masked is None:
        masked = masked_guess
        reason = (
            f"{share:.0%} of the lower face has the skin colour of the brow area "
            f"({'below' if masked else 'at or above'} the {MASKED_BELOW:.0%} threshold)"
        )
    else:
        masked = bool(already_masked)
        reason = "told by caller"
    mesh_pts = None
    if masked and masked_aligner != "blazeface":
        locator = get_mesh()
        mesh_pts = locator.points(rgb, det.box) if locator is not None else None
    if mesh_pts is not None:
        m = similarity(mesh_pts[UPPER], np.array(MESH_UPPER_MASKED))
        how = "facemesh upper points"
    elif masked:
        # BlazeFace sees a masked face smaller than a bare one: its masked template puts it back,
        # then one fit of the points above the mask refines it (more rounds drift: see docs/ANALYZE.md).
        if det.keypoints is not None:
            m0 = similarity(det.keypoints[BLAZE_USED], BLAZE6_MASKED[BLAZE_USED])
            pts0 = crop_points68(warp(rgb, m0), lm)
        m = compose(similarity(pts0[UPPER68], POINTS68[UPPER68]), m0)
        how = "upper 68 points"
    else:
        m = compose(similarity(pts0, POINTS68), m0)
        how = "68 points"
    crop = warp(rgb, m)
    pts = crop_points68(crop, lm)
    return FoundFace(det, AlignedFace(crop, m, how, pts), masked, reason, share, (rgb.shape[1], rgb.shape[0]), prob)


# Faces analysed per photo, largest first: each costs an alignment and two model readings, so a
# crowd photo is capped. The answer says so (``FaceList.notes``): a face is never dropped silently.
MAX_FACES = 20


class FaceList(list):
    """The faces of a photo (a list of :class:`FoundFace`), plus ``n_detected`` and ``notes``.

    ``notes`` says why faces may be missing: the photo is too small for one, or more than
    ``max_faces`` were found and only the largest were analysed.
    """

    def __init__(self, faces: list[FoundFace], n_detected: int, notes: list[str]):
        super().__init__(faces)
        self.n_detected = n_detected
        self.notes = notes


def find_faces(
    rgb: np.ndarray,
    already_masked: bool | None = None,
    detector: str = "auto",
    max_faces: int | None = None,
    mask_check: MaskCheck | None = None,
) -> FaceList:
    """Every face of an RGB photo (largest first, at most ``max_faces``, default ``MAX_FACES``), aligned;
    ``mask_check`` as in :func:`align_face`."""
    max_faces = MAX_FACES if max_faces is None else max_faces
    small = too_small(*rgb.shape[:2])
    dets = [] if small else get_detector(detector).detect(rgb)
    notes = [small] if small else []
    if len(dets) > max_faces:
        notes.append(f"{len(dets)} faces found, the {max_faces} largest analysed")
    faces = [align_face(rgb, d, already_masked, mask_check=mask_check) for d in dets[:max_faces]]
    return FaceList(faces, len(dets), notes)
