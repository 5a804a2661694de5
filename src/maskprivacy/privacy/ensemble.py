"""The ensemble attacker: per attribute, the attackers' outputs combined by a model fitted on validation.

Why: attackers that read a face differently (a CNN trained from scratch, dlib's face network
fine-tuned, dlib's fixed descriptor with scikit-learn heads) make different mistakes, and a real
adversary would combine them. Fitting the combination on the *test* faces would flatter it, so it is
fitted on the validation faces of the split only (every member writes its predictions on them,
``val_predictions.csv``; no member of the split trained on them) and scored once on the test faces.

Two combiners per attribute, and the validation faces choose between them:

* ``stacker``: per class attribute (sex, race, age bucket) a multinomial logistic regression reads
  the members' log-probabilities (a member that only gives a label counts as a one-hot probability);
  for age a linear regression with non-negative weights reads the members' predicted ages;
* ``mean``: the members' probabilities (ages) averaged, nothing fitted.

The stacker can weigh a strong member above a weak one, but with several members it has many
weights to learn from a few hundred validation faces (705 in the cpu profile), and a stacker fitted
on so few can lose to its best member on the test faces. So each
combiner is scored on the validation faces (the stacker by 5-fold cross-validation, the mean, which
learns nothing, on all of them) and the better one is kept, the mean on a tie. Both are a few lines
of scikit-learn / NumPy; what was chosen and why (members, weights, both validation scores and each
member's) goes to metrics.json.

Members: every attacker of the run evaluated on the test faces and split (``privacy.discovery.discover``)
that has both prediction files, the ensemble itself excluded. The output is an ordinary attacker
folder, ``RUN/train/ensemble_<test_faces>_<split>/``, so the PVI, the report and ``strongest`` read it
like any other (attacker name ``ensemble``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from maskprivacy.data.labels import CLASS_NAMES
from maskprivacy.layout import CONDITIONS, SPLITS, VAL_PREDICTIONS, RunLayout
from maskprivacy.privacy.discovery import AttackerDir, discover, task_score
from maskprivacy.provenance import git_commit, machine
from maskprivacy.records import ENSEMBLE, AttackerMetrics, AttackerRecord, write_metrics
from maskprivacy.tasks import TASK_NAMES

__all__ = ["ENSEMBLE", "MIN_MEMBERS", "ensemble_dir", "ensemble_val_score", "fit_ensemble", "fit_ensembles", "members"]

MIN_MEMBERS = 2


def ensemble_dir(run: str | os.PathLike, test_faces: str, split: str) -> Path:
    return RunLayout(Path(run)).ensemble(test_faces, split).path


def members(run: str | os.PathLike, test_faces: str, split: str) -> list[AttackerDir]:
    """The attackers of ``test_faces``/``split`` with predictions on both the test and the val faces."""
    return [
        a
        for a in discover(run)
        if (a.test_faces, a.split) == (test_faces, split)
        and a.attacker != ENSEMBLE
        and a.predictions_path.is_file()
        and a.val_predictions_path.is_file()
    ]


def _probabilities(df: pd.DataFrame, task: str) -> np.ndarray:
    """(n, k) class probabilities of one member: its probability columns, else its label one-hot."""
    k = len(CLASS_NAMES[task])
    if task == "sex" and "sex_prob_1" in df:
        p1 = df["sex_prob_1"].to_numpy(float)
        return np.column_stack([1 - p1, p1])
    cols = [f"{task}_prob_{j}" for j in range(k)]
    if all(c in df for c in cols):
        return df[cols].to_numpy(float)
    return (df[f"{task}_pred"].to_numpy(int)[:, None] == np.arange(k)[None, :]).astype(float)


def _features(frames: list[pd.DataFrame], task: str) -> np.ndarray:
    if task == "age":
        return np.column_stack([f["age_pred"].to_numpy(float) for f in frames])
    return np.hstack([np.log(np.clip(_probabilities(f, task), 1e-6, 1.0)) for f in frames])


def _aligned(frames: list[pd.DataFrame]) -> tuple[list[str], list[pd.DataFrame]]:
    """The faces every member predicted, each member's rows in the same (sorted) order."""
    names = sorted(set.intersection(*(set(f["name"]) for f in frames)))
    return names, [f.set_index("name").loc[names].reset_index() for f in frames]


def _stacker(task: str) -> Any:
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if task == "age":
        return LinearRegression(positive=True)
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))


def _cv_score(task: str, X: np.ndarray, y: np.ndarray, seed: int) -> float | None:
    """5-fold cross-validated validation score of the stacker (accuracy; MAE for age)."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

    counts = np.bincount(y.astype(int)) if task != "age" else None
    folds = 5 if task == "age" else min(5, int(counts[counts > 0].min()))
    if folds < 2 or len(y) < 10:
        return None
    cv = (KFold if task == "age" else StratifiedKFold)(folds, shuffle=True, random_state=seed)
    pred = cross_val_predict(_stacker(task), X, y, cv=cv)
    return float(np.abs(pred - y).mean()) if task == "age" else float((pred == y).mean())


def mean_combiner(outputs: Sequence[np.ndarray]) -> np.ndarray:
    """The ``mean`` combiner: the members' outputs for the same faces (class probabilities (n, k) or
    ages (n,)) averaged, nothing fitted; a face a member left blank (NaN) stays blank."""
    return np.mean([np.asarray(o, float) for o in outputs], axis=0)


def _mean_output(task: str, frames: list[pd.DataFrame]) -> np.ndarray:
    """The ``mean`` combiner on the members' prediction tables."""
    if task == "age":
        return mean_combiner([f["age_pred"].to_numpy(float) for f in frames])
    return mean_combiner([_probabilities(f, task) for f in frames])


