"""Which cached faces each stage trains, validates and tests on, as row numbers of the cache.

The split files name faces; the cache holds them in its own order. These functions turn one into
the other, and encode the one rule that keeps test faces clean: pretraining and a model shared by
both splits only ever see faces that are in the train part of every split.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from maskprivacy.layout import PARTS, SPLITS, RunLayout
from maskprivacy.training.splits import read_split


def split_rows(names: Sequence[str], split_csv: str | os.PathLike) -> dict[str, np.ndarray]:
    """{part: row numbers of the cache} for one split file."""
    a = read_split(split_csv)
    out: dict[str, list[int]] = {p: [] for p in PARTS}
    for i, n in enumerate(names):
        p = a.get(n)
        if p in out:
            out[p].append(i)
    return {p: np.asarray(v, dtype=np.int64) for p, v in out.items()}


def shared_rows(names: Sequence[str], split_paths: dict[str, Path]) -> dict[str, np.ndarray]:
    """Rows for one model that serves every split: train = train in all splits; val = val in some
    split and test in none; no test rows (each split's own test part is evaluated).

    No test face of any split is ever trained on or used for model selection, so the model can be
    evaluated on every split's test part, at the cost of ~13% fewer training faces than one model
    per split.
    """
    parts = [split_rows(names, p) for p in split_paths.values()]
    n = len(names)

    def mask(part: str, how: str) -> np.ndarray:
        ms = []
        for r in parts:
            m = np.zeros(n, dtype=bool)
            m[r[part]] = True
            ms.append(m)
        return np.logical_and.reduce(ms) if how == "all" else np.logical_or.reduce(ms)

    train = mask("train", "all")
    val = mask("val", "any") & ~mask("test", "any") & ~train
    return {"train": np.flatnonzero(train), "val": np.flatnonzero(val), "test": np.zeros(0, dtype=np.int64)}


def pretrain_rows(names: Sequence[str], split_paths: dict[str, Path]) -> np.ndarray:
    """Rows in the train part of every split: pretraining never sees a val or test face of either."""
    keep = np.ones(len(names), dtype=bool)
    for p in split_paths.values():
        rows = split_rows(names, p)
        m = np.zeros(len(names), dtype=bool)
        m[rows["train"]] = True
        keep &= m
    return np.flatnonzero(keep)


def fit_rows(run: Path, names: Sequence[str], split: str) -> dict[str, np.ndarray]:
    """Cache rows of each part for fine-tuning on ``split`` ("shared": the train part of both splits)."""
    if split == "shared":
        return shared_rows(names, {s: RunLayout(run).split_csv(s) for s in SPLITS})
    return split_rows(names, RunLayout(run).split_csv(split))
