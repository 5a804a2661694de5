"""Intervals and paired tests for the attackers' test figures (results.json ``intervals``, ``tests``).

Why: two runs of the same code on two machines differed by up to a point, so an accuracy without an
interval cannot say one attacker is stronger than another, nor that a mask hides something. Every
figure of an attacker therefore carries a 95% percentile bootstrap interval over its test faces
(accuracy, balanced accuracy, MAE, RMSE: one set of resamples for all of them, computed with
:func:`maskprivacy.bootstrap.resampled_means`), and comparisons made on the
same test faces are tested as paired data:

* a class attribute (sex, race, age bucket): McNemar's exact test, i.e. a two-sided binomial test
  on the faces that exactly one of the two readers gets right (:func:`scipy.stats.binomtest`);
* age: the Wilcoxon signed-rank test on the two absolute errors of each face
  (:func:`scipy.stats.wilcoxon`, zero differences dropped).

Faces are paired by ``name`` (the masked and the unmasked copy of a test face share it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from maskprivacy.bootstrap import LEVEL, N_RESAMPLES, percentile_interval, resampled_means
from maskprivacy.data.labels import CLASS_NAMES

ALPHA = 0.05  # "significant" in results.json and the report: p < ALPHA


def _class_columns(df: pd.DataFrame, task: str) -> tuple[np.ndarray, int]:
    """Score columns of one class task: correct, correct & true==k, true==k (k = every class)."""
    y = df[f"{task}_true"].to_numpy().astype(int)
    correct = (df[f"{task}_pred"].to_numpy().astype(int) == y).astype(float)
    k = len(CLASS_NAMES[task])
    onehot = (y[:, None] == np.arange(k)[None, :]).astype(float)
    return np.column_stack([correct, correct[:, None] * onehot, onehot]), k


def _balanced(means: np.ndarray, k: int) -> np.ndarray:
    """Mean per-class recall from the column means of :func:`_class_columns` (ratio of sums);
    classes absent from a resample are left out, as in the point estimate."""
    hits, support = means[..., 1 : 1 + k], means[..., 1 + k : 1 + 2 * k]
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, hits / np.where(support > 0, support, 1), np.nan)
    return np.nanmean(recall, axis=-1)


def figure_intervals(
    df: pd.DataFrame, n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, dict[str, list[float | None]]]:
    """Bootstrap intervals of an attacker's figures from its predictions.csv rows.

    ``{"sex": {"accuracy": [lo, hi], "balanced_accuracy": [lo, hi]}, ..., "age": {"mae": [lo, hi],
    "rmse": [lo, hi]}}`` for the tasks whose columns ``df`` holds. Deterministic in ``seed``.
    """
    blocks, layout = [], []
    for task in CLASS_NAMES:
        if {f"{task}_true", f"{task}_pred"} <= set(df.columns):
            cols, k = _class_columns(df, task)
            layout.append((task, sum(b.shape[1] for b in blocks), k))
            blocks.append(cols)
    age_at = None
    if {"age_true", "age_pred"} <= set(df.columns):
        err = df["age_pred"].to_numpy(float) - df["age_true"].to_numpy(float)
        age_at = sum(b.shape[1] for b in blocks)
        blocks.append(np.column_stack([np.abs(err), err**2]))
    if not blocks:
        return {}
    boot = resampled_means(np.hstack(blocks), n_boot, seed)
    out: dict[str, dict[str, list[float | None]]] = {}
    for task, at, k in layout:
        part = boot[:, at : at + 1 + 2 * k]
        out[task] = {
            "accuracy": percentile_interval(part[:, 0], level),
            "balanced_accuracy": percentile_interval(_balanced(part, k), level),
        }
    if age_at is not None:
        out["age"] = {
            "mae": percentile_interval(boot[:, age_at], level),
            "rmse": percentile_interval(np.sqrt(boot[:, age_at + 1]), level),
        }
    return out


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, Any]:
    """McNemar's exact test of two readers on the same faces (True = that face read correctly).

    ``a_only``/``b_only``: faces only A / only B gets right; p: two-sided binomial test of
    ``a_only`` among the discordant faces at 1/2 (1.0 when there are none)."""
    from scipy import stats

    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if a.shape != b.shape:
        raise ValueError("McNemar needs the same faces for both readers")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    p = 1.0 if a_only + b_only == 0 else float(stats.binomtest(a_only, a_only + b_only, 0.5).pvalue)
    return {"test": "McNemar exact", "n": int(a.size), "a_only": a_only, "b_only": b_only, "p": p}


def wilcoxon_errors(abs_err_a: np.ndarray, abs_err_b: np.ndarray) -> dict[str, Any]:
    """Wilcoxon signed-rank test of two readers' absolute age errors on the same faces (two-sided;
    p = 1.0 when every face has the same error under both)."""
    from scipy import stats

    a, b = np.asarray(abs_err_a, float), np.asarray(abs_err_b, float)
    if a.shape != b.shape:
        raise ValueError("Wilcoxon needs the same faces for both readers")
    d = a - b
    nonzero = int((d != 0).sum())
    p = 1.0 if nonzero == 0 else float(stats.wilcoxon(a, b, zero_method="wilcox").pvalue)
    return {
        "test": "Wilcoxon signed-rank",
        "n": int(a.size),
        "n_nonzero": nonzero,
        "median_difference": float(np.median(d)) if d.size else None,
        "p": p,
    }


def paired_tests(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, Any]:
    """Every task both prediction tables hold, tested on the faces they share (paired by name).

    ``{"n": shared faces, "sex": {McNemar ...}, ..., "age": {Wilcoxon ...}}``; each test has
    ``significant`` (p < :data:`ALPHA`) and ``better``: ``"a"``, ``"b"`` or None (no difference)."""
    m = a.merge(b, on="name", suffixes=("_a", "_b"))
    out: dict[str, Any] = {"n": int(len(m))}
    if m.empty:
        return out
    for task in CLASS_NAMES:
        need = [f"{task}_{c}_{s}" for c in ("true", "pred") for s in "ab"]
        if set(need) <= set(m.columns):
            ca = m[f"{task}_pred_a"].to_numpy(int) == m[f"{task}_true_a"].to_numpy(int)
            cb = m[f"{task}_pred_b"].to_numpy(int) == m[f"{task}_true_b"].to_numpy(int)
            t = mcnemar_exact(ca, cb)
            t["better"] = None if t["a_only"] == t["b_only"] else ("a" if t["a_only"] > t["b_only"] else "b")
            out[task] = t
    if {"age_true_a", "age_pred_a", "age_true_b", "age_pred_b"} <= set(m.columns):
        ea = np.abs(m["age_pred_a"].to_numpy(float) - m["age_true_a"].to_numpy(float))
        eb = np.abs(m["age_pred_b"].to_numpy(float) - m["age_true_b"].to_numpy(float))
        t = wilcoxon_errors(ea, eb)
        t["better"] = None if ea.mean() == eb.mean() else ("a" if ea.mean() < eb.mean() else "b")
        out["age"] = t
    for k, t in out.items():
        if isinstance(t, dict):
            t["significant"] = bool(t["p"] < ALPHA)
    return out