def _score(task: str, out: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of class probabilities (MAE of ages) against the truths ``y``."""
    return float(np.abs(out - y).mean()) if task == "age" else float((out.argmax(1) == y).mean())


def ensemble_val_score(metrics: dict[str, Any], task: str) -> float | None:
    """The ensemble's validation score for ``task`` (accuracy; MAE for age), None if not recorded.

    Why: ``strongest`` ranks attackers on the validation faces, and the ensemble was fitted there, so
    its score must not come from a model scored on the faces it was fitted on: the stacker's is its
    5-fold cross-validated score, the mean's (nothing fitted) its score on every validation face.
    """
    rec = ((metrics.get("config") or {}).get("tasks") or {}).get(task) or {}
    v = rec.get("ensemble_val_cv") if rec.get("combiner") == "stacker" else rec.get("mean_val")
    return None if v is None else float(v)


def fit_ensemble(
    run: str | os.PathLike, test_faces: str, split: str, seed: int = 0, force: bool = False
) -> dict[str, Any] | None:
    """Fit and score the ensemble of one kind of test faces and split; writes its attacker folder.

    Returns its metrics, or None when fewer than :data:`MIN_MEMBERS` attackers have validation
    predictions (nothing to combine). Reruns keep an existing result unless ``force``.
    """
    from maskprivacy.training.metrics import compute_metrics, confusion_pngs, predictions_table, write_predictions

    folder = RunLayout(Path(run)).ensemble(test_faces, split)
    d = folder.path
    if folder.metrics.is_file() and not force:
        return json.loads(folder.metrics.read_text())
    found = members(run, test_faces, split)
    if len(found) < MIN_MEMBERS:
        return None
    t0 = time.perf_counter()
    val_names, val = _aligned([pd.read_csv(a.val_predictions_path) for a in found])
    test_names, test = _aligned([pd.read_csv(a.predictions_path) for a in found])
    if len(val_names) < 10 or not test_names:
        return None
    probs: dict[str, np.ndarray] = {}
    record: dict[str, Any] = {}
    for task in TASK_NAMES:
        y = val[0][f"{task}_true"].to_numpy(float if task == "age" else int)
        Xv = _features(val, task)
        stack_cv = _cv_score(task, Xv, y, seed)
        mean_val = _score(task, _mean_output(task, val), y)
        if stack_cv is None:  # too few validation faces to cross-validate the stacker
            combiner = "mean"
        else:  # the stacker only when it is strictly better (a lower MAE, a higher accuracy)
            gain = mean_val - stack_cv if task == "age" else stack_cv - mean_val
            combiner = "stacker" if gain > 0 else "mean"
        fitted: dict[str, Any] = {}
        if combiner == "mean":
            probs[task] = _mean_output(task, test)
        else:
            model, Xt = _stacker(task).fit(Xv, y), _features(test, task)
            if task == "age":
                probs["age"] = np.clip(model.predict(Xt), 0.0, None)
                fitted = {
                    "weights": dict(zip((a.attacker for a in found), map(float, model.coef_))),
                    "intercept": float(model.intercept_),
                }
            else:
                p = np.zeros((len(test_names), len(CLASS_NAMES[task])))
                p[:, model.classes_.astype(int)] = model.predict_proba(Xt)
                probs[task] = p
        record[task] = {
            "val_metric": "mae" if task == "age" else "accuracy",
            "combiner": combiner,
            "ensemble_val_cv": stack_cv,
            "mean_val": mean_val,
            "members_val": {a.attacker: task_score(task, f) for a, f in zip(found, val)},
            **fitted,
        }
    truth = {t: test[0][f"{t}_true"].to_numpy() for t in TASK_NAMES}
    cols = predictions_table(test_names, truth, probs)
    d.mkdir(parents=True, exist_ok=True)
    write_predictions(folder.predictions, cols)
    metrics = compute_metrics(cols)
    confusion_pngs(d, metrics, lambda task, acc: f"ensemble, {test_faces}, {split}: {task} (accuracy {acc:.1%})")
    metrics.update(
        {
            "attacker": AttackerRecord(
                name=ENSEMBLE, family=ENSEMBLE, trained_on=None, test_faces=test_faces, split=split
            ),
            "config": {
                "members": [a.attacker for a in found],
                "member_dirs": [str(a.path) for a in found],
                "fitted_on": f"{len(val_names)} validation faces of the {split} split (every member's {VAL_PREDICTIONS})",
                "combiners": "per task the better on the validation faces (tasks.<task>.combiner) of stacker: "
                "logistic regression on the members' log-probabilities (classes), non-negative linear "
                "regression on their predicted ages (age), scored by 5-fold cross-validation; and mean: "
                "the members' probabilities (ages) averaged",
                "seed": seed,
                "tasks": record,
            },
            "n_val": len(val_names),
            "commit": git_commit(),
            "machine": machine(),
            "wall_s": {"fit": round(time.perf_counter() - t0, 2)},
        }
    )
    out = AttackerMetrics(**metrics)
    write_metrics(d, out)
    return out.as_dict()


def fit_ensembles(run: str | os.PathLike, seed: int = 0, force: bool = False) -> dict[str, dict[str, Any]]:
    """:func:`fit_ensemble` for every kind of test faces and split; ``{test_faces: {split: metrics}}``."""
    out: dict[str, dict[str, Any]] = {}
    for c in CONDITIONS:
        for s in SPLITS:
            m = fit_ensemble(run, c, s, seed=seed, force=force)
            if m is not None:
                out.setdefault(c, {})[s] = m
    return out
