"""``evaluate``: a run's models on any labelled folder of photos (not only UTKFace).

labels.csv columns: ``path`` (relative to the images folder), ``sex`` (0 male, 1 female), ``race``
(UTKFace codes 0-4), ``age`` (years), optional ``masked`` (0/1: the photo already shows a real mask).
Any label may be blank; metrics are computed for whatever labels exist. One face is read per photo
(the largest). Photos whose face is not found, or that cannot be read, are counted and listed, never
silently dropped.

Which model reads a face is :func:`maskprivacy.analysis.routing.reader_for`'s rule, as in ``analyze``:
with ``mask_style=None`` a bare face goes to the unmasked-face attacker and a face marked ``masked=1``
as it is to the mask-robust attacker when the run has one (else the paper-style masked-face one);
with a style, bare faces get that digital mask and go to the paper-style masked-face attacker. Where
``masked`` is blank, the mask check decides (the run's trained detector, else the colour check).

What a researcher needs from a skewed set (the dev set has 22 women in 311 photos): per class task
(sex, race, and the age bucket from the true age) accuracy, balanced accuracy, per-class accuracy,
the confusion matrix and the count of each class, computed by the training stage's own
:func:`maskprivacy.training.metrics.classification_metrics`; for sex also the ROC AUC (a reading that
ranks women above men but shifts every real-mask photo towards "male" fails at the 0.5 threshold, and
AUC tells the two apart); the same figures per framing bucket (:func:`.framing.by_framing`: how much of the aligned
crop lies beyond the photo, since a tight close-up with a real mask is read much worse than a photo with
hair and head outline in frame); and, with ``predictions=``, one CSV row per photo to recompute anything else.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from tqdm import tqdm

from maskprivacy.analysis.analyzer import Analyzer, get_analyzer
from maskprivacy.analysis.evaluate import auc_with_ci
from maskprivacy.analysis.framing import framing_block
from maskprivacy.analysis.mask_decision import mask_check_accuracy
from maskprivacy.analysis.schema import Reading
from maskprivacy.atomic import replacing
from maskprivacy.data.imageio import ImageError, read_image_in
from maskprivacy.data.labels import CLASS_NAMES, age_to_bucket
from maskprivacy.data.photo_labels import LabelRow, read_labels
from maskprivacy.training.metrics import age_metrics, classification_metrics


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
    reading: Reading | None = None,
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
        "model": reading.model if reading is not None else "",
        "sex_true": r.sex,
        "race_true": r.race,
        "age_true": r.age,
        "masked_label": None if r.masked is None else int(r.masked),
    }
    for t, names in CLASS_NAMES.items():
        rd = getattr(reading, t, None)
        row[f"{t}_pred"] = rd.index if rd is not None else None
        probs = (rd.probabilities if rd is not None else None) or {}
        for n in names:
            row[f"{t}_prob_{n}"] = probs.get(n)
    row["age_pred"] = reading.age.years if reading is not None and reading.age is not None else None
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
    ``masked`` value (:data:`~maskprivacy.analysis.routing.MASK_CHECKS`). When some rows have a
    ``masked`` value, the result's ``mask_check`` also says how well each check (the colour check and
    the run's detector) tells those photos apart (:func:`~maskprivacy.analysis.mask_decision.mask_check_accuracy`).
    ``framing``: the sex and race figures per framing bucket (:func:`.framing.framing_block`).
    """
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
    analyzer: Analyzer,
    mask_style: str | None = None,
    mask_color: str = "white",
    progress: bool = False,
    batch_size: int = 16,
    memo: dict | None = None,
) -> EvalResult:
    """:func:`evaluate` on rows already read, with an :class:`~maskprivacy.analysis.analyzer.Analyzer`;
    ``memo``: as in :meth:`~maskprivacy.analysis.analyzer.Analyzer.analyze_batch` (faces found once
    across calls on the same photos)."""
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
