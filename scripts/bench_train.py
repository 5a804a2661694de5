#!/usr/bin/env python
"""Benchmark: training images/s of an attacker network, two settings against each other in one run.

One training step = the batched augmentation, forward, the four task losses, backward and an AdamW
step, as in fine-tuning. Each setting is timed in the same run, alternating, so the printed ratio
compares like with like on a noisy machine.

``--compare dense`` (default): the dense small-map path against ``plain``, which turns the network's
SmallMapConv2d modules back into nn.Conv2d (oneDNN for every convolution).
``--compare precision``: bf16 autocast (what Lightning's ``bf16-mixed`` does on a CPU) against
float32; the profiles' ``precision: auto`` picks bf16 only where the CPU has it in hardware
(``training.config.cpu_native_bf16``, printed here).

    python scripts/bench_train.py                       # ResNet-18 at 48 and 64 px, batch 128
    python scripts/bench_train.py --arch resnet50 --sizes 112 --batch 64
    python scripts/bench_train.py --compare precision                                   # the CNN
    python scripts/bench_train.py --compare precision --arch dlib_face --sizes 112 --batch 64   # facenet
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import torch
from torch import nn

from maskprivacy.models.factory import ALL_TASKS, create_model
from maskprivacy.models.small_conv import SmallMapConv2d
from maskprivacy.provenance import git_commit
from maskprivacy.training.augment import AugmentConfig, augment
from maskprivacy.training.config import cpu_native_bf16


def build(arch: str, dense: bool) -> nn.Module:
    torch.manual_seed(0)
    net = create_model(arch, ALL_TASKS)
    if not dense:
        for m in net.modules():
            if isinstance(m, SmallMapConv2d):
                m.__class__ = nn.Conv2d
    return net.to(memory_format=torch.channels_last).train()


def images_per_s(net: nn.Module, size: int, batch: int, steps: int, bf16: bool = False) -> float:
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    side = max(72, size)  # the cache's side: 72 px for the CNN, the input size for the face network
    x8 = torch.randint(0, 256, (batch, 3, side, side), dtype=torch.uint8, generator=g)
    cfg = AugmentConfig.from_dict(
        {"scale": [0.85, 1.0], "ratio": [0.95, 1.05], "jitter": 0.0, "grayscale": 0.0, "hue": 0.0}
    )
    y = {
        "sex": torch.randint(0, 2, (batch,)),
        "race": torch.randint(0, 5, (batch,)),
        "age_bucket": torch.randint(0, 7, (batch,)),
        "age": torch.rand(batch),
    }

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(augment(x8, size, [0, 0, 1, 1], cfg))
            loss = sum(
                nn.functional.cross_entropy(v, y[t]) if t != "age" else nn.functional.smooth_l1_loss(v, y[t])
                for t, v in out.items()
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up: oneDNN picks its kernels on the first call
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="resnet18")
    ap.add_argument("--sizes", type=int, nargs="+", default=[48, 64])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=6, help="timed steps per measurement")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each is kept")
    ap.add_argument(
        "--compare", choices=["dense", "precision"], default="dense", help="what the two settings differ in"
    )
    args = ap.parse_args()
    settings = ("dense", "plain") if args.compare == "dense" else ("bf16", "fp32")
    res: dict = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "commit": git_commit(),
        "arch": args.arch,
        "batch": args.batch,
        "cpu_native_bf16": cpu_native_bf16(),
    }
    for size in args.sizes:
        best = dict.fromkeys(settings, 0.0)
        for _ in range(args.rounds):
            for name in best:
                net = build(args.arch, dense=name != "plain")
                best[name] = max(best[name], images_per_s(net, size, args.batch, args.steps, bf16=name == "bf16"))
        new, old = settings
        res[f"{size}px"] = {k: round(v, 1) for k, v in best.items()} | {"speedup": round(best[new] / best[old], 2)}
        print(
            f"{args.arch} {size}px batch {args.batch}: {new} {best[new]:.1f} img/s, {old} {best[old]:.1f} img/s, "
            f"speed-up {best[new] / best[old]:.2f}x",
            flush=True,
        )
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
