"""Finding and reading the attackers of a run directory (layout: docs/ARCHITECTURE.md).

One attacker = one folder under ``RUN/train/`` holding ``metrics.json`` and ``predictions.csv``.
Folder names say which attacker, condition and split they hold:

* ``train/<condition>_<split>/``            the main CNN attacker (attacker name ``cnn``)
* ``train/<attacker>_<condition>_<split>/`` any other attacker, e.g. ``dlib_masked_uniform`` or
  ``cnn-multitask_unmasked_random``
* ``train/<attacker>/<condition>_<split>/`` the same, one folder per attacker
* ``<attacker>_<condition>_<split>/`` at the run's root (where ``maskprivacy attack-dlib --out RUN``
  writes)
* ``train/<condition>_<split>/<sub>/`` holding its own metrics.json/predictions.csv: attacker
  ``cnn_<sub>`` (the training stage puts the paper's one-network-per-task models in ``per_task/``,
  so ``cnn`` is the multi-task network and ``cnn_per_task`` the per-task networks)

* ``train/robust_<split>/``: the mask-robust CNN attacker (attacker ``cnn_robust``, condition
  ``masked``: it is tested on the same masked faces as ``cnn``); ``train/real_<split>/`` likewise the
  real-mask attacker (``cnn_real``, also trained on real masked photos), ``train/adaptive_<split>/`` the
  adaptive attacker (``cnn_adaptive``, also trained on random occluders)
* ``<family>/train/<condition>_<split>/`` and ``<family>/train/robust_<split>/``: another attacker
  family trained by the same pipeline in its own run folder (``training.config.FAMILIES``, e.g.
  ``facenet``): attackers ``<family>`` and ``<family>_robust``

with condition ``masked``/``unmasked`` and split ``uniform``/``random``. The PVI and the report read
runs through this module only, so the convention lives in one place.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from maskprivacy.layout import CONDITIONS, PREDICTIONS, SPLITS, VAL_PREDICTIONS, RunLayout

DEFAULT_ATTACKER = "cnn"
ROBUST_ATTACKER = "cnn_robust"
REAL_ATTACKER = "cnn_real"
ADAPTIVE_ATTACKER = "cnn_adaptive"
# The attackers tested on the masked faces that are not the paper-style one: mask-robust, real-mask
# and adaptive (trained on occluders too).
_ROBUST_RE = re.compile(r"^(?P<kind>robust|real|adaptive)_(?P<split>uniform|random)$")
_DIR_RE = re.compile(r"^(?:(?P<attacker>.+?)_)?(?P<condition>masked|unmasked)_(?P<split>uniform|random)$")

# predictions.csv: (true, predicted) column pairs per task
TASK_COLUMNS: dict[str, tuple[str, str]] = {
    "sex": ("sex_true", "sex_pred"),
    "race": ("race_true", "race_pred"),
    "age_bucket": ("age_bucket_true", "age_bucket_pred"),
    "age": ("age_true", "age_pred"),
}


@dataclass(frozen=True)
class AttackerDir:
    attacker: str
    condition: str
    split: str
    path: Path

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    @property
    def predictions_path(self) -> Path:
        return self.path / PREDICTIONS

    @property
    def val_predictions_path(self) -> Path:
        return self.path / VAL_PREDICTIONS


def parse_dir_name(name: str, parent_attacker: str | None = None) -> tuple[str, str, str] | None:
    """(attacker, condition, split) from a folder name, or None if it is not an attacker folder."""
    r = _ROBUST_RE.match(name)
    if r is not None and parent_attacker is None:
        return f"{DEFAULT_ATTACKER}_{r['kind']}", "masked", r["split"]
    m = _DIR_RE.match(name)
    if m is None:
        return None
    attacker = m["attacker"] or parent_attacker or DEFAULT_ATTACKER
    return attacker, m["condition"], m["split"]


def _has_outputs(d: Path) -> bool:
    return (d / "metrics.json").is_file() or (d / "predictions.csv").is_file()


def discover(run: str | os.PathLike) -> list[AttackerDir]:
    """Every attacker folder of ``run`` that holds a metrics.json or a predictions.csv, sorted.

    Looks in ``RUN/train/`` (also one level deeper, ``train/<attacker>/<condition>_<split>``) and,
    for attackers written straight into the run folder (``maskprivacy attack-dlib --out RUN`` makes
    ``RUN/dlib_<condition>_<split>``), in ``RUN/`` itself. ``train/`` wins when both hold one.
    """
    run = Path(run)
    found: dict[tuple[str, str, str], AttackerDir] = {}

    def add(parsed: tuple[str, str, str] | None, d: Path) -> None:
        if parsed is not None and parsed not in found and _has_outputs(d):
            found[parsed] = AttackerDir(*parsed, d)

    train = RunLayout(run).train
    if train.is_dir():
        for d in sorted(p for p in train.iterdir() if p.is_dir()):
            parsed = parse_dir_name(d.name)
            if parsed is not None:
                add(parsed, d)
                for sub in sorted(p for p in d.iterdir() if p.is_dir()):  # e.g. per_task/ beside the multi-task model
                    add((f"{parsed[0]}_{sub.name}", parsed[1], parsed[2]), sub)
                continue
            for sub in sorted(p for p in d.iterdir() if p.is_dir()):
                add(parse_dir_name(sub.name, parent_attacker=d.name), sub)
    if run.is_dir():
        for d in sorted(p for p in run.iterdir() if p.is_dir() and p.name != "train"):
            add(parse_dir_name(d.name), d)
            sub_train = RunLayout(d).train
            if sub_train.is_dir():  # another attacker family's own run folder
                for t in sorted(p for p in sub_train.iterdir() if p.is_dir()):
                    r = _ROBUST_RE.match(t.name)
                    if r is not None:
                        add((f"{d.name}_{r['kind']}", "masked", r["split"]), t)
                    else:
                        add(parse_dir_name(t.name, parent_attacker=d.name), t)
    return sorted(
        found.values(),
        key=lambda a: (
            a.attacker != DEFAULT_ATTACKER,
            a.attacker,
            CONDITIONS.index(a.condition),
            SPLITS.index(a.split),
        ),
    )


def find_attacker(run: str | os.PathLike, attacker: str, condition: str, split: str) -> AttackerDir | None:
    for a in discover(run):
        if (a.attacker, a.condition, a.split) == (attacker, condition, split):
            return a
    return None


def expected_dir(run: str | os.PathLike, attacker: str, condition: str, split: str) -> Path:
    """Where an attacker's folder is expected (for error messages)."""
    if attacker == DEFAULT_ATTACKER:
        return RunLayout.of(run).train_dir(condition, split)
    if attacker in (ROBUST_ATTACKER, REAL_ATTACKER, ADAPTIVE_ATTACKER) and condition == "masked":
        return RunLayout.of(run).train / f"{attacker[len(DEFAULT_ATTACKER) + 1 :]}_{split}"
    if attacker.startswith(DEFAULT_ATTACKER + "_"):  # cnn_per_task -> train/<condition>_<split>/per_task
        return RunLayout.of(run).train / f"{condition}_{split}" / attacker[len(DEFAULT_ATTACKER) + 1 :]
    return RunLayout.of(run).train / f"{attacker}_{condition}_{split}"


