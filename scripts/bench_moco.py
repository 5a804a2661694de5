#!/usr/bin/env python
"""Benchmark: does the self-supervised stage (MoCo v2) earn its time?

The CNN attacker of the cpu profile pretrains MoCo v2 for one epoch at 48 px, then fine-tunes the
four heads. This script trains, with the repository's own pipeline (``training.pipeline.pretrain``,
``finetune``, ``evaluate_attacker``) on the same subset of masked faces (``--limit`` faces drawn with
a fixed seed from a masking run, split by the run's split maker), three candidates:

* ``moco1 + ft``: the cpu profile as it is;
* ``none + ft+k``: no pretraining; the fine-tuning gets ``k`` more 48-px epochs instead, ``k`` chosen
  so that the total wall time matches the first candidate's (its pretraining wall divided by the
  cost of one 48-px epoch, estimated from its fine-tuning wall with a 64-px epoch costing
  (64/48)^2 of a 48-px one); the printed walls show how well the budgets matched;
* ``moco{N} + ft``: a longer pretraining (``--long`` epochs, default 5), the same fine-tuning.

It prints, per candidate: pretraining and fine-tuning wall seconds, and the masked uniform test part's
sex / race / age-bucket accuracy and age MAE. A subset ranks the candidates; it does not give the
full run's figures (and one seed: differences under about 2 points are noise at this size).

    python scripts/bench_moco.py --data ../shared/data/UTKFace.tar.gz --mask-run RUN/mask \\
        --limit 4000 --out /tmp/bench_moco
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from bench_subset import measured_on, subset_run  # noqa: E402

from maskprivacy.training import pipeline as tp  # noqa: E402
from maskprivacy.training.config import load_profile, resolve  # noqa: E402


def train_one(cfg: dict, run: Path) -> dict[str, float]:
    """Pretraining (if enabled), fine-tuning, evaluation on a prepared subset run; walls and figures."""
    t0 = time.perf_counter()
    tp.pretrain(cfg, run, "masked")
    t1 = time.perf_counter()
    tp.finetune(cfg, run, "masked", "uniform", "multitask")
    t2 = time.perf_counter()
    m = tp.evaluate_attacker(cfg, run, "masked", "uniform")
    assert m is not None
    return {
        "pretrain_s": t1 - t0,
        "finetune_s": t2 - t1,
        "total_s": t2 - t0,
        "epochs": len(cfg["finetune"]["sizes"] or []) or int(cfg["finetune"]["epochs"]),
        "sex": m["sex"]["accuracy"],
        "race": m["race"]["accuracy"],
        "age_bucket": m["age_bucket"]["accuracy"],
        "mae": m["age"]["mae"],
        "n_test": m["n_test"],
    }


def epoch48_cost(cfg: dict, finetune_s: float) -> float:
    """One 48-px fine-tuning epoch's wall, from a fine-tuning wall over the profile's sizes."""
    sizes = cfg["finetune"]["sizes"] or [int(cfg["model"]["input_size"])] * int(cfg["finetune"]["epochs"])
    return finetune_s / sum((s / 48) ** 2 for s in sizes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="UTKFace folder or .tar.gz")
    ap.add_argument("--mask-run", required=True, help="a masking run of that data (RUN/mask)")
    ap.add_argument("--out", default="/tmp/bench_moco", help="scratch run folders, one per candidate")
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--limit", type=int, default=4000, help="faces, drawn with seed 0")
    ap.add_argument("--long", type=int, default=5, help="pretraining epochs of the longer candidate")
    ap.add_argument(
        "--finetune-epochs",
        type=int,
        default=0,
        help="cut the profile's fine-tuning to its first N epochs (0: all; for a quick check)",
    )
    args = ap.parse_args()
    out = Path(args.out)
    base = load_profile(args.profile)
    base["trainer"]["progress"] = False
    if args.finetune_epochs:
        sizes = base["finetune"]["sizes"]
        base["finetune"]["epochs"] = args.finetune_epochs
        if sizes:
            base["finetune"]["sizes"] = sizes[: args.finetune_epochs]
    caches = out / "cache"  # one cache of the whole archive, shared by the candidates
    rows: dict[str, dict[str, float]] = {}

    def report(name: str, cfg: dict) -> None:
        cfg = resolve(cfg)
        run = out / name.replace(" ", "_").replace("+", "")
        rows[name] = train_one(cfg, subset_run(cfg, args.data, args.mask_run, run, caches, args.limit))
        print(f"{name}: {json.dumps({k: round(v, 4) for k, v in rows[name].items()})}", flush=True)

    first = f"moco{base['pretrain']['epochs']} + ft"
    report(first, copy.deepcopy(base))
    k = max(1, round(rows[first]["pretrain_s"] / epoch48_cost(base, rows[first]["finetune_s"])))
    none = copy.deepcopy(base)
    none["pretrain"]["enabled"] = False
    none["finetune"]["epochs"] = int(base["finetune"]["epochs"]) + k
    if base["finetune"]["sizes"]:
        none["finetune"]["sizes"] = [48] * k + list(base["finetune"]["sizes"])
    report(f"none + ft+{k}", none)
    long = copy.deepcopy(base)
    long["pretrain"]["epochs"] = args.long
    report(f"moco{args.long} + ft", long)

    print(f"\n{measured_on()}; profile {args.profile}, {args.limit} faces (seed 0), masked faces, uniform test part")
    print("| candidate | pretrain s | fine-tune epochs | fine-tune s | total s | sex | race | age bucket | age MAE |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['pretrain_s']:.0f} | {r['epochs']:.0f} | {r['finetune_s']:.0f} | {r['total_s']:.0f} | "
            f"{r['sex']:.2%} | {r['race']:.2%} | {r['age_bucket']:.2%} | {r['mae']:.2f} |"
        )


if __name__ == "__main__":
    main()
