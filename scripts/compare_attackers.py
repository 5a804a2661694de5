#!/usr/bin/env python3
"""Two attacker folders on the same test faces: each figure with its 95% interval, and paired tests.

Why: a profile choice (an input size, a number of epochs) is decided by training the same attacker
twice, in two run folders made with the same seed (so the same splits and test faces); the two
predictions.csv files then pair face by face, and a difference is only worth a change of profile when
the paired test says it is more than noise. Uses the package's own intervals and tests
(``privacy.significance``: bootstrap, McNemar's exact test, Wilcoxon signed-rank).

    python scripts/compare_attackers.py RUN_A/facenet/train/masked_uniform RUN_B/facenet/train/masked_uniform

Prints one line per task and exits 0; a folder without a readable predictions.csv is an error (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from maskprivacy.bootstrap import N_RESAMPLES
from maskprivacy.privacy.discovery import TASK_COLUMNS, read_predictions, task_score
from maskprivacy.privacy.significance import figure_intervals, paired_tests
from maskprivacy.provenance import git_commit, machine_line


def _read(folder: Path):
    path = folder / "predictions.csv"
    if not path.is_file():
        print(f"error: {path} not found (an attacker folder holds predictions.csv)", file=sys.stderr)
        raise SystemExit(2)
    try:
        df, warnings = read_predictions(path)
    except ValueError as e:  # unreadable, a missing column, no usable row: say which and why
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return df


def _fmt(task: str, v: float, ci: list) -> str:
    if task == "age":
        return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
    return f"{100 * v:.2f}% [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", type=Path, help="first attacker folder (holds predictions.csv)")
    p.add_argument("b", type=Path, help="second attacker folder, same test faces")
    p.add_argument("--n-boot", type=int, default=N_RESAMPLES, help="bootstrap resamples (default %(default)s)")
    args = p.parse_args(argv)
    a, b = _read(args.a), _read(args.b)
    ia, ib = figure_intervals(a, n_boot=args.n_boot), figure_intervals(b, n_boot=args.n_boot)
    tests = paired_tests(a, b)
    print(f"commit {git_commit()}; {machine_line()}")
    print(f"a = {args.a}\nb = {args.b}\npaired faces: {tests['n']} (a has {len(a)}, b has {len(b)})")
    print("| task | a | b | b - a | paired test | p |")
    print("|---|---|---|---|---|---|")
    for task in TASK_COLUMNS:
        if task not in tests:
            continue
        metric = "mae" if task == "age" else "accuracy"
        va, vb = task_score(task, a), task_score(task, b)
        diff = f"{vb - va:+.3f}" if task == "age" else f"{100 * (vb - va):+.2f}"
        t = tests[task]
        print(
            f"| {task} | {_fmt(task, va, ia[task][metric])} | {_fmt(task, vb, ib[task][metric])} | {diff} | "
            f"{t['test']} | {t['p']:.3g}{' (significant)' if t['significant'] else ''} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
