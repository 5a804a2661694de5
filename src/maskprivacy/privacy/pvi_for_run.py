"""The PVI of a run: masked and unmasked predictions, baselines from the split.

By default the attacker is the run's answer (:data:`STRONGEST`): per attribute and condition, the
strongest attacker chosen on validation (:mod:`maskprivacy.privacy.strongest`), the same one the
report's verdict and results.json's ``strongest`` name. Its masked and unmasked sides may be
different attackers, and each attribute may be read by another one: every attribute's columns come
from its own attacker's predictions.csv, joined on the face name, so the masked and unmasked sides
stay paired on the same test faces and the reduction keeps its paired interval. A single attacker
(``cnn``, the paper-style CNN the paper's numbers compare with, or any other) can still be asked for.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import pandas as pd

from maskprivacy.bootstrap import LEVEL, N_RESAMPLES
from maskprivacy.layout import CONDITIONS, SPLITS, AttackerFolder, RunLayout
from maskprivacy.privacy.baselines import baselines_from_split
from maskprivacy.privacy.discovery import TASK_COLUMNS, expected_dir, find_attacker, read_predictions
from maskprivacy.privacy.pvi import ATTRIBUTES, PVIResult, compute_pvi, measure_of
from maskprivacy.privacy.strongest import RULE, strongest_attackers

STRONGEST = "strongest"  # the attacker of the run's answer: the strongest per attribute, chosen on validation


def pvi_for_run(
    run: str | os.PathLike,
    attacker: str = STRONGEST,
    split: str = "uniform",
    weights: Mapping[str, float] | None = None,
    baseline: str = "majority",
    age_measure: str = "regression",
    n_boot: int = N_RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
) -> PVIResult:
    """Read the attackers' ``predictions.csv`` of ``split`` and the training part of
    ``RUN/splits/<split>.csv``, and compute the PVI.

    ``attacker``: :data:`STRONGEST` (the run's answer, see the module docstring) or one attacker's
    name (``RUN/train/<condition>_<split>/`` for ``cnn``). One missing condition is not fatal (its
    PVI is reported alone, and the reduction is not); both missing, or a missing split file, is an
    error that names the paths looked at.
    """
    run = Path(run)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not run.is_dir():
        raise FileNotFoundError(f"run folder not found: {run}")
    if attacker == STRONGEST:
        preds, chosen, warnings = _strongest_predictions(run, split, age_measure)
    else:
        preds, warnings = _one_attacker_predictions(run, attacker, split, age_measure)
        chosen = {c: {a: {"attacker": attacker} for a in ATTRIBUTES} for c in preds}
    base = baselines_from_split(RunLayout(run).split_csv(split))
    result = compute_pvi(preds, base, weights, baseline, age_measure, n_boot, seed, level)
    result.warnings = warnings + result.warnings
    result.attacker, result.split = attacker, split
    result.attackers = chosen
    if attacker == STRONGEST:
        result.rule = RULE
    for c, attrs in result.conditions.items():
        for a, d in attrs["attributes"].items():
            d.update(chosen[c][a])
    return result


def _one_attacker_predictions(
    run: Path, attacker: str, split: str, age_measure: str
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    tasks = tuple(dict.fromkeys(measure_of(a, age_measure)[0] for a in ATTRIBUTES))
    preds, warnings, looked = {}, [], []
    for cond in CONDITIONS:
        a = find_attacker(run, attacker, cond, split)
        if a is None or not a.predictions_path.is_file():
            path = a.predictions_path if a else AttackerFolder(expected_dir(run, attacker, cond, split)).predictions
            looked.append(str(path))
            warnings.append(f"{cond}: no predictions ({path} not found); its PVI is not run")
            continue
        df, w = read_predictions(a.predictions_path, tasks)
        preds[cond] = df
        warnings.extend(w)
    if not preds:
        raise FileNotFoundError(
            f"no predictions for attacker {attacker!r}, split {split!r}: looked for "
            f"{' and '.join(looked)}. Train the attackers first (or pick --attacker/--split)."
        )
    return preds, warnings


def _strongest_predictions(
    run: Path, split: str, age_measure: str
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, dict[str, str]]], list[str]]:
    """Per condition, one predictions frame whose columns of each attribute come from that attribute's
    strongest attacker (joined on the face name), the choice per attribute, and warnings."""
    choice, problems = strongest_attackers(run, split)
    warnings = list(problems)
    preds: dict[str, pd.DataFrame] = {}
    chosen: dict[str, dict[str, dict[str, str]]] = {}
    for cond in CONDITIONS:
        by_task = choice.get(cond) or {}
        if not by_task:
            warnings.append(
                f"{cond}: no predictions (no attacker of the {split} split has metrics); its PVI is not run"
            )
            continue
        picks = {a: by_task.get(measure_of(a, age_measure)[0]) for a in ATTRIBUTES}
        missing = [a for a, p in picks.items() if p is None]
        if missing:
            warnings.append(f"{cond}: no attacker with a test figure for {', '.join(missing)}; its PVI is not run")
            continue
        frame: pd.DataFrame | None = None
        for a, p in picks.items():
            task = measure_of(a, age_measure)[0]
            found = find_attacker(run, p["attacker"], cond, split)
            if found is None or not found.predictions_path.is_file():
                warnings.append(
                    f"{cond}: the strongest {a} attacker {p['attacker']} has no predictions.csv; its PVI is not run"
                )
                frame = None
                break
            df, w = read_predictions(found.predictions_path, (task,))
            warnings += w
            cols = df[["name", *TASK_COLUMNS[task]]]
            if frame is None:
                frame = cols
                continue
            n_before = len(frame)
            frame = frame.merge(cols, on="name", how="inner")
            if len(frame) < n_before or len(frame) < len(cols):
                warnings.append(
                    f"{cond}: {p['attacker']} ({a}) and the other attributes' attackers share {len(frame)} test faces; "
                    "the PVI uses those"
                )
        if frame is None:
            continue
        if frame.empty:
            warnings.append(f"{cond}: the strongest attackers of its attributes share no test face; its PVI is not run")
            continue
        preds[cond] = frame
        chosen[cond] = {a: {"attacker": p["attacker"], "chosen_on": p["chosen_on"]} for a, p in picks.items()}
    if not preds:
        raise FileNotFoundError(
            f"no attacker of split {split!r} with predictions for sex, race and age under {RunLayout(run).train} "
            "(or beside it). Train the attackers first (or pick --attacker/--split)."
        )
    return preds, chosen, warnings
