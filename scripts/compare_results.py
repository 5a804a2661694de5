#!/usr/bin/env python3
"""Compare two runs' results.json, ignoring what legitimately differs between two runs of the same code.

Ignored: timings (``wall_s`` anywhere, the ``stages`` table, ``generated_at``, ``finished_at``), and
paths (the ``data`` entry and any string naming a file or folder of either run). Everything else -
every accuracy, MAE, PVI, interval, count, attacker and style - must be equal.

    python scripts/compare_results.py RUN_A/results.json RUN_B/results.json

Prints each difference as ``key.path: A -> B`` and exits 1 if there is any (0 if identical).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

TIMING_KEYS = {"wall_s", "stages", "generated_at", "finished_at", "wall_s_last_run", "images_per_s_last_run"}
PATH_KEYS = {"data", "source", "mask_run", "path", "run"}


def _diff(a: Any, b: Any, at: str, out: list[str], roots: tuple[str, ...]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k in TIMING_KEYS or k in PATH_KEYS:
                continue
            if k not in a or k not in b:
                out.append(
                    f"{at}{k}: {'(absent)' if k not in a else json.dumps(a[k])[:80]} -> "
                    f"{'(absent)' if k not in b else json.dumps(b[k])[:80]}"
                )
                continue
            _diff(a[k], b[k], f"{at}{k}.", out, roots)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{at[:-1]}: {len(a)} items -> {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{at}{i}.", out, roots)
    elif isinstance(a, str) and isinstance(b, str) and any(r in a for r in roots) and any(r in b for r in roots):
        return  # a path inside either run folder
    elif a != b:
        out.append(f"{at[:-1]}: {json.dumps(a)} -> {json.dumps(b)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", type=Path, help="results.json of the first run")
    p.add_argument("b", type=Path, help="results.json of the second run")
    args = p.parse_args(argv)
    a, b = json.loads(args.a.read_text()), json.loads(args.b.read_text())
    roots = (str(args.a.resolve().parent), str(args.b.resolve().parent), str(args.a.parent), str(args.b.parent))
    out: list[str] = []
    _diff(a, b, "", out, roots)
    for line in out:
        print(line)
    print(f"{len(out)} difference(s) between {args.a} and {args.b} (timings and paths ignored)")
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main())
