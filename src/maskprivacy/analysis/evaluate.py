"""``evaluate``: a run's models on any labelled folder of photos (not only UTKFace).

labels.csv columns: ``path`` (relative to the images folder), ``sex`` (0 male, 1 female), ``race``
(UTKFace codes 0-4), ``age`` (years), optional ``masked`` (0/1: the photo already shows a real mask).
Any label may be blank; metrics are computed for whatever labels exist. One face is read per photo
(the largest). Photos whose face is not found, or that cannot be read, are counted and listed, never
silently dropped.

Which model reads a face is :func:`maskprivacy.analysis.analyzer.reader_for`'s rule, as in ``analyze``:
with ``mask_style=None`` a bare face goes to the unmasked-face attacker and a face marked ``masked=1``
as it is to the mask-robust attacker when the run has one (else the paper-style masked-face one);
with a style, bare faces get that digital mask and go to the paper-style masked-face attacker. Where
``masked`` is blank, the mask check decides (the run's trained detector, else the colour check).

What a researcher needs from a skewed set (the dev set has 22 women in 311 photos): per class task
(sex, race, and the age bucket from the true age) accuracy, balanced accuracy, per-class accuracy,
the confusion matrix and the count of each class, computed by the training stage's own
:func:`maskprivacy.training.metrics.classification_metrics`; for sex also the ROC AUC (a reading that
ranks women above men but shifts every real-mask photo towards "male" fails at the 0.5 threshold, and
AUC tells the two apart); the same figures per framing bucket (:func:`by_framing`: how much of the aligned
crop lies beyond the photo, since a tight close-up with a real mask is read much worse than a photo with
hair and head outline in frame); and, with ``predictions=``, one CSV row per photo to recompute anything else.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from maskprivacy.atomic import replacing
from maskprivacy.bootstrap import (
    LEVEL,
    N_RESAMPLES,
    cluster_totals,
    percentile_interval,
    resample_counts,
    resampled_means,
)
from maskprivacy.data.labels import CLASS_NAMES, age_to_bucket
from maskprivacy.data.photo_labels import (  # noqa: F401 (re-exported)
    LABEL_COLUMNS,
    PHOTO_CLASS_TASKS,
    LabelRow,
    person_of,
    read_labels,
)
from maskprivacy.faces.align import FRAMING_MOST, FRAMING_SOME, FRAMINGS, framing_of
from maskprivacy.privacy.ensemble import mean_combiner


@dataclass
class EvalResult:
    n: int
    faces_found: int
    metrics: dict[str, dict[str, Any]]
    not_found: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)  # unreadable photos and bad label rows
    models: dict[str, int] = field(default_factory=dict)  # model name -> faces it read
    already_masked: dict[str, int] = field(default_factory=dict)  # {"yes": n, "no": n} over the faces found
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)  # one per photo (predictions CSV)
    # with a ``masked`` column: how well each masked-or-bare check does on these photos (mask_decision.py)
    mask_check: dict[str, Any] | None = None
    framing: dict[str, Any] | None = None  # the figures per framing bucket (framing_block)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "n": self.n,
            "faces_found": self.faces_found,
            **self.metrics,
            "models": self.models,
            "already_masked": self.already_masked,
            "not_found": self.not_found,
            "errors": self.errors,
        }
        if self.mask_check is not None:
            d["mask_check"] = self.mask_check
        if self.framing is not None:
            d["framing"] = self.framing
        return d


def _batches(rows: list[LabelRow], size: int) -> Iterator[list[LabelRow]]:
    for s in range(0, len(rows), size):
        yield rows[s : s + size]


def _photo_row(
    r: LabelRow,
    found: bool | None,
    reading: dict[str, Any] | None = None,
    already_masked: bool | None = None,
    error: str = "",
    beyond_frame: float | None = None,
) -> dict[str, Any]:
    """One row of the predictions CSV: the photo, its labels, what was found and what the model read."""
    row: dict[str, Any] = {
        "path": r.path,
        "found": "" if found is None else int(found),
        "already_masked": "" if already_masked is None else int(already_masked),
        "beyond_frame": beyond_frame,  # share of the aligned crop beyond the photo (faces.align.beyond_frame_share)
        "model": (reading or {}).get("model", ""),
        "sex_true": r.sex,
        "race_true": r.race,
        "age_true": r.age,
        "masked_label": None if r.masked is None else int(r.masked),
    }
    for t, names in CLASS_NAMES.items():
        rd = (reading or {}).get(t) or {}
        row[f"{t}_pred"] = rd.get("index")
        probs = rd.get("probabilities") or {}
        for n in names:
            row[f"{t}_prob_{n}"] = probs.get(n)
    row["age_pred"] = ((reading or {}).get("age") or {}).get("years")
    row["error"] = error
    return row


PREDICTION_COLUMNS = tuple(_photo_row(LabelRow("", None, None, None, None), None))


def write_predictions_csv(path: str | os.PathLike, rows: list[dict[str, Any]]) -> Path:
    """One row per photo (:data:`PREDICTION_COLUMNS`); blanks for what is unknown; written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, PREDICTION_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow(
                {
                    c: ("" if r.get(c) is None else (f"{r[c]:.6g}" if isinstance(r[c], float) else r[c]))
                    for c in PREDICTION_COLUMNS
                }
            )
    return path


