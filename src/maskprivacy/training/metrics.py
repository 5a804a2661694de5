"""Test-set metrics, predictions table and confusion matrices, in the format docs/ARCHITECTURE.md fixes.

Accuracy, balanced accuracy (mean per-class recall: race "Others" has 7% of the faces, so plain
accuracy hides how badly it is predicted), per-class accuracy, confusion matrix per classification
task; MAE and RMSE in years for age; and the paper's breakdown by sex x race x age bucket.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from maskprivacy.atomic import replacing
from maskprivacy.data.labels import AGE_BUCKET_NAMES, CLASS_NAMES, RACE_NAMES, SEX_NAMES, age_to_bucket
from maskprivacy.layout import AttackerFolder
from maskprivacy.tasks import CLASS_TASKS


def classification_metrics(true: np.ndarray, pred: np.ndarray, names: tuple[str, ...]) -> dict[str, Any]:
    k = len(names)
    conf = np.zeros((k, k), dtype=np.int64)
    np.add.at(conf, (true, pred), 1)
    support = conf.sum(1)
    per_class = {names[i]: (float(conf[i, i] / support[i]) if support[i] else None) for i in range(k)}
    recalls = [v for v in per_class.values() if v is not None]
    return {
        "accuracy": float((true == pred).mean()) if len(true) else None,
        "balanced_accuracy": float(np.mean(recalls)) if recalls else None,
        "per_class": per_class,
        "support": {names[i]: int(support[i]) for i in range(k)},
        "confusion": conf.tolist(),
    }


def age_metrics(true: np.ndarray, pred: np.ndarray) -> dict[str, float | None]:
    if len(true) == 0:
        return {"mae": None, "rmse": None}
    err = pred.astype(np.float64) - true.astype(np.float64)
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err**2).mean()))}


def predictions_table(
    names: list[str], truth: dict[str, np.ndarray], probs: dict[str, np.ndarray]
) -> dict[str, np.ndarray | list]:
    """Columns of predictions.csv (contract order), from class probabilities and predicted ages."""
    cols: dict[str, Any] = {"name": list(names)}
    for t in CLASS_TASKS:
        cols[f"{t}_true"] = truth[t]
        if t in probs:
            cols[f"{t}_pred"] = probs[t].argmax(1)
        elif t == "age_bucket" and "age" in probs:  # derive the bucket from the regressed age
            cols[f"{t}_pred"] = np.array([age_to_bucket(a) for a in probs["age"]], dtype=np.int64)
    cols["age_true"] = truth["age"]
    if "age" in probs:
        cols["age_pred"] = probs["age"]
    if "sex" in probs:
        cols["sex_prob_1"] = probs["sex"][:, 1]
    for t in ("race", "age_bucket"):
        if t in probs:
            for j in range(probs[t].shape[1]):
                cols[f"{t}_prob_{j}"] = probs[t][:, j]
    return cols


def write_predictions(path: str | os.PathLike, cols: dict[str, Any]) -> None:
    path = Path(path)
    keys = list(cols)
    n = len(cols["name"])
    with replacing(path) as tmp, tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for i in range(n):
            row = []
            for k in keys:
                v = cols[k][i]
                row.append(f"{v:.6g}" if isinstance(v, (float, np.floating)) else v)
            w.writerow(row)


def compute_metrics(cols: dict[str, Any]) -> dict[str, Any]:
    """metrics.json's measured part from the predictions columns."""
    out: dict[str, Any] = {}
    for t, names in CLASS_NAMES.items():
        if f"{t}_pred" in cols:
            out[t] = classification_metrics(np.asarray(cols[f"{t}_true"]), np.asarray(cols[f"{t}_pred"]), names)
    if "age_pred" in cols:
        out["age"] = age_metrics(np.asarray(cols["age_true"]), np.asarray(cols["age_pred"]))
    out["breakdown"] = breakdown(cols)
    out["n_test"] = len(cols["name"])
    return out


def breakdown(cols: dict[str, Any]) -> list[dict[str, Any]]:
    """The paper's table: every (sex, race, age bucket) cell with its size and per-task scores."""
    sex, race, bucket = (np.asarray(cols[k]) for k in ("sex_true", "race_true", "age_bucket_true"))
    rows = []
    for s in range(len(SEX_NAMES)):
        for r in range(len(RACE_NAMES)):
            for b in range(len(AGE_BUCKET_NAMES)):
                m = (sex == s) & (race == r) & (bucket == b)
                n = int(m.sum())
                if n == 0:
                    continue
                row: dict[str, Any] = {
                    "sex": SEX_NAMES[s],
                    "race": RACE_NAMES[r],
                    "age_bucket": AGE_BUCKET_NAMES[b],
                    "n": n,
                }
                for t in CLASS_TASKS:
                    if f"{t}_pred" in cols:
                        row[f"{t}_acc"] = float(
                            (np.asarray(cols[f"{t}_pred"])[m] == np.asarray(cols[f"{t}_true"])[m]).mean()
                        )
                if "age_pred" in cols:
                    row["age_mae"] = float(
                        np.abs(np.asarray(cols["age_pred"])[m] - np.asarray(cols["age_true"])[m]).mean()
                    )
                rows.append(row)
    return rows


def confusion_pngs(folder: str | os.PathLike, metrics: dict[str, Any], title: Callable[[str, float], str]) -> None:
    """``confusion_<task>.png`` in ``folder`` for every class task of ``metrics``, each titled
    ``title(task, accuracy)``: what every attacker folder holds, drawn by one loop."""
    for task, names in CLASS_NAMES.items():
        if task in metrics:
            acc = metrics[task]["accuracy"] or 0.0
            confusion_png(
                AttackerFolder(Path(folder)).confusion_png(task), metrics[task]["confusion"], names, title(task, acc)
            )


def confusion_png(path: str | os.PathLike, conf: list[list[int]], names: tuple[str, ...], title: str) -> None:
    """Row-normalised confusion matrix with counts, as a PNG (matplotlib Agg: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = np.asarray(conf, dtype=np.float64)
    norm = c / np.maximum(c.sum(1, keepdims=True), 1)
    k = len(names)
    fig, ax = plt.subplots(figsize=(1.2 + 0.8 * k, 1.0 + 0.7 * k), dpi=110)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{norm[i, j]:.2f}\n{int(c[i, j])}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
