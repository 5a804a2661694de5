"""Finding the attackers of a run folder: each attacker folder says which attacker it holds.

An attacker folder holds a ``metrics.json`` whose ``attacker`` field is its record
(:class:`maskprivacy.records.AttackerRecord`: name, family, the faces it was trained on, the faces
it reads, split, approach) and, beside it, ``predictions.csv`` and ``val_predictions.csv``. Discovery
reads those records where attackers are written (docs/ARCHITECTURE.md):

* ``RUN/train/<folder>/`` and one level deeper (``per_task/``; ``train/<attacker>/<folder>``),
* ``RUN/<folder>/`` (``maskprivacy attack-dlib --out RUN`` writes ``RUN/dlib_<faces>_<split>``),
* ``RUN/<family>/train/<folder>/`` (another attacker family's own run folder, ``RUN/facenet``),

so the folder's name is never parsed. A ``metrics.json`` written before records existed is read when
it sits where ``reproduce`` writes an attacker (its record is then the one the layout gives that
place, :func:`layout_records`); anywhere else it is reported as a problem saying what to rerun. The
PVI, the ensemble and the report read runs through this module only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from maskprivacy.layout import CONDITIONS, METRICS, SPLITS, AttackerFolder, RunLayout
from maskprivacy.records import (
    APPROACHES,
    DEFAULT_FAMILY,
    DLIB,
    ENSEMBLE,
    TRAINED_ON,
    AttackerMetrics,
    AttackerRecord,
    OldRecordError,
    attacker_name,
    read_attacker_metrics,
    read_metrics,
)
from maskprivacy.tasks import TASKS
from maskprivacy.training.runtime import family_roots

__all__ = [
    "DEFAULT_ATTACKER",
    "ROBUST_ATTACKER",
    "REAL_ATTACKER",
    "TASK_COLUMNS",
    "AttackerDir",
    "discover",
    "discover_with_problems",
    "expected_dir",
    "find_attacker",
    "layout_records",
    "read_metrics",
    "read_predictions",
    "task_score",
]

DEFAULT_ATTACKER = attacker_name(DEFAULT_FAMILY, "masked")
ROBUST_ATTACKER = attacker_name(DEFAULT_FAMILY, "robust")
REAL_ATTACKER = attacker_name(DEFAULT_FAMILY, "real")
# Where attacker folders are written, relative to the run folder (patterns of their metrics.json).
_PLACES = ("train/*/", "train/*/*/", "*/", "*/train/*/", "*/train/*/*/")

# predictions.csv: (true, predicted) column pairs per task
TASK_COLUMNS: dict[str, tuple[str, str]] = {name: task.columns for name, task in TASKS.items()}


@dataclass(frozen=True)
class AttackerDir:
    """One attacker folder found in a run, with its record."""

    record: AttackerRecord
    path: Path

    @property
    def attacker(self) -> str:
        return self.record.name

    @property
    def test_faces(self) -> str:
        return self.record.test_faces

    @property
    def split(self) -> str:
        return self.record.split

    @property
    def key(self) -> tuple[str, str, str]:
        """(attacker, test faces, split): how results.json and the report key an attacker's figures."""
        return self.attacker, self.test_faces, self.split

    @property
    def files(self) -> AttackerFolder:
        return AttackerFolder(self.path)

    @property
    def metrics_path(self) -> Path:
        return self.files.metrics

    @property
    def predictions_path(self) -> Path:
        return self.files.predictions

    @property
    def val_predictions_path(self) -> Path:
        return self.files.val_predictions


def layout_records(run: str | os.PathLike) -> dict[Path, AttackerRecord]:
    """Every place ``reproduce`` writes an attacker, with the record of the attacker it writes there:
    how a folder from before records is read."""
    run = Path(run)
    out: dict[Path, AttackerRecord] = {}
    for family, root in family_roots(run):
        lay = RunLayout(root)
        for t in TRAINED_ON:
            for s in SPLITS:
                for a in APPROACHES:
                    name = attacker_name(family, t, a)
                    rec = AttackerRecord(name=name, family=family, trained_on=t, split=s, approach=a)  # type: ignore[arg-type]
                    out[lay.attacker(t, s, a).path] = rec
    for c in CONDITIONS:
        for s in SPLITS:
            out[RunLayout(run).dlib_dir(c, s)] = AttackerRecord(name=DLIB, family=DLIB, trained_on=c, split=s)
            out[RunLayout(run).ensemble(c, s).path] = AttackerRecord(
                name=ENSEMBLE, family=ENSEMBLE, trained_on=None, test_faces=c, split=s
            )
    return out


def _read(path: Path, known: dict[Path, AttackerRecord]) -> AttackerMetrics:
    """An attacker folder's metrics with its record; an old one gets the record of its place."""
    try:
        return read_attacker_metrics(path)
    except OldRecordError:
        rec = known.get(path.parent)
        if rec is None:
            raise
        return AttackerMetrics.model_validate({**read_metrics(path), "attacker": rec.model_dump()})


def discover_with_problems(run: str | os.PathLike) -> tuple[list[AttackerDir], list[str]]:
    """Every attacker folder of ``run`` (sorted: the paper-style CNN first), and the metrics.json
    files that could not be read as an attacker's, each with what to do. ``train/`` wins when
    another place holds the same attacker."""
    run = Path(run)
    found: dict[tuple[str, str, str], AttackerDir] = {}
    problems: list[str] = []
    known = layout_records(run)
    skip = {RunLayout(run).mask_detector_metrics}
    seen: set[Path] = set()
    for pattern in _PLACES:
        for path in sorted(run.glob(pattern + METRICS)):
            if path in seen or path in skip:
                continue
            seen.add(path)
            try:
                a = AttackerDir(_read(path, known).attacker, path.parent)
            except ValueError as e:
                problems.append(str(e))
                continue
            found.setdefault(a.key, a)
    attackers = sorted(
        found.values(),
        key=lambda a: (
            a.attacker != DEFAULT_ATTACKER,
            a.attacker,
            CONDITIONS.index(a.test_faces),
            SPLITS.index(a.split),
        ),
    )
    return attackers, problems


def discover(run: str | os.PathLike) -> list[AttackerDir]:
    """Every attacker folder of ``run``, sorted (:func:`discover_with_problems` without the problems)."""
    return discover_with_problems(run)[0]


def find_attacker(run: str | os.PathLike, attacker: str, test_faces: str, split: str) -> AttackerDir | None:
    for a in discover(run):
        if a.key == (attacker, test_faces, split):
            return a
    return None


def expected_dir(run: str | os.PathLike, attacker: str, test_faces: str, split: str) -> Path:
    """Where ``reproduce`` writes an attacker's folder (for error messages)."""
    for path, rec in layout_records(run).items():
        if (rec.name, rec.test_faces, rec.split) == (attacker, test_faces, split):
            return path
    return RunLayout.of(run).train / f"{attacker}_{test_faces}_{split}"


def task_score(task: str, frame: pd.DataFrame) -> float:
    """One task's score of a predictions frame: accuracy of a class attribute, MAE in years for ``age``."""
    true, pred = TASK_COLUMNS[task]
    if task == "age":
        return float(np.abs(frame[pred].to_numpy(float) - frame[true].to_numpy(float)).mean())
    return float((frame[pred].to_numpy(int) == frame[true].to_numpy(int)).mean())


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