def metrics_from_rows(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per task metrics over the photos whose face was read and whose label is known.

    ``sex``, ``race``: :func:`~maskprivacy.training.metrics.classification_metrics` (accuracy,
    balanced accuracy, per-class accuracy, confusion matrix with rows = true class, support = count
    per true class) plus ``n`` and ``predicted`` (count per predicted class); ``age_bucket``: the
    same from the true age's bucket (7 buckets); ``age``: MAE and RMSE in years. A task appears when
    any row has its label; its metrics are None when no labelled face was read.
    """
    from maskprivacy.training.metrics import age_metrics, classification_metrics

    out: dict[str, dict[str, Any]] = {}
    read = [r for r in rows if r["found"] == 1 and r["model"]]
    for task, truth in (("sex", "sex_true"), ("race", "race_true"), ("age_bucket", "age_true")):
        if not any(r[truth] is not None for r in rows):
            continue
        pairs = [(r[truth], r[f"{task}_pred"]) for r in read if r[truth] is not None and r[f"{task}_pred"] is not None]
        names = CLASS_NAMES[task]
        y = np.array([age_to_bucket(t) if task == "age_bucket" else t for t, _ in pairs], np.int64)
        p = np.array([q for _, q in pairs], np.int64)
        m = classification_metrics(y, p, names)
        m["n"] = len(pairs)
        m["predicted"] = {n: int((p == i).sum()) for i, n in enumerate(names)}
        if len(names) == 2:  # threshold-free: how well the probabilities rank the classes (auc_with_ci)
            m["auc"] = auc_with_ci(rows, task, n_boot=0)["auc"]
        out[task] = m
    if any(r["age_true"] is not None for r in rows):
        pairs = [
            (r["age_true"], r["age_pred"]) for r in read if r["age_true"] is not None and r["age_pred"] is not None
        ]
        out["age"] = {
            **age_metrics(np.array([a for a, _ in pairs], float), np.array([b for _, b in pairs], float)),
            "n": len(pairs),
        }
    return out


def evaluate(
    images: str | os.PathLike,
    labels: str | os.PathLike,
    model: str | os.PathLike,
    mask_style: str | None = None,
    mask_color: str = "white",
    split: str = "uniform",
    detector: str = "auto",
    progress: bool = False,
    batch_size: int = 16,
    tta: bool | None = None,
    real_mask: str = "auto",
    predictions: str | os.PathLike | None = None,
    cover: bool = False,
    mask_check: str = "auto",
) -> EvalResult:
    """Accuracy, balanced and per-class accuracy, confusion matrices (sex, race, age bucket) and age
    MAE of a run's models on a labelled folder of photos.

    ``real_mask``: which attacker reads faces that already wear a mask (``auto``: the mask-robust
    one when the run has it; ``masked``; ``robust``). ``cover``: paint the paper's mask over real masks
    first (:mod:`maskprivacy.masking.cover`). ``predictions``: also write one CSV row per photo there
    (:data:`PREDICTION_COLUMNS`). ``mask_check``: who decides "already masked" for rows without a
    ``masked`` value (:data:`~maskprivacy.analysis.analyzer.MASK_CHECKS`). When some rows have a
    ``masked`` value, the result's ``mask_check`` also says how well each check (the colour check and
    the run's detector) tells those photos apart (:func:`~maskprivacy.analysis.mask_decision.mask_check_accuracy`).
    ``framing``: the sex and race figures per framing bucket (:func:`framing_block`).
    """
    from maskprivacy.analysis.analyzer import get_analyzer
    from maskprivacy.analysis.mask_decision import mask_check_accuracy

    root = Path(images)
    if not root.is_dir():
        raise FileNotFoundError(f"--images {root}: no such folder")
    errors: list[dict[str, str]] = []
    rows = read_labels(labels, errors)
    analyzer = get_analyzer(model, split, detector, tta, real_mask, cover, mask_check)
    res = evaluate_rows(root, rows, analyzer, mask_style, mask_color, progress, batch_size)
    res.framing = framing_block(res.rows)
    res.n += len(errors)
    res.errors = errors + res.errors
    if any(r.masked is not None for r in rows):
        res.mask_check = mask_check_accuracy(root, rows, model, detector)
    if predictions is not None:
        write_predictions_csv(predictions, res.rows)
    return res


def evaluate_rows(
    root: Path,
    rows: list[LabelRow],
    analyzer,
    mask_style: str | None = None,
    mask_color: str = "white",
    progress: bool = False,
    batch_size: int = 16,
    memo: dict | None = None,
) -> EvalResult:
    """:func:`evaluate` on rows already read, with an :class:`~maskprivacy.analysis.analyzer.Analyzer`;
    ``memo``: as in :meth:`~maskprivacy.analysis.analyzer.Analyzer.analyze_batch` (faces found once
    across calls on the same photos)."""
    from tqdm import tqdm

    from maskprivacy.data.imageio import ImageError, read_image_in

    style = None if mask_style in (None, "none") else mask_style
    errors: list[dict[str, str]] = []
    not_found: list[str] = []
    out_rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(rows), unit="photo", disable=not progress, desc="evaluate")
    for batch in _batches(rows, batch_size):
        ok: list[tuple[LabelRow, np.ndarray]] = []
        for r in batch:
            try:
                ok.append((r, read_image_in(root, r.path)))
            except (ImageError, OSError) as e:
                errors.append({"path": r.path, "reason": str(e)})
                out_rows.append(_photo_row(r, None, error=str(e)))
        results = (
            analyzer.analyze_batch([a for _, a in ok], style, mask_color, [r.masked for r, _ in ok], memo=memo)
            if ok
            else []
        )
        for (r, _), res in zip(ok, results):
            if not res.faces:
                not_found.append(r.path)
                out_rows.append(_photo_row(r, False, error="no face found"))
                continue
            f = res.faces[0]
            reading = f.masked if (style and not f.already_masked) else f.as_is
            out_rows.append(
                _photo_row(
                    r,
                    True,
                    reading,
                    f.already_masked,
                    "" if reading is not None else "no model for this face",
                    f.beyond_frame,
                )
            )
        bar.update(len(batch))
    bar.close()
    order = {r.path: i for i, r in enumerate(rows)}
    out_rows.sort(key=lambda d: order.get(d["path"], -1))
    models: dict[str, int] = {}
    for d in out_rows:
        if d["model"]:
            models[d["model"]] = models.get(d["model"], 0) + 1
    found = [d for d in out_rows if d["found"] == 1]
    masked_counts = {
        "yes": sum(d["already_masked"] == 1 for d in found),
        "no": sum(d["already_masked"] == 0 for d in found),
    }
    return EvalResult(
        n=len(rows),
        faces_found=len(found),
        metrics=metrics_from_rows(out_rows),
        not_found=not_found,
        errors=errors,
        models=models,
        already_masked=masked_counts,
        rows=out_rows,
    )


# ---------------------------------------------------------------- the "real masks" row of a protection table


def resampling_units(read: list[dict[str, Any]]) -> tuple[list[str], dict[str, int], bool]:
    """What a bootstrap of these rows resamples: people when every path names its person
    (:func:`person_of`; photos of one person are not independent), else photos. Returns each row's
    unit, the units' indices in first-seen order, and whether the units are people."""
    persons = [person_of(r["path"]) for r in read]
    by_person = all(persons)
    keys = [p for p in persons if p] if by_person else [r["path"] for r in read]
    return keys, {k: i for i, k in enumerate(dict.fromkeys(keys))}, by_person


def accuracy_with_ci(
    rows: list[dict[str, Any]], task: str, n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, Any]:
    """Accuracy and balanced accuracy of ``task`` over the read rows, with bootstrap intervals.

    Photos of one person are not independent (realmask-dev has 2-3 photos per person and condition),
    so when every path names its person (:func:`person_of`) people are resampled, not photos: the
    interval then reflects how many people were seen. Each resample uses the same people for both
    figures (:func:`maskprivacy.bootstrap.cluster_totals` per person, then
    :func:`~maskprivacy.bootstrap.resampled_means` of the totals; a ratio of means is a ratio of sums). Percentile intervals at ``level``; ``ci`` is the accuracy's, ``balanced_ci`` the
    balanced accuracy's.
    """
    names = CLASS_NAMES[task]
    truth = f"{task}_true"
    read = [r for r in rows if r["found"] == 1 and r[truth] is not None and r[f"{task}_pred"] is not None]
    if not read:
        return {
            "accuracy": None,
            "balanced_accuracy": None,
            "ci": [None, None],
            "balanced_ci": [None, None],
            "n": 0,
            "resampled": None,
        }
    keys, index, by_person = resampling_units(read)
    k = len(names)
    y = np.array([int(r[truth]) for r in read])
    hit = np.array([float(r[truth] == r[f"{task}_pred"]) for r in read])
    onehot = (y[:, None] == np.arange(k)[None, :]).astype(float)
    # per unit (first-seen order, as ``index``): photos, hits, then per class: photos, hits
    sums, _ = cluster_totals(np.column_stack([np.ones(len(read)), hit, onehot, hit[:, None] * onehot]), keys)

    present = sums[:, 2 : 2 + k].sum(0) > 0  # classes with photos; a resample that lacks one skips it

    def figures(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Accuracy and balanced accuracy from (summed or mean) columns; works on one row or many."""
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = m[..., 1] / m[..., 0]
            recall = m[..., 2 + k :][..., present] / m[..., 2 : 2 + k][..., present]
            return acc, np.nanmean(recall, axis=-1)

    total = sums.sum(0)
    acc, bal = figures(total)
    b_acc, b_bal = figures(resampled_means(sums, n_boot=n_boot, seed=seed))
    # Per class: how many photos (and, when names say who is who, people) it has and its accuracy;
    # on a skewed set (realmask-dev: 5 women behind masks) balanced accuracy hangs on a few people.
    per_class: dict[str, dict[str, Any]] = {}
    for c, name in enumerate(names):
        if total[2 + c] > 0:
            per_class[name] = {"accuracy": float(total[2 + k + c] / total[2 + c]), "photos": int(total[2 + c])}
            if by_person:
                per_class[name]["people"] = int((sums[:, 2 + c] > 0).sum())
    return {
        "accuracy": float(acc),
        "balanced_accuracy": float(bal),
        "ci": percentile_interval(b_acc, level),
        "balanced_ci": percentile_interval(b_bal, level),
        "per_class": per_class,
        "n": len(read),
        "resampled": f"{len(index)} {'people' if by_person else 'photos'}",
    }


def weighted_auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC of two-class labels ``y`` (1 positive) and ``score``, once per row of ``weights``
    (resamples x photos: how often each photo was drawn). Ties count half, as in scikit-learn's
    ``roc_auc_score``; NaN where a resample has no positive or no negative photo.

    The Mann-Whitney count with weights, all resamples at once: per distinct score, the negatives'
    weight below it (a cumulative sum) and at it, summed over the positives (O(resamples x photos)).
    """
    y = np.asarray(y).astype(bool)
    w = np.atleast_2d(np.asarray(weights, float))
    levels, level = np.unique(np.asarray(score, float), return_inverse=True)
    neg = np.zeros((w.shape[0], len(levels)))
    np.add.at(neg.T, level[~y], w[:, ~y].T)  # negatives' weight per score level
    below = np.cumsum(neg, axis=1) - neg
    wins = below[:, level[y]] + 0.5 * neg[:, level[y]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w[:, y] * wins).sum(1) / (w[:, y].sum(1) * w[:, ~y].sum(1))


def auc_with_ci(
    rows: list[dict[str, Any]], task: str = "sex", n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, Any]:
    """ROC AUC of a two-class ``task`` from the rows' probability of its second class, with a
    bootstrap interval (people resampled when every path names its person, as :func:`accuracy_with_ci`).

    Why beside accuracy: accuracy and balanced accuracy read the attacker at its 0.5 threshold, so a
    reading that separates women from men but shifts every real-mask photo towards "male" scores low
    there. AUC says how well it ranks them whatever the threshold, i.e. what an adversary who moves
    the threshold with a few labelled photos of its own would read. ``auc`` is None when the read rows
    lack either class or the probabilities.
    """
    names = CLASS_NAMES[task]
    if len(names) != 2:
        raise ValueError(f"AUC needs a two-class task, {task!r} has {len(names)} classes")
    truth, col = f"{task}_true", f"{task}_prob_{names[1]}"
    read = [r for r in rows if r["found"] == 1 and r[truth] is not None and r.get(col) is not None]
    y = np.array([int(r[truth]) for r in read], np.int64)
    if len(set(y.tolist())) < 2:
        return {"auc": None, "auc_ci": [None, None]}
    score = np.array([float(r[col]) for r in read])
    keys, index, _ = resampling_units(read)
    group = np.array([index[k] for k in keys])
    auc = float(weighted_auc(y, score, np.ones((1, len(y))))[0])
    if n_boot <= 0:
        return {"auc": auc, "auc_ci": [None, None]}
    # the resamples of accuracy_with_ci (the same seed draws the same people), as counts per person
    boot = np.concatenate([weighted_auc(y, score, c[:, group]) for _, c in resample_counts(len(index), n_boot, seed)])
    return {"auc": auc, "auc_ci": percentile_interval(boot, level)}


def per_class_text(per_class: dict[str, dict[str, Any]], fmt: Callable[[float], str]) -> str:
    """``per_class`` of :func:`accuracy_with_ci` in words, e.g. ``male 87.3% of 142 photos / 50 people;
    female 63.6% of 11 photos / 5 people``: on a skewed set, how few people a balanced figure rests on."""

    def one(name: str, pc: dict[str, Any]) -> str:
        n = pc.get("people")
        who = f" / {n} {'person' if n == 1 else 'people'}" if n is not None else ""
        return f"{name} {fmt(pc['accuracy'])} of {pc['photos']} photos{who}"

    return "; ".join(one(name, pc) for name, pc in per_class.items())


# ---------------------------------------------------------------- framing: how tight each photo is


#: What ``beyond_frame`` measures, in words (the JSON blocks carry it beside the buckets).
FRAMING_MEASURE = "share of the aligned face crop that lies beyond the photo's borders"


def framing_bounds() -> dict[str, str]:
    """The framing buckets in words, from the one definition (:data:`maskprivacy.faces.align.FRAMINGS`)."""
    return {
        "none": f"under {FRAMING_SOME:.0%}",
        "some": f"{FRAMING_SOME:.0%} to {FRAMING_MOST:.0%}",
        "most": f"{FRAMING_MOST:.0%} or more, a close-up: no more than the face in frame",
    }


def by_framing(
    rows: list[dict[str, Any]], n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, dict[str, Any]]:
    """The read rows' sex and race figures per framing bucket (:func:`~maskprivacy.faces.align.framing_of`
    of each row's ``beyond_frame``), every bucket present even when empty.

    Why: the attackers learned on UTKFace crops with hair and head outline in frame, and read a tight
    close-up behind a real mask much worse; one figure over a set mixes the two, so a user cannot tell
    whether a selfie or a news photo is being judged. Per bucket: ``n`` (faces read), ``sex``
    (:func:`accuracy_with_ci` + :func:`auc_with_ci`: AUC only where both sexes are present) and
    ``race`` (:func:`accuracy_with_ci`) when the rows have those labels; people resampled as there.
    """
    read = [r for r in rows if r["found"] == 1 and r["model"] and r.get("beyond_frame") is not None]
    out: dict[str, dict[str, Any]] = {}
    for bucket in FRAMINGS:
        sub = [r for r in read if framing_of(float(r["beyond_frame"])) == bucket]
        d: dict[str, Any] = {"n": len(sub)}
        for task in PHOTO_CLASS_TASKS:
            if any(r[f"{task}_true"] is not None for r in rows):
                d[task] = accuracy_with_ci(sub, task, n_boot, seed, level)
        if "sex" in d:
            d["sex"].update(auc_with_ci(sub, "sex", n_boot, seed, level))
        out[bucket] = d
    return out


def framing_block(
    rows: list[dict[str, Any]], n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, Any]:
    """``evaluate``'s framing figures: the buckets in words, :func:`by_framing` over every face read
    (``all_faces``) and over the faces read as already wearing a mask (``already_masked``), where the
    framing matters most."""
    masked = [r for r in rows if r["already_masked"] == 1]
    return {
        "measure": FRAMING_MEASURE,
        "buckets": framing_bounds(),
        "ci_level": level,
        "n_boot": n_boot,
        "all_faces": by_framing(rows, n_boot, seed, level),
        "already_masked": by_framing(masked, n_boot, seed, level),
    }


def framing_figures(d: dict[str, Any], fmt: Callable[[float], str]) -> str:
    """One bucket of :func:`by_framing` in words, e.g. ``12 faces: sex 91.7% (balanced 90.0%, AUC 0.950),
    race 75.0%`` (just ``0 faces`` when none was read)."""
    parts = []
    sex, race = d.get("sex") or {}, d.get("race") or {}
    if sex.get("accuracy") is not None:
        auc = f", AUC {sex['auc']:.3f}" if sex.get("auc") is not None else ""
        parts.append(f"sex {fmt(sex['accuracy'])} (balanced {fmt(sex['balanced_accuracy'])}{auc})")
    if race.get("accuracy") is not None:
        parts.append(f"race {fmt(race['accuracy'])}")
    n = d.get("n", 0)
    return f"{n} {'face' if n == 1 else 'faces'}" + (": " + ", ".join(parts) if parts else "")


def framing_text(by: dict[str, dict[str, Any]], fmt: Callable[[float], str]) -> str:
    """:func:`by_framing` in one line, each bucket named: ``none 12 faces: ...; some 0 faces; most ...``."""
    return "; ".join(f"{b} {framing_figures(by[b], fmt)}" for b in FRAMINGS if b in by)


def attacker_folders(
    run: str | os.PathLike, split: str, detector: str = "auto"
) -> list[tuple[str, Path, Any, list[str]]]:
    """``(family, folder, analyzer, masked-face conditions)`` of every attacker family of the run that
    has a masked-face model: the CNN (``cnn``, the run itself) and each family trained in its own
    folder (``training.config.FAMILIES``, e.g. ``facenet`` in RUN/facenet/)."""
    from maskprivacy.analysis.analyzer import get_analyzer
    from maskprivacy.layout import MASKED_FACE_CONDITIONS, RunLayout
    from maskprivacy.training.runtime import family_roots

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
    from maskprivacy.analysis.analyzer import get_analyzer
    from maskprivacy.analysis.mask_decision import mask_check_accuracy

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
