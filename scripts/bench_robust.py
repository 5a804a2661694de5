#!/usr/bin/env python
"""Benchmark: what the mask-robust attacker costs against the paper-style masked attacker.

Measures, on this machine, (1) the CPU time to draw one mask from the distribution on a 72-px face
(masking/random_masks.py, as the robust attacker's training step does for every face of every
batch), and (2) training images/s of the attacker network at each input size of the profile (as
scripts/bench_train.py). From the profile's epochs and sizes it then prints the robust stage's
training time as a fraction of the masked attacker's fine-tuning (the masked stage also pretrains
and evaluates, so the fraction of the whole masked stage is lower still). The issue's budget: the
robust stage at most ~75% of the masked training stage.

    python scripts/bench_robust.py                    # the cpu profile
    python scripts/bench_robust.py --profile gpu --steps 2
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import build, images_per_s  # noqa: E402

from maskprivacy.masking.random_masks import MaskDistribution, mask_batch  # noqa: E402
from maskprivacy.training.config import load_profile  # noqa: E402
from maskprivacy.training.pipeline import git_commit  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "utkface-sample"


def sample_faces(folder: Path, n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``n`` sample faces at ``size`` px and their key points scaled to it."""
    import cv2
    from PIL import Image

    from maskprivacy.masking.landmarks import get_landmarker

    lm = get_landmarker("fast")
    ims, pts = [], []
    for f in sorted(folder.glob("*.jpg"))[: 3 * n]:
        rgb = np.asarray(Image.open(f).convert("RGB"))
        found = lm.faces(rgb)
        if found:
            ims.append(cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA))
            pts.append((found[0].points + 0.5) * (size / rgb.shape[1]) - 0.5)
        if len(ims) == n:
            break
    return np.stack(ims), np.stack(pts).astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--data", default=str(SAMPLE), help="a folder of UTKFace-like faces (the sample)")
    ap.add_argument("--faces", type=int, default=1024, help="masks drawn for the timing")
    ap.add_argument("--steps", type=int, default=4, help="timed training steps per size")
    args = ap.parse_args()
    cfg = load_profile(args.profile)
    size = int(cfg["cache"]["size"])
    ims, pts = sample_faces(Path(args.data), 32, size)
    reps = -(-args.faces // len(ims))
    big, bp = np.concatenate([ims] * reps)[: args.faces], np.concatenate([pts] * reps)[: args.faces]
    dist = MaskDistribution.from_dict(cfg["robust"].get("masks"))
    mask_batch(big[:32], bp[:32], np.random.default_rng(0), dist)
    t0 = time.process_time()
    mask_batch(big, bp, np.random.default_rng(1), dist)
    mask_ms = 1000 * (time.process_time() - t0) / len(big)
    print(f"mask drawing at {size} px: {mask_ms:.3f} ms CPU a face ({len(big)} faces)", flush=True)

    fc, rc, m = cfg["finetune"], cfg["robust"], cfg["model"]
    ft_sizes = list(fc.get("sizes") or [m["input_size"]] * int(fc["epochs"]))[: int(fc["epochs"])]
    rb_sizes = list(rc.get("sizes") or [m["input_size"]] * int(rc["epochs"]))[: int(rc["epochs"])]
    ips = {}
    for s in sorted(set(ft_sizes) | set(rb_sizes)):
        ips[s] = images_per_s(build(m["arch"], True), int(s), int(fc["batch_size"]), args.steps)
        print(f"{m['arch']} {s} px batch {fc['batch_size']}: {ips[s]:.1f} training images/s", flush=True)
    per_face_ft = sum(1 / ips[s] for s in ft_sizes)                      # seconds a face, all epochs
    per_face_rb = sum(1 / ips[s] + mask_ms / 1000 for s in rb_sizes)
    res = {"machine": f"{platform.machine()} {os.cpu_count()} cores", "torch": torch.__version__,
           "threads": torch.get_num_threads(), "commit": git_commit(), "profile": args.profile,
           "mask_ms_per_face": round(mask_ms, 3), "images_per_s": {str(k): round(v, 1) for k, v in ips.items()},
           "masked_finetune_s_per_face": round(per_face_ft, 4), "robust_s_per_face": round(per_face_rb, 4),
           "robust_over_masked_finetune": round(per_face_rb / per_face_ft, 3),
           "mask_share_of_robust": round(len(rb_sizes) * mask_ms / 1000 / per_face_rb, 3)}
    print(f"robust stage / masked fine-tuning: {per_face_rb / per_face_ft:.2f} (masks are "
          f"{100 * res['mask_share_of_robust']:.0f}% of the robust stage)")
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
