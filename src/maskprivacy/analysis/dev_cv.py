"""Cross-validated figures on realmask-dev: each photo read by the fold model that never saw its person.

With ``real.dev_folds`` the real-mask attacker a run ships learnt from every realmask-dev person
(``training/dev_folds.py``), so its own reading of those photos measures nothing. The figure the
realmask row reports instead is out-of-fold: each dev photo is read by the fold model trained without
its person's fold, and the readings of all folds are pooled into one set of rows, scored like any
other reading (:func:`~maskprivacy.analysis.evaluate.accuracy_with_ci`, :func:`auc_with_ci`: people
resampled, since a person's photos are not independent; :func:`~maskprivacy.analysis.framing.by_framing`).
A fold model whose training record names a person of its own fold is refused: the figure would be a
leak, not a reading.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from maskprivacy.analysis.evaluate import accuracy_with_ci, auc_with_ci, resampling_units, weighted_auc
from maskprivacy.analysis.framing import by_framing
from maskprivacy.analysis.labelled_folder import write_predictions_csv
from maskprivacy.bootstrap import LEVEL, N_RESAMPLES, percentile_interval, resample_counts
from maskprivacy.data.photo_labels import PHOTO_CLASS_TASKS
from maskprivacy.faces.align import resize_crop
from maskprivacy.layout import REAL, AttackerFolder, RunLayout
from maskprivacy.models.predictor import Predictor
from maskprivacy.tasks import CLASS_NAMES
from maskprivacy.training.dev_folds import people_seen
from maskprivacy.training.real_photos import load_real_photos
from maskprivacy.training.runtime import family_roots


def read_photos(model: str | os.PathLike, photos: Any, rows: np.ndarray, name: str) -> list[dict[str, Any]]:
    """One evaluate-style row per photo ``rows`` of ``photos`` (:class:`RealPhotos`) as ``model`` reads its
    aligned crop (resized to the model's training side, as the reader of real masks sees it)."""
    pred = Predictor.load(model, device="cpu")
    side = pred.info.get("cache_size")
    rows = np.asarray(rows, np.int64)
    if len(rows) == 0:
        return []
    faces = np.stack([resize_crop(np.asarray(photos.crops[i]), int(side) if side else None) for i in rows])
    out = pred.predict(faces)
    res = []
    for j, i in enumerate(rows):
        r: dict[str, Any] = {
            "path": photos.paths[i],
            "found": 1,
            "already_masked": 1,
            "masked_label": 1,
            "model": name,
            "beyond_frame": None if photos.beyond_frame is None else float(photos.beyond_frame[i]),
            "sex_true": int(photos.sex[i]) if photos.sex[i] >= 0 else None,
            "race_true": int(photos.race[i]) if photos.race[i] >= 0 else None,
        }
        for t in PHOTO_CLASS_TASKS:  # what a real photo is labelled with
            p = out[t][j]
            r[f"{t}_pred"] = int(p.argmax())
            r.update({f"{t}_prob_{n}": float(v) for n, v in zip(CLASS_NAMES[t], p)})
        res.append(r)
    return res


def out_of_fold_rows(root: str | os.PathLike, dev: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every dev photo read by its fold's model (``root``/real_folds/, folds.json), in dev's order."""
    layout = RunLayout.of(root)
    folds = json.loads(layout.folds_json.read_text())
    fold_of = {p["path"]: int(p["fold"]) for p in folds["photos"]}
    missing = [p for p in dev.paths if p not in fold_of]
    if missing:
        raise ValueError(f"{layout.folds_json} has no fold for {len(missing)} dev photos (e.g. {missing[0]}): retrain")
    fold = np.array([fold_of[p] for p in dev.paths])
    rows: list[dict[str, Any] | None] = [None] * len(dev)
    for f in range(int(folds["k"])):
        idx = np.flatnonzero(fold == f)
        model = layout.real_fold(f).model
        leak = sorted(people_seen(model) & {dev.person[i] for i in idx})
        if leak:
            raise ValueError(f"{model} was trained on people of its own fold ({', '.join(leak[:5])}): not a figure")
        for i, r in zip(idx, read_photos(model, dev, idx, f"{model.parent.name}")):
            rows[i] = r
    return [r for r in rows if r is not None], folds


def cv_entry(
    rows: list[dict[str, Any]], folds: dict[str, Any], n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, Any]:
    """A realmask.json attacker entry from out-of-fold rows (the shape
    :func:`~maskprivacy.analysis.realmask_row.realmask_summary` writes)."""
    d: dict[str, Any] = {
        "model": f"{folds['k']} fold models (person-disjoint), pooled out of fold",
        "photos": "real masks (masked=1), aligned once; each read by the fold model that never saw its person",
        "cross_validated": {
            "k": int(folds["k"]),
            "people": len({p["person"] for p in folds["photos"]}),
            "what": "out-of-fold: every figure on a dev photo comes from a model trained without that person",
        },
    }
    for task in PHOTO_CLASS_TASKS:
        if any(r[f"{task}_true"] is not None for r in rows):
            d[task] = accuracy_with_ci(rows, task, n_boot, seed, level)
    if "sex" in d:
        d["sex"].update(auc_with_ci(rows, "sex", n_boot, seed, level))
    d["framing"] = by_framing(rows, n_boot, seed, level)
    d["n"] = len(rows)
    d["not_found"] = 0
    return d


def cross_validated_rows(
    d: dict[str, Any], run: str | os.PathLike, cfg: dict, n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, Any]:
    """Replace each family's ``<family>_real`` entry of realmask.json's content ``d`` (the shipped model,
    which saw these people) with its cross-validated entry, and write each family's out-of-fold
    predictions beside its fold models. A family whose real-mask attacker saw dev people but has no fold
    models loses its entry (listed under ``left_out``): no figure is better than a leaked one."""
    dev = load_real_photos(RunLayout.of(run).real_dev)
    for family, root in family_roots(run):
        key = f"{family}_real"
        if RunLayout.of(root).folds_json.is_file():
            rows, folds = out_of_fold_rows(root, dev)
            write_predictions_csv(RunLayout.of(root).oof_predictions, rows)
            d["attackers"][key] = cv_entry(rows, folds, n_boot, seed, level)
            # the masked photos whose face was not found, or that could not be read, as realmask_summary counts them
            d["attackers"][key]["not_found"] = sum(
                v for k, v in (dev.meta.get("status") or {}).items() if k not in ("ok", "not_masked")
            )
        elif key in d["attackers"] and _saw_dev(Path(root), dev):
            d["attackers"].pop(key)
            d.setdefault("left_out", []).append(f"{key}: trained on these people, and no fold models to read them")
    d["cross_validated"] = (
        f"realmask-dev is also training data here (real.dev_folds = {cfg['real'].get('dev_folds')}): the real-mask "
        "attackers' rows are out-of-fold readings, each photo by a model that never saw its person"
    )
    return d


def _saw_dev(root: Path, dev: Any) -> bool:
    people = set(p for p in dev.person if p)
    return any(people & people_seen(AttackerFolder(d).model) for d in RunLayout(root).train.glob(f"{REAL}_*"))


def paired_difference(
    a: list[dict[str, Any]], b: list[dict[str, Any]], n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, Any]:
    """``b`` minus ``a`` (two readings of the same photos, same order) in sex balanced accuracy and AUC,
    with a paired bootstrap interval over people (or the photos' ``group`` key, else photos) and the
    share of resamples where the difference is not above 0 (a one-sided bootstrap p)."""
    keep = [i for i, r in enumerate(a) if r["sex_true"] is not None]
    if [a[i]["path"] for i in keep] != [b[i]["path"] for i in keep]:
        raise ValueError("paired readings must list the same photos in the same order")
    y = np.array([a[i]["sex_true"] for i in keep])
    keys, index, _ = resampling_units([a[i] for i in keep])
    g = np.array([index[k] for k in keys])

    def stats(rows: list[dict[str, Any]], w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pred = np.array([rows[i]["sex_pred"] for i in keep])
        score = np.array([rows[i]["sex_prob_female"] for i in keep])
        hit = (pred == y).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN where a resample lacks a class
            rec = [(w[:, y == c] * hit[y == c]).sum(1) / w[:, y == c].sum(1) for c in (0, 1)]
            return (rec[0] + rec[1]) / 2, weighted_auc(y, score, w)

    one = np.ones((1, len(keep)))
    (ba, auca), (bb, aucb) = stats(a, one), stats(b, one)
    diffs_bal, diffs_auc = [], []
    for _, c in resample_counts(len(index), n_boot, seed):
        w = c[:, g].astype(float)
        (x0, u0), (x1, u1) = stats(a, w), stats(b, w)
        diffs_bal.append(x1 - x0)
        diffs_auc.append(u1 - u0)
    db, du = np.concatenate(diffs_bal), np.concatenate(diffs_auc)
    return {
        "balanced_accuracy": float(bb[0] - ba[0]),
        "balanced_ci": percentile_interval(db, level),
        "balanced_p": float(np.mean(db[np.isfinite(db)] <= 0)),
        "auc": float(aucb[0] - auca[0]),
        "auc_ci": percentile_interval(du, level),
        "auc_p": float(np.mean(du[np.isfinite(du)] <= 0)),
        "units": len(index),
    }
