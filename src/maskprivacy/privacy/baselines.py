"""The trivial attacker that the PVI measures against, learned from training labels only.

A PVI of 0 must mean "no better than guessing without looking at the face", so the baseline has
to be a predictor that never sees an image: the training majority class (or a guesser that draws
from the training class shares) and the training median age. Only the *training* labels are used,
as an attacker would; the score of that predictor is then measured on the same test faces as the
models (see :mod:`maskprivacy.privacy.pvi`).
"""

from __future__ import annotations

import os
import tarfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from maskprivacy.data.labels import CLASS_NAMES, FaceLabels, LabelError, parse_name


@dataclass(frozen=True)
class Baselines:
    """Majority class and class shares per classification task, and the median age, from training labels."""

    majority: dict[str, int]
    prior: dict[str, tuple[float, ...]]
    median_age: float
    n_train: int = 0

    def __post_init__(self) -> None:
        for task, names in CLASS_NAMES.items():
            if task not in self.majority or task not in self.prior:
                raise ValueError(f"baselines lack the task {task!r}")
            if not 0 <= int(self.majority[task]) < len(names):
                raise ValueError(f"majority class {self.majority[task]} of {task} is not in 0-{len(names) - 1}")
            p = np.asarray(self.prior[task], dtype=float)
            if p.shape != (len(names),) or (p < 0).any() or abs(p.sum() - 1) > 1e-6:
                raise ValueError(f"prior of {task} must be {len(names)} shares summing to 1, got {self.prior[task]}")
        if not np.isfinite(self.median_age) or self.median_age < 0:
            raise ValueError(f"median age must be a non-negative number, got {self.median_age}")

    def to_dict(self) -> dict:
        return {
            "majority": {t: int(k) for t, k in self.majority.items()},
            "majority_name": {t: CLASS_NAMES[t][int(k)] for t, k in self.majority.items()},
            "prior": {t: [round(float(x), 6) for x in p] for t, p in self.prior.items()},
            "median_age": float(self.median_age),
            "n_train": int(self.n_train),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Baselines":
        return cls(
            majority={t: int(k) for t, k in d["majority"].items()},
            prior={t: tuple(float(x) for x in p) for t, p in d["prior"].items()},
            median_age=float(d["median_age"]),
            n_train=int(d.get("n_train", 0)),
        )


def baselines_from_labels(labels: Iterable[FaceLabels]) -> Baselines:
    """Majority class (ties: lowest class index), class shares and median age of ``labels``."""
    labels = list(labels)
    if not labels:
        raise ValueError("no labelled training faces to compute the baselines from")
    values = {
        "sex": [l.sex for l in labels],
        "race": [l.race for l in labels],
        "age_bucket": [l.age_bucket for l in labels],
    }
    majority, prior = {}, {}
    for task, names in CLASS_NAMES.items():
        counts = np.bincount(values[task], minlength=len(names)).astype(float)
        majority[task] = int(np.argmax(counts))
        prior[task] = tuple(float(x) for x in counts / counts.sum())
    return Baselines(majority, prior, float(np.median([l.age for l in labels])), len(labels))


def labels_from_names(names: Iterable[str]) -> tuple[list[FaceLabels], list[str]]:
    """Labels of every well-formed UTKFace name, and the malformed names (so callers can report them)."""
    good, bad = [], []
    for n in names:
        try:
            good.append(parse_name(n))
        except LabelError:
            bad.append(n)
    return good, bad


def baselines_from_split(split_csv: str | os.PathLike, part: str = "train") -> Baselines:
    """Baselines from the faces of one part (default: train) of a split CSV (``name,part``)."""
    from maskprivacy.training.splits import read_split

    path = Path(split_csv)
    if not path.is_file():
        raise FileNotFoundError(f"split file not found: {path} (the PVI baselines come from its training faces)")
    assignment = read_split(path)
    names = [n for n, p in assignment.items() if p == part]
    if not names:
        raise ValueError(f"{path} has no rows with part={part!r}; parts found: {sorted(Counter(assignment.values()))}")
    labels, _ = labels_from_names(names)
    return baselines_from_labels(labels)


def iter_names(data: str | os.PathLike) -> Iterator[str]:
    """Base names of the image files of a folder or a .tar(.gz) archive, without decoding any image.

    The PVI check of the paper's numbers only needs UTKFace's labels, which live in the names, so
    this reads the archive's member list rather than 23,708 JPEGs.
    """
    from maskprivacy.data.sources import _is_image_name, is_archive

    root = Path(data)
    if not root.exists():
        raise FileNotFoundError(f"--data {root}: no such file or folder")
    if root.is_dir():
        for p in sorted(root.rglob("*")):
            if p.is_file() and not p.name.startswith(".") and _is_image_name(p.name):
                yield p.name
    elif is_archive(root):
        with tarfile.open(root, "r|*") as tar:
            for m in tar:
                base = os.path.basename(m.name)
                if m.isfile() and not base.startswith(".") and _is_image_name(base):
                    yield base
    else:
        raise ValueError(f"--data {root}: not a folder or a .tar/.tar.gz archive")


def median_predictor_mae(ages: Iterable[float], median: float | None = None) -> float:
    """Mean absolute error of always answering ``median`` (default: the median of ``ages`` itself)."""
    a = np.asarray(list(ages), dtype=float)
    if a.size == 0:
        raise ValueError("no ages")
    m = float(np.median(a)) if median is None else float(median)
    return float(np.mean(np.abs(a - m)))
