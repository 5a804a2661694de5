#!/usr/bin/env python
"""Benchmark: what the mask-robust attacker costs against the paper-style masked attacker.

Measures, on this machine, (1) the CPU time to draw one mask from the distribution on a 72-px face
(masking/random_masks.py, as the robust attacker's training step does for every face of every
batch, in one thread), and (2) the CPU time of one training step per image at each input size of
the profile (as scripts/bench_train.py, all torch threads). CPU time, not wall time, so that the
figures hold on a shared machine. The wall-time estimate divides the training CPU time by the torch
threads (perfect scaling: training can only be slower, so the robust/masked ratio printed is an
upper bound). From the profile's epochs and sizes it prints the robust stage's training time as a
fraction of the masked attacker's fine-tuning (the masked stage also pretrains and evaluates, so the
fraction of the whole masked stage is lower still). The budget it is held to: the robust stage
at most ~75% of the masked training stage.

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

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `maskprivacy train`: spinning threads would bill CPU time
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import build  # noqa: E402

from maskprivacy.masking.random_masks import MaskDistribution, mask_batch  # noqa: E402
from maskprivacy.provenance import git_commit  # noqa: E402
from maskprivacy.training.config import load_profile  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "utkface-sample"


def sample_faces(folder: Path, n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``n`` sample faces at ``size`` px and their key points scaled to it."""
    import cv2
    from PIL import Image

    from maskprivacy.faces.landmarks import get_landmarker

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


def train_cpu_s_per_image(arch: str, size: int, batch: int, steps: int) -> float:
    """CPU seconds (all threads) of one fine-tuning step per image: augmentation, forward, four losses,
    backward, AdamW."""
    from torch import nn

    from maskprivacy.training.augment import AugmentConfig, augment

    net = build(arch, True)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    x8 = torch.randint(0, 256, (batch, 3, 72, 72), dtype=torch.uint8, generator=g)
    cfg = AugmentConfig.from_dict({"scale": [0.85, 1.0], "ratio": [0.95, 1.05], "jitter": 0.0, "grayscale": 0.0})
    y = {
        "sex": torch.randint(0, 2, (batch,)),
        "race": torch.randint(0, 5, (batch,)),
        "age_bucket": torch.randint(0, 7, (batch,)),
        "age": torch.rand(batch),
    }

    def step() -> None:
        out = net(augment(x8, size, [0, 0, 1, 1], cfg))
        loss = sum(
            nn.functional.cross_entropy(v, y[t]) if t != "age" else nn.functional.smooth_l1_loss(v, y[t])
            for t, v in out.items()
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    t0 = time.process_time()
    for _ in range(steps):
        step()
    return (time.process_time() - t0) / (batch * steps)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--data", default=str(SAMPLE), help="a folder of UTKFace-like faces (the sample)")
    ap.add_argument("--faces", type=int, default=1024, help="masks drawn for the timing")
    ap.add_argument("--steps", type=int, default=4, help="timed training steps per size")
    ap.add_argument(
        "--n-test", type=int, default=2349, help="test faces of the styles stage (the cpu run's uniform split)"
    )
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
    threads = torch.get_num_threads()
    cpu = {}
    for s in sorted(set(ft_sizes) | set(rb_sizes)):
        cpu[s] = train_cpu_s_per_image(m["arch"], int(s), int(fc["batch_size"]), args.steps)
        print(
            f"{m['arch']} {s} px batch {fc['batch_size']}: {1000 * cpu[s]:.2f} ms CPU a training image "
            f"({threads} threads)",
            flush=True,
        )
    wall = {s: v / threads for s, v in cpu.items()}  # perfect thread scaling: a lower bound
    per_face_ft = sum(wall[s] for s in ft_sizes)  # seconds a face, all epochs
    per_face_rb = sum(wall[s] + mask_ms / 1000 for s in rb_sizes)
    res = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "torch": torch.__version__,
        "threads": threads,
        "commit": git_commit(),
        "profile": args.profile,
        "mask_ms_per_face": round(mask_ms, 3),
        "train_cpu_ms_per_image": {str(k): round(1000 * v, 2) for k, v in cpu.items()},
        "finetune_sizes": ft_sizes,
        "robust_sizes": rb_sizes,
        "masked_finetune_s_per_face": round(per_face_ft, 4),
        "robust_s_per_face": round(per_face_rb, 4),
        "robust_over_masked_finetune": round(per_face_rb / per_face_ft, 3),
        "mask_share_of_robust": round(len(rb_sizes) * mask_ms / 1000 / per_face_rb, 3),
    }
    # the styles stage: every CNN attacker (3) predicts the test faces in every style (+ bare)
    from maskprivacy.masking.draw import STYLES
    from maskprivacy.models.factory import ALL_TASKS, create_model
    from maskprivacy.models.predictor import Predictor

    pred = Predictor(
        create_model(m["arch"], ALL_TASKS, stem=m["stem"]),
        arch=m["arch"],
        stem=m["stem"],
        input_size=int(m["input_size"]),
        crop=m["crop"],
        tta=bool(cfg["eval"].get("styles_tta", True)),
    )
    faces = np.concatenate([ims] * (-(-512 // len(ims))))[:512]
    pred.predict(faces[:64])
    t0 = time.process_time()
    pred.predict(faces, batch_size=int(cfg["eval"]["batch_size"]))
    eval_cpu = (time.process_time() - t0) / len(faces)
    styles_wall = args.n_test * (len(STYLES) + 1) * 3 * eval_cpu / threads
    res.update(
        eval_cpu_ms_per_image=round(1000 * eval_cpu, 2),
        styles_tta=pred.tta,
        styles_stage_s_estimate=round(styles_wall, 1),
        n_test=args.n_test,
    )
    print(
        f"evaluation: {1000 * eval_cpu:.2f} ms CPU an image (tta {pred.tta}); styles stage "
        f"({len(STYLES) + 1} styles x 3 attackers x {args.n_test} faces): ~{styles_wall:.0f} s wall (lower bound)"
    )
    print(
        f"robust stage / masked fine-tuning (upper bound): {per_face_rb / per_face_ft:.2f} (mask drawing is "
        f"{100 * res['mask_share_of_robust']:.0f}% of the robust stage)"
    )
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
