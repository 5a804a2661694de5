"""How well each mask check tells a real mask from a bare face, on photos labelled ``masked`` 0/1.

The decision routes every unlabelled face: a face behind a real mask goes to the mask-robust attacker,
a bare one to the bare-face attacker and a digital mask. Both checks are measured on the same first
cut of the largest face, as ``analyze`` runs them: the colour check (:mod:`maskprivacy.faces.maskcheck`)
and, when the run has one, its trained detector (:mod:`maskprivacy.models.mask_classifier`). Nothing here
is fitted to the photos: the thresholds are the package's.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from maskprivacy.data.imageio import ImageError, read_image_in
from maskprivacy.faces.detect import get_detector
from maskprivacy.faces.maskcheck import looks_masked
from maskprivacy.faces.photo import first_cut
from maskprivacy.layout import RunLayout
from maskprivacy.models.mask_classifier import load_mask_detector
from maskprivacy.training.metrics import classification_metrics

CHECK_NAMES = {"colour": "colour check (faces/maskcheck.py)", "detector": "the run's mask detector"}


def _metrics(truth: list[int], guess: list[int]) -> dict[str, Any]:
    m = classification_metrics(np.array(truth, np.int64), np.array(guess, np.int64), ("bare", "masked"))
    return {k: m[k] for k in ("accuracy", "balanced_accuracy", "per_class", "confusion", "support")}


def decision_counts(m: dict[str, Any]) -> str:
    """A check's confusion matrix (rows: labelled bare, masked) in words, for every printout of it."""
    (bare_ok, bare_wrong), (masked_wrong, masked_ok) = m["confusion"]
    return (
        f"bare photos read as bare {bare_ok} of {bare_ok + bare_wrong}, "
        f"masks found {masked_ok} of {masked_ok + masked_wrong}"
    )


def mask_check_accuracy(
    root: str | os.PathLike, rows: Sequence[Any], run: str | os.PathLike | None, detector: str = "auto"
) -> dict[str, Any]:
    """{check: accuracy, balanced and per-class accuracy, confusion (rows: label bare/masked)} over the
    labelled photos (``rows`` with ``path`` and ``masked`` True/False) whose face was found; ``n_photos``,
    ``not_found`` and ``errors`` (unreadable photos) say what was left out and why."""
    path = RunLayout.of(run).mask_detector if run is not None else None
    det_model = load_mask_detector(path) if path is not None and path.is_file() else None
    det = get_detector(detector)
    truth: list[int] = []
    guesses: dict[str, list[int]] = {"colour": []} | ({"detector": []} if det_model is not None else {})
    not_found = 0
    errors: list[dict[str, str]] = []
    labelled = [r for r in rows if r.masked is not None]
    for r in labelled:
        try:
            rgb = read_image_in(root, r.path)
        except (OSError, ImageError) as e:
            errors.append({"path": r.path, "reason": str(e)})
            continue
        found = det.detect(rgb)
        if not found:
            not_found += 1
            continue
        crop0 = first_cut(rgb, found[0])
        truth.append(int(r.masked))
        guesses["colour"].append(int(looks_masked(crop0)[0]))
        if det_model is not None:
            guesses["detector"].append(int(det_model.check(crop0)[0]))
    out: dict[str, Any] = {
        "n_photos": len(labelled),
        "not_found": not_found,
        "errors": errors,
        "checks": {k: {"what": CHECK_NAMES[k], **_metrics(truth, g)} for k, g in guesses.items()} if truth else {},
    }
    return out
