#!/usr/bin/env python
"""Benchmark: the face-network attacker's trade-offs (input size, frozen layers, cached features).

The input size, what to freeze and whether to cache frozen features are profile choices, made by
measurement. This script trains each candidate with the repository's own pipeline (the facenet
section of a profile, ``training.pipeline.finetune`` + ``evaluate_attacker``) on the same subset of
masked faces (``--limit`` faces drawn with a fixed seed from a masking run, not the first by name,
which are UTKFace's youngest; split by the run's split maker),
and prints, per candidate: training images/s, wall seconds of training, and the masked uniform
test part's sex / race / age-bucket accuracy and age MAE. The candidates:

* ``ft112 x0.2``: the cpu profile (112 px, the pretrained layers at 0.2x the heads' rate);
* ``ft112 x1``: the same, pretrained layers at the heads' rate;
* ``ft150 x0.2``: dlib's own input side, 150 px (a cache at 150 px);
* ``frozen112 + cached``: the pretrained network frozen; its 256-D features computed once, then
  the dlib attacker's scikit-learn heads (``training.heads``) chosen on the validation part.

A subset and few epochs rank the candidates, they do not give the full run's figures.

    python scripts/bench_facenet.py --data ../shared/data/UTKFace.tar.gz --mask-run RUN/mask \\
        --limit 4000 --epochs 2 --out /tmp/bench_facenet
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np  # noqa: E402
import torch  # noqa: E402
from bench_subset import measured_on, subset_run  # noqa: E402

from maskprivacy.training import cache as cache_mod  # noqa: E402
from maskprivacy.training import pipeline as tp  # noqa: E402
from maskprivacy.training.config import family_config, load_profile, resolve  # noqa: E402
from maskprivacy.training.rows import split_rows  # noqa: E402

CANDIDATES: dict[str, dict] = {
    "ft112 x0.2": {"size": 112, "mult": 0.2},
    "ft112 x1": {"size": 112, "mult": 1.0},
    "ft150 x0.2": {"size": 150, "mult": 0.2},
    "frozen112 + cached": {"size": 112, "frozen": True},
}


def config(profile: str, size: int, mult: float, epochs: int) -> dict:
    cfg = family_config(load_profile(profile), "facenet")
    assert cfg is not None, f"profile {profile} has no facenet section"
    cfg["model"]["input_size"] = size
    cfg["cache"]["size"] = size
    cfg["finetune"].update({"epochs": epochs, "sizes": None, "backbone_lr_mult": mult})
    cfg["trainer"]["progress"] = False
    return resolve(cfg)


def frozen_features(cfg: dict, run: Path) -> dict[str, float]:
    """Features of the frozen pretrained network, once, and scikit-learn heads on them."""
    from maskprivacy.data.labels import FaceLabels
    from maskprivacy.models.factory import create_backbone
    from maskprivacy.models.preprocess import to_model_input
    from maskprivacy.training.heads import fit_heads, predict_columns
    from maskprivacy.training.metrics import compute_metrics

    c = cache_mod.load_cache(tp.cache_path(run, cfg, "masked"))
    parts = tp.fit_rows(run, c.names, "uniform")
    test = split_rows(c.names, run / "splits" / "uniform.csv")["test"]
    net, _ = create_backbone("dlib_face")
    net.eval()
    t0 = time.perf_counter()
    used = np.unique(np.concatenate([parts["train"], parts["val"], test]))  # the subset's faces only
    F = np.zeros((len(c.names), 256), np.float32)
    with torch.inference_mode():
        for s in range(0, len(used), 256):
            rows = used[s : s + 256]
            x = torch.from_numpy(np.ascontiguousarray(c.images[rows])).permute(0, 3, 1, 2)
            F[rows] = net(to_model_input(x, int(cfg["model"]["input_size"]))).numpy()
    t_feat = time.perf_counter() - t0

    def y(rows: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "sex": c.sex[rows],
            "race": c.race[rows],
            "age_bucket": c.age_bucket[rows],
            "age": c.age[rows].astype(float),
        }

    heads, _ = fit_heads(F[parts["train"]], y(parts["train"]), F[parts["val"]], y(parts["val"]))
    labels = [FaceLabels(int(c.age[i]), int(c.sex[i]), int(c.race[i])) for i in test]
    m = compute_metrics(predict_columns(heads, [c.names[i] for i in test], F[test], labels))
    wall = time.perf_counter() - t0
    return {
        "train_img_s": len(used) / t_feat,
        "train_wall_s": wall,
        "sex": m["sex"]["accuracy"],
        "race": m["race"]["accuracy"],
        "age_bucket": m["age_bucket"]["accuracy"],
        "mae": m["age"]["mae"],
        "n_train": int(len(parts["train"])),
        "n_test": int(len(test)),
    }


def finetuned(cfg: dict, run: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    tp.finetune(cfg, run, "masked", "uniform", "multitask")
    wall = time.perf_counter() - t0
    m = tp.evaluate_attacker(cfg, run, "masked", "uniform")
    assert m is not None
    c = cache_mod.load_cache(tp.cache_path(run, cfg, "masked"))
    n_train = len(tp.fit_rows(run, c.names, "shared" if cfg["finetune"].get("shared_splits") else "uniform")["train"])
    return {
        "train_img_s": n_train * int(cfg["finetune"]["epochs"]) / wall,
        "train_wall_s": wall,
        "sex": m["sex"]["accuracy"],
        "race": m["race"]["accuracy"],
        "age_bucket": m["age_bucket"]["accuracy"],
        "mae": m["age"]["mae"],
        "n_train": n_train,
        "n_test": m["n_test"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="UTKFace folder or .tar.gz")
    ap.add_argument("--mask-run", required=True, help="a masking run of that data (RUN/mask)")
    ap.add_argument("--out", default="/tmp/bench_facenet", help="scratch run folders, one per candidate")
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--limit", type=int, default=4000, help="faces, drawn with seed 0")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--only", action="append", choices=list(CANDIDATES), help="run only this candidate")
    args = ap.parse_args()
    out = Path(args.out)
    rows = {}
    for name, cand in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        cfg = config(args.profile, cand["size"], cand.get("mult", 0.0), args.epochs)
        run = out / name.replace(" ", "_").replace("+", "").replace(".", "")
        caches = out / f"cache_{cand['size']}"  # one full cache per input size, shared by the candidates
        subset_run(cfg, args.data, args.mask_run, run, caches, args.limit)
        rows[name] = frozen_features(cfg, run) if cand.get("frozen") else finetuned(cfg, run)
        print(f"{name}: {json.dumps({k: round(v, 4) for k, v in rows[name].items()})}", flush=True)
    print(f"\n{measured_on()}; {args.limit} faces, {args.epochs} epochs, masked faces, uniform test part")
    print(
        "| candidate | train img/s (frozen: features) | train wall s | sex | race | age bucket | age MAE | train / test faces |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['train_img_s']:.0f} | {r['train_wall_s']:.0f} | {r['sex']:.2%} | {r['race']:.2%} | "
            f"{r['age_bucket']:.2%} | {r['mae']:.2f} | {r['n_train']} / {r['n_test']} |"
        )


if __name__ == "__main__":
    main()
