"""The strongest attacker of a run, per attribute: the one rule behind the run's answer.

"How much does the mask protect?" is answered three times in a run: the report's verdict, the PVI
and results.json's ``strongest`` table. Each used to pick its own attacker (the verdict the
highest-PVI CNN of the style table, the PVI the paper-style CNN pair, the table the validation
ranking over every attacker), so a run gave three different answers. They now all take the attacker
chosen here, on both sides (masked and unmasked):

* the candidates of a (condition, split, task) are the run's attackers with a test figure for that
  task (accuracy; MAE for ``age``) in their metrics.json;
* they are ranked on the split's *validation* faces (``val_predictions.csv``; the ensemble, fitted
  there, by its recorded cross-validated score) when every candidate has a validation score
  (``chosen_on: "validation"``), else on the test figures themselves (``chosen_on: "test"``: the
  largest of several noisy estimates, optimistic, and said so);
* ties go to the name that sorts last for accuracies and first for MAEs (deterministic).

Why validation: choosing the attacker on the test faces and reporting its test figure reports the
largest of several noisy estimates, which flatters the attacker. The attacker reads each attribute
separately, so the strongest may differ per attribute (one attacker for sex, another for age): the
answer is what the best reader we have of each attribute recovers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import pandas as pd

from maskprivacy.privacy.discovery import (
    TASK_COLUMNS,
    AttackerDir,
    discover_with_problems,
    read_metrics,
    read_predictions,
    task_score,
)
from maskprivacy.privacy.ensemble import ENSEMBLE, ensemble_val_score
from maskprivacy.tasks import TASKS

# the figure each task is ranked and reported by, and whether higher is better
TASK_METRIC: dict[str, tuple[str, bool]] = {n: (t.metric, t.higher_is_better) for n, t in TASKS.items()}
RULE = (
    "per attribute and condition, the attacker with the best validation score (accuracy; MAE for age) among "
    "the run's attackers with a test figure for it, its test figure reported; ranked on the test figures "
    "instead when not every candidate has validation predictions (chosen_on says which)"
)


def rank(test: Mapping[str, float], val: Mapping[str, float] | None, higher: bool) -> tuple[list[str], bool]:
    """The candidates of ``test`` (``{attacker: test figure}``), strongest first, and whether they
    were ranked on ``val`` (``{attacker: validation score}``, used only when it covers them all)."""
    on_val = bool(test) and val is not None and all(a in val for a in test)
    score = {a: float(val[a]) for a in test} if on_val and val is not None else {a: float(v) for a, v in test.items()}
    return sorted(test, key=lambda a: (score[a], a), reverse=higher), on_val


def read_attackers(run: str | os.PathLike) -> tuple[list[AttackerDir], dict[tuple[str, str, str], dict], list[str]]:
    """Every attacker folder of ``run``, its metrics.json keyed ``(attacker, test_faces, split)``, and
    the problems met (an unreadable metrics.json is left out, not fatal)."""
    attackers, problems = discover_with_problems(run)
    metrics = {}
    for a in attackers:
        try:
            metrics[a.key] = read_metrics(a.metrics_path)
        except ValueError as e:
            problems.append(str(e))
    return attackers, metrics, problems


def load_predictions(
    attackers: list[AttackerDir], part: str = "test"
) -> tuple[dict[tuple[str, str, str], pd.DataFrame], list[str]]:
    """Every attacker's predictions.csv (``part="val"``: val_predictions.csv) with the task columns
    it has, keyed like the metrics; a file that cannot be read is a problem, not a failure (its
    figures then have no intervals, or it is not ranked on validation)."""
    preds, problems = {}, []
    for a in attackers:
        path = a.val_predictions_path if part == "val" else a.predictions_path
        if not path.is_file():
            continue
        try:
            head = pd.read_csv(path, nrows=0).columns
            tasks = tuple(t for t, cols in TASK_COLUMNS.items() if set(cols) <= set(head))
            df, warnings = read_predictions(path, tasks)
        except (ValueError, FileNotFoundError) as e:
            problems.append(str(e))
            continue
        preds[a.key] = df
        problems += warnings
    return preds, problems


def validation_scores(
    attackers: list[AttackerDir], metrics: Mapping[tuple[str, str, str], dict]
) -> tuple[dict[tuple[str, str, str], dict[str, float]], list[str]]:
    """Each attacker's score per task on its split's validation faces (accuracy; MAE for age):
    from its val_predictions.csv, or for the ensemble, which was fitted there, its recorded
    cross-validated / unfitted score (:func:`~maskprivacy.privacy.ensemble.ensemble_val_score`)."""
    val, problems = load_predictions(attackers, part="val")
    out = {
        k: {t: task_score(t, df) for t in TASK_COLUMNS if set(TASK_COLUMNS[t]) <= set(df.columns)}
        for k, df in val.items()
    }
    for (a, c, s), m in metrics.items():
        if a == ENSEMBLE:
            scores = {t: v for t in TASK_COLUMNS if (v := ensemble_val_score(m, t)) is not None}
            if scores:
                out[(a, c, s)] = scores
    return out, problems


def figure_of(metrics: Mapping | None, task: str) -> float | None:
    """An attacker's test figure for ``task`` (accuracy; MAE for age) from its metrics.json, or None."""
    v = ((metrics or {}).get(task) or {}).get(TASK_METRIC[task][0])
    return None if v is None else float(v)


def choose(
    metrics: Mapping[tuple[str, str, str], dict],
    val_scores: Mapping[tuple[str, str, str], Mapping[str, float]],
    condition: str,
    split: str,
) -> dict[str, dict[str, str]]:
    """``{task: {"attacker": name, "chosen_on": "validation" | "test"}}`` for one condition and split:
    the rule of the module docstring, from already-read metrics and validation scores."""
    out: dict[str, dict[str, str]] = {}
    for task, (_metric, higher) in TASK_METRIC.items():
        test = {
            a: v
            for (a, c, s), m in metrics.items()
            if (c, s) == (condition, split) and (v := figure_of(m, task)) is not None
        }
        if not test:
            continue
        val = {a: float(v[task]) for (a, c, s), v in val_scores.items() if (c, s) == (condition, split) and task in v}
        order, on_val = rank(test, val, higher)
        out[task] = {"attacker": order[0], "chosen_on": "validation" if on_val else "test"}
    return out


def strongest_attackers(run: str | os.PathLike, split: str) -> tuple[dict[str, dict[str, dict[str, str]]], list[str]]:
    """``{condition: {task: {"attacker", "chosen_on"}}}`` of a run folder, and the problems met reading it."""
    attackers, metrics, problems = read_attackers(Path(run))
    val, val_problems = validation_scores(attackers, metrics)
    conditions = sorted({c for (_a, c, s) in metrics if s == split})
    return {c: choose(metrics, val, c, split) for c in conditions}, problems + val_problems
