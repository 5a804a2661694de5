"""The PVI of one attacker of a run: masked and unmasked predictions, baselines from the split."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from maskprivacy.layout import CONDITIONS, SPLITS, RunLayout
from maskprivacy.privacy.baselines import baselines_from_split
from maskprivacy.privacy.pvi import ATTRIBUTES, DEFAULT_N_BOOT, PVIResult, compute_pvi, measure_of
from maskprivacy.privacy.runs import DEFAULT_ATTACKER, expected_dir, find_attacker, read_predictions


def pvi_for_run(
    run: str | os.PathLike,
    attacker: str = DEFAULT_ATTACKER,
    split: str = "uniform",
    weights: Mapping[str, float] | None = None,
    baseline: str = "majority",
    age_measure: str = "regression",
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    level: float = 0.95,
) -> PVIResult:
    """Read ``RUN/train/<condition>_<split>/predictions.csv`` (for ``attacker``) and the training
    part of ``RUN/splits/<split>.csv``, and compute the PVI.

    One missing condition is not fatal (its PVI is reported alone, and the reduction is not); both
    missing, or a missing split file, is an error that names the paths looked at.
    """
    run = Path(run)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not run.is_dir():
        raise FileNotFoundError(f"run folder not found: {run}")
    tasks = tuple(dict.fromkeys(measure_of(a, age_measure)[0] for a in ATTRIBUTES))
    preds, warnings, looked = {}, [], []
    for cond in CONDITIONS:
        a = find_attacker(run, attacker, cond, split)
        if a is None or not a.predictions_path.is_file():
            path = a.predictions_path if a else expected_dir(run, attacker, cond, split) / "predictions.csv"
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
    split_csv = RunLayout(run).split_csv(split)
    base = baselines_from_split(split_csv)
    result = compute_pvi(preds, base, weights, baseline, age_measure, n_boot, seed, level)
    result.warnings = warnings + result.warnings
    result.attacker, result.split = attacker, split
    return result