def task_score(task: str, frame: pd.DataFrame) -> float:
    """One task's score of a predictions frame: accuracy of a class attribute, MAE in years for ``age``."""
    true, pred = TASK_COLUMNS[task]
    if task == "age":
        return float(np.abs(frame[pred].to_numpy(float) - frame[true].to_numpy(float)).mean())
    return float((frame[pred].to_numpy(int) == frame[true].to_numpy(int)).mean())


def read_metrics(path: str | os.PathLike) -> dict:
    """A metrics.json, with a clear error when it is missing or not JSON."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metrics file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return data


def read_predictions(
    path: str | os.PathLike, tasks: tuple[str, ...] = tuple(TASK_COLUMNS)
) -> tuple[pd.DataFrame, list[str]]:
    """predictions.csv restricted to ``name`` and the columns of ``tasks``, and warnings.

    Rows with a missing or non-numeric value in one of those columns are dropped (each a warning
    naming the file and how many rows; the run goes on); a missing column or an empty file is an
    error, since no PVI can be computed from it. Names must be unique.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"predictions file not found: {path}")
    try:
        df = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as e:
        raise ValueError(f"cannot read {path}: {e}") from None
    needed = ["name"] + [c for t in tasks for c in TASK_COLUMNS[t]]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(missing)} (has: {', '.join(map(str, df.columns))})")
    df = df[needed].copy()
    dup = df["name"][df["name"].duplicated()].unique()
    if len(dup):
        raise ValueError(f"{path}: {len(dup)} image name(s) appear more than once, e.g. {', '.join(map(str, dup[:3]))}")
    warnings: list[str] = []
    num = df[needed[1:]].apply(pd.to_numeric, errors="coerce")
    bad = num.isna().any(axis=1) | ~np.isfinite(num.to_numpy(dtype=float)).all(axis=1)
    if bad.any():
        first = ", ".join(df.loc[bad, "name"].astype(str).head(3))
        warnings.append(f"{path}: {int(bad.sum())} row(s) with a missing or non-numeric value skipped (e.g. {first})")
    df[needed[1:]] = num
    df = df.loc[~bad].reset_index(drop=True)
    if df.empty:
        raise ValueError(f"{path} has no usable rows")
    return df, warnings
