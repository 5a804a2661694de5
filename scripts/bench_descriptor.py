#!/usr/bin/env python
"""Benchmark: dlib's 128-D face descriptor, dlib's own network against its PyTorch rebuild, on the same chips.

Cuts the aligned 150x150 chips of N faces once (dlib's detector, 68 points, ``dlib.get_face_chip``,
as the dlib attacker does), then describes the same chips three ways, each timed on its own:
dlib's ``compute_face_descriptor`` face by face (the attacker's old path), dlib's list overload
(its own mini-batches), and ``DlibFaceResNet`` in batches (the attacker's path now). Prints faces/s
and CPU ms a face of each, the ratios, and the cosine between the torch and dlib descriptors
(min/max over the faces), so speed and agreement come from one run.

    nice -n 10 python scripts/bench_descriptor.py --data ../shared/data/utkface-sample --n 300
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def timed(fn):
    """(result, wall s, CPU s of this process) of ``fn()``."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    ap.add_argument("--data", default="../shared/data/utkface-sample", help="faces: folder or UTKFace .tar.gz")
    ap.add_argument("--n", type=int, default=300, help="faces to describe (the first N where dlib finds a face)")
    ap.add_argument("--batch-size", type=int, default=64, help="chips per forward pass of the torch network")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--save", help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    if args.n < 1 or args.batch_size < 1 or args.threads < 0:
        ap.error("--n and --batch-size must be >= 1, --threads >= 0")

    import dlib
    import torch

    from maskprivacy.data.imageio import ImageError, decode_image
    from maskprivacy.data.sources import iter_source
    from maskprivacy.faces.landmarks import get_landmarker
    from maskprivacy.faces.model_files import FACE_DESCRIPTOR, model_path
    from maskprivacy.models.dlib_resnet import get_face_resnet
    from maskprivacy.training.dlib_attacker import CHIP_SIZE, PADDING, dlib_shape

    if args.threads:
        torch.set_num_threads(args.threads)
    lm = get_landmarker("fast")
    chips = []
    for item in iter_source(args.data):
        try:
            rgb = decode_image(item.data)
        except ImageError:
            continue
        found = lm.faces(rgb)
        if not found:
            continue
        f = found[0]
        shape = dlib_shape(f.box, f.points)
        chips.append(dlib.get_face_chip(rgb, shape, CHIP_SIZE, PADDING))
        if len(chips) == args.n:
            break
    if not chips:
        print(f"no face found in --data {args.data}", file=sys.stderr)
        return 2
    n = len(chips)
    stack = np.stack(chips)

    ref = dlib.face_recognition_model_v1(str(model_path(FACE_DESCRIPTOR)))
    net = get_face_resnet()  # parse/cache the weights before any clock starts
    ref.compute_face_descriptor(chips[0])  # first calls allocate: keep them off the clock
    net.describe(stack[: args.batch_size], args.batch_size)

    load0 = os.getloadavg()[0]
    one, w_one, c_one = timed(lambda: np.array([np.asarray(ref.compute_face_descriptor(c)) for c in chips]))
    lst, w_lst, c_lst = timed(lambda: np.array([np.asarray(v) for v in ref.compute_face_descriptor(chips)]))
    ours, w_t, c_t = timed(lambda: net.describe(stack, args.batch_size))

    def cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = a.astype(np.float64), b.astype(np.float64)
        return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

    c = cos(ours, one)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    res = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}",
        "commit": commit,
        "faces": n,
        "batch_size": args.batch_size,
        "torch_threads": torch.get_num_threads(),
        "load_average_1min_before": round(load0, 2),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "dlib_one_by_one": {"faces_per_s": round(n / w_one, 1), "cpu_ms_per_face": round(1000 * c_one / n, 2)},
        "dlib_list": {"faces_per_s": round(n / w_lst, 1), "cpu_ms_per_face": round(1000 * c_lst / n, 2)},
        "torch_batched": {"faces_per_s": round(n / w_t, 1), "cpu_ms_per_face": round(1000 * c_t / n, 2)},
        "speedup_vs_dlib_one_by_one": round(w_one / w_t, 2),
        "speedup_vs_dlib_list": round(w_lst / w_t, 2),
        "cosine_torch_vs_dlib": {"min": float(c.min()), "max": float(c.max())},
        "cosine_dlib_list_vs_one": float(cos(lst, one).min()),
        "max_abs_diff": float(np.abs(ours - one).max()),
    }
    print(json.dumps(res, indent=2))
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        Path(args.save).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
