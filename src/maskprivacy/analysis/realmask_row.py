"""The "real masks" row of a protection table: every masked-face attacker of a run on labelled photos
of real masks, with the same photos given the digital mask and painted over as comparisons."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from maskprivacy.analysis.analyzer import get_analyzer
from maskprivacy.analysis.evaluate import accuracy_with_ci, auc_with_ci
from maskprivacy.analysis.framing import FRAMING_MEASURE, by_framing, framing_bounds
from maskprivacy.analysis.labelled_folder import EvalResult, evaluate_rows
from maskprivacy.analysis.mask_decision import mask_check_accuracy
from maskprivacy.bootstrap import LEVEL, N_RESAMPLES
from maskprivacy.data.labels import CLASS_NAMES
from maskprivacy.data.photo_labels import PHOTO_CLASS_TASKS, person_of, read_labels
from maskprivacy.layout import MASKED_FACE_CONDITIONS, RunLayout
from maskprivacy.privacy.ensemble import mean_combiner
from maskprivacy.training.runtime import family_roots


def attacker_folders(
    run: str | os.PathLike, split: str, detector: str = "auto"
) -> list[tuple[str, Path, Any, list[str]]]:
    """``(family, folder, analyzer, masked-face conditions)`` of every attacker family of the run that
    has a masked-face model: the CNN (``cnn``, the run itself) and each family trained in its own
    folder (``training.config.FAMILIES``, e.g. ``facenet`` in RUN/facenet/)."""
    out = []
    for family, folder in family_roots(run):
        if not any((RunLayout(folder).train / f"{c}_{split}").is_dir() for c in MASKED_FACE_CONDITIONS):
            continue
        try:
            probe = get_analyzer(folder, split, detector, chosen=False)
        except FileNotFoundError:
            continue
        conditions = [c for c in MASKED_FACE_CONDITIONS if c in probe.models.predictors]
        if conditions:
            out.append((family, folder, probe, conditions))
    return out


def mean_reading(results: list[EvalResult]) -> EvalResult:
    """Several attackers' readings of the same photos combined as the ensemble's unfitted ``mean``
    combiner combines them (privacy/ensemble.py): per photo, each class attribute's probabilities
    averaged and the most probable class predicted. Only photos every attacker read count; the others
    are ``not_found``. Nothing is fitted, so nothing is tuned to the photos it reads."""
    first = results[0]
    read = [{r["path"]: r for r in res.rows if r["found"] == 1} for res in results]
    common = [p for p in read[0] if all(p in d for d in read[1:])]
    rows = []
    for path in common:
        row = dict(read[0][path], model="mean of " + ", ".join(sorted({d[path]["model"] for d in read})))
        for task in PHOTO_CLASS_TASKS:
            cols = [f"{task}_prob_{n}" for n in CLASS_NAMES[task]]
            mean = mean_combiner([[d[path][c] if d[path][c] is not None else np.nan for c in cols] for d in read])
            row[task + "_pred"] = None if np.isnan(mean).any() else int(np.argmax(mean))
            row.update({c: None if np.isnan(v) else float(v) for c, v in zip(cols, mean)})
        ages = [d[path]["age_pred"] for d in read]
        row["age_pred"] = None if None in ages else float(mean_combiner(ages))
        rows.append(row)
    missing = sorted({r["path"] for res in results for r in res.rows} - set(common))
    return EvalResult(n=first.n, faces_found=len(common), metrics={}, not_found=missing, rows=rows)


MEMO_MAX_PHOTOS = 1000  # realmask_summary's memo of found faces (about 130 MB for 1000 one-face photos)


def realmask_summary(
    run: str | os.PathLike,
    images_dir: str | os.PathLike,
    labels_csv: str | os.PathLike,
    split: str = "uniform",
    detector: str = "auto",
    n_boot: int = N_RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
    progress: bool = False,
) -> dict[str, Any]:
    """The "real masks" row of a protection-by-style table: each masked-face attacker on real masks.

    The photos with ``masked=1`` are read as they are (told "already masked", so the mask check plays
    no part) by every masked-face attacker the run has: ``cnn_masked`` (paper-style, trained on the white
    type-a mask) and ``cnn_robust`` (trained on many mask styles) when present, and the same of every
    other attacker family (:func:`attacker_folders`: ``facenet_masked``, ``facenet_robust``). As a
    comparison, the same set's bare photos (``masked=0``) get the digital type-a mask and go to each
    family's paper-style attacker: ``cnn_masked_digital_a``, ``facenet_masked_digital_a``; and the real
    masks painted over with that mask (:mod:`maskprivacy.masking.cover`) go to it too:
    ``cnn_masked_covered``, ``facenet_masked_covered`` (what the real mask's look, rather than what it
    hides, costs the paper-style attacker). Per attacker: sex and race accuracy, balanced accuracy and 95% bootstrap
    intervals (people resampled when the names say who is who: :func:`accuracy_with_ci`), ``n``, and the
    same per framing bucket (``framing``: :func:`by_framing`; the buckets in words: ``framing_buckets``).

    A different population from UTKFace's test faces (here: South Asian adults photographed with their
    own masks), so the row must be read as such; ``population`` says it. ``mask_check``: how well the
    colour check and the run's mask detector tell the real masks from the bare photos
    (:func:`~maskprivacy.analysis.mask_decision.mask_check_accuracy`).
    """
    root = Path(images_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    errors: list[dict[str, str]] = []
    rows = read_labels(labels_csv, errors)
    real = [r for r in rows if r.masked is True]
    bare = [r for r in rows if r.masked is False]
    if not real:
        raise ValueError(f"{labels_csv}: no rows with masked=1 (real masks) to evaluate")
    folders = attacker_folders(run, split, detector)
    if not folders:
        raise FileNotFoundError(f"{run} has no masked-face attacker (masked_{split} or robust_{split})")
    people = {person_of(r.path) for r in rows}
    population = (
        f"realmask-dev: {len(real)} photos with real masks and {len(bare)} without, of "
        f"{len(people) if None not in people else 'unknown'} people (a different population from "
        f"UTKFace's test faces: read as its own row)"
    )
    attackers: dict[str, dict[str, Any]] = {}

    def entry(res: EvalResult, model: str, photos: str) -> dict[str, Any]:
        d: dict[str, Any] = {"model": model, "photos": photos}
        for task in PHOTO_CLASS_TASKS:
            if any(getattr(r, task) is not None for r in rows):
                d[task] = accuracy_with_ci(res.rows, task, n_boot, seed, level)
        if "sex" in d:
            d["sex"].update(auc_with_ci(res.rows, "sex", n_boot, seed, level))
        d["framing"] = by_framing(res.rows, n_boot, seed, level)
        d["n"] = res.faces_found
        d["not_found"] = len(res.not_found)
        return d

    robust: list[EvalResult] = []
    # Every attacker reads the same photos: find and align their faces once. The memo keeps each
    # photo's aligned faces (about 130 KB a face), so only sets up to MEMO_MAX_PHOTOS use it: memory stays
    # bounded on a large folder, which is then only slower.
    memo: dict | None = {} if len(real) + len(bare) <= MEMO_MAX_PHOTOS else None
    for family, folder, probe, conditions in folders:
        for c in conditions:
            an = get_analyzer(folder, split, detector, real_mask=c, chosen=False)
            res = evaluate_rows(root, real, an, None, progress=progress, memo=memo)
            attackers[f"{family}_{c}"] = entry(res, probe.models.name(c), "real masks (masked=1), as photographed")
            if c == "robust":
                robust.append(res)
        if "masked" in conditions:
            an = get_analyzer(folder, split, detector, real_mask="masked", cover=True, chosen=False)
            res = evaluate_rows(root, real, an, None, progress=progress, memo=memo)
            attackers[f"{family}_masked_covered"] = entry(
                res, probe.models.name("masked"), "real masks (masked=1) painted over with the white type-a mask"
            )
        if bare and "masked" in conditions:
            res = evaluate_rows(root, bare, probe, "a", "white", progress=progress, memo=memo)
            attackers[f"{family}_masked_digital_a"] = entry(
                res, probe.models.name("masked"), "bare photos (masked=0) with the digital white type-a mask"
            )
    if len(robust) > 1:  # the families' mask-robust attackers together: what the strongest robust reader reads
        res = mean_reading(robust)
        attackers["ensemble_robust"] = entry(
            res, f"mean of {len(robust)} mask-robust attackers", "real masks (masked=1), as photographed"
        )
    return {
        "population": population,
        "split": split,
        "ci_level": level,
        "n_boot": n_boot,
        "seed": seed,
        "attackers": attackers,
        "framing_buckets": {"measure": FRAMING_MEASURE, **framing_bounds()},
        "mask_check": mask_check_accuracy(root, rows, run, detector),
        "errors": errors,
    }
