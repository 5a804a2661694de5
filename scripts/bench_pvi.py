#!/usr/bin/env python
"""Benchmark: the PVI's paired bootstrap on a run-sized test set.

``compute_pvi`` with ``--n-boot`` resamples of ``--n`` synthetic faces (labels drawn at random, the
masked attacker noisier than the unmasked one). Prints the CPU and wall seconds; a timing belongs
here, on a named machine, rather than in a unit test run on a shared one.

    python scripts/bench_pvi.py                  # 2000 resamples of 2300 faces (a uniform test split)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from maskprivacy.data.labels import FaceLabels
from maskprivacy.privacy.baselines import baselines_from_labels
from maskprivacy.privacy.pvi import compute_pvi
from maskprivacy.privacy.synthetic import synthetic_truth
from maskprivacy.provenance import git_commit, machine


def synthetic_predictions(n: int, flip: float, noise: float, seed: int) -> pd.DataFrame:
    """``n`` faces with true labels from ``seed`` and predictions that flip a share ``flip`` of the classes."""
    df = synthetic_truth(n)
    noisy = np.random.default_rng(seed)
    for t, k in (("sex", 2), ("race", 5), ("age_bucket", 7)):
        pred = df[f"{t}_true"].to_numpy().copy()
        m = noisy.random(n) < flip
        pred[m] = noisy.integers(0, k, m.sum())
        df[f"{t}_pred"] = pred
    df["age_pred"] = df["age_true"] + noisy.normal(0, noise, n)
    return df


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2300, help="test faces")
    ap.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples")
    args = ap.parse_args(argv)
    masked = synthetic_predictions(args.n, 0.3, 7, 14)
    unmasked = synthetic_predictions(args.n, 0.1, 5, 15)
    base = baselines_from_labels(
        FaceLabels(int(a), int(s), int(r)) for a, s, r in zip(masked.age_true, masked.sex_true, masked.race_true)
    )
    t, c = time.perf_counter(), time.process_time()
    compute_pvi({"masked": masked, "unmasked": unmasked}, base, n_boot=args.n_boot)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"compute_pvi, {args.n_boot} resamples of {args.n} faces: {cpu:.2f} s CPU, {wall:.2f} s wall")
    print(f"commit {git_commit()}, machine {machine()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
