#!/usr/bin/env python
"""Benchmark: mask the whole UTKFace archive, next to the paper's recipe on a sample, in one run.

Prints images/s of both, the speed-up as a measured ratio, the share of faces kept, how far the
fast path's 68 key points are from the paper recipe's (mean distance in pixels) on the sample, and
dlib's shape_predictor against the batched evaluation of the same model on the same boxes (time a
face and key-point distance).

    python scripts/bench_mask.py --data ../shared/data/UTKFace.tar.gz --out /tmp/bench-mask
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from maskprivacy.data.imageio import decode_image, encode_jpeg
from maskprivacy.data.sources import iter_source
from maskprivacy.faces.batch_predictor import get_batch_predictor
from maskprivacy.faces.landmarks import Landmarker
from maskprivacy.masking.batch import MaskConfig, run_masking
from maskprivacy.masking.draw import draw_mask


def machine_busy_s() -> float | None:
    """CPU seconds the whole machine has been busy (all processes, all cores), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def paper_recipe(items, out_dir: Path) -> tuple[float, dict[str, np.ndarray], list]:
    """HOG with one up-sampling, one process, decode -> detect -> 68 points -> mask -> JPEG -> write.

    Also returns (gray, box) of every face found, for the predictor comparison.
    """
    lm = Landmarker("paper")
    lm.points(np.zeros((50, 50), np.uint8), (0, 0, 40, 40))  # load dlib's predictor before the clock starts
    out_dir.mkdir(parents=True, exist_ok=True)
    pts: dict[str, np.ndarray] = {}
    faces = []
    t0 = time.perf_counter()
    for it in items:
        rgb = decode_image(it.data)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        boxes = lm.detect(gray)
        if not boxes:
            continue
        p = lm.points(gray, boxes[0])
        pts[it.name] = p
        faces.append((gray, boxes[0]))
        (out_dir / it.name).write_bytes(encode_jpeg(draw_mask(rgb, p, "a", "white")))
    return time.perf_counter() - t0, pts, faces


def compare_predictors(faces: list, dlib_pts: list[np.ndarray], batch: int = 32) -> dict:
    """dlib's shape_predictor face by face vs the batched evaluation of the same model, same boxes."""
    import torch

    torch.set_num_threads(1)  # as in a masking worker
    bp = get_batch_predictor()
    lm = Landmarker("paper")
    lm.points(faces[0][0], faces[0][1])
    t0 = time.perf_counter()
    for g, b in faces:
        lm.points(g, b)
    t_dlib = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = np.concatenate(
        [
            bp.predict([g for g, _ in faces[i : i + batch]], [b for _, b in faces[i : i + batch]])
            for i in range(0, len(faces), batch)
        ]
    )
    t_ours = time.perf_counter() - t0
    dist = np.linalg.norm(ours.astype(float) - np.stack(dlib_pts).astype(float), axis=-1)
    return {
        "predictor_faces": len(faces),
        "dlib_predictor_ms_per_face": round(1000 * t_dlib / len(faces), 3),
        "batched_predictor_ms_per_face": round(1000 * t_ours / len(faces), 3),
        "predictor_speedup": round(t_dlib / t_ours, 2),
        "keypoint_mean_px_batched_vs_dlib_same_box": round(float(dist.mean()), 4),
        "keypoint_max_px_batched_vs_dlib_same_box": round(float(dist.max()), 2),
        "keypoints_identical_pct": round(100.0 * float((dist == 0).mean()), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/UTKFace.tar.gz")
    ap.add_argument("--out", default="/tmp/bench-mask")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--sample", type=int, default=300, help="images for the paper-recipe comparison")
    ap.add_argument("--limit", type=int, default=None, help="only the first N files of --data")
    ap.add_argument("--save", help="also write the figures as JSON here (e.g. results/bench_mask.json)")
    args = ap.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)

    # 1. the sample (every k-th image of the source) through the paper's recipe, one process
    sample = []
    for i, it in enumerate(iter_source(args.data)):
        if i % 79 == 0:
            sample.append(it)
        if len(sample) >= args.sample:
            break
    t_paper, paper_pts, faces = paper_recipe(sample, out / "paper")
    get_batch_predictor()  # parse dlib's model into the cache once (seconds), before any clock starts

    # 2. the whole dataset through `maskprivacy mask` (fast path, all cores). CPU seconds are
    # recorded too: on a shared machine, wall time alone says more about the neighbours than the code.
    # (The workers are children of the forkserver, not of this process, so getrusage(RUSAGE_CHILDREN)
    # cannot see them: the machine-wide busy time from /proc/stat is used.)
    busy0 = machine_busy_s()
    s = run_masking(args.data, out / "fast", MaskConfig(), workers=args.workers, limit=args.limit, progress=False)
    busy1 = machine_busy_s()
    cpu_s = busy1 - busy0 if busy0 is not None and busy1 is not None else None
    named = s.total - s.counts.get("skipped", 0) - s.counts.get("bad_label", 0)
    kept = s.counts.get("ok", 0) + s.counts.get("multiple_faces", 0)

    # 3. key points of the fast path vs the paper's, on the sample
    from maskprivacy.masking.mask_run import load_report

    rows, lms = load_report(out / "fast")
    idx = {r["name"]: int(r["landmark_row"]) for r in rows}
    d = [
        np.linalg.norm(lms[idx[n]].astype(float) - p.astype(float), axis=1).mean()
        for n, p in paper_pts.items()
        if idx.get(n, -1) >= 0
    ]
    fast_rate = s.images_per_s
    paper_rate = len(sample) / t_paper
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    res = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.processor() or platform.platform()}",
        "commit": commit,
        "dataset_files": s.total,
        "well_named_images": named,
        "faces_masked": kept,
        "kept_pct": round(100.0 * kept / max(1, named), 2),
        "counts": s.counts,
        "fast_wall_s": round(s.wall_s, 1),
        "machine_busy_cpu_s": None if cpu_s is None else round(cpu_s, 1),
        "machine_busy_cores_avg": None if cpu_s is None else round(cpu_s / max(1e-9, s.wall_s), 2),
        "cpu_ms_per_image": None if cpu_s is None else round(1000 * cpu_s / max(1, s.total), 2),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "fast_images_per_s": round(fast_rate, 1),
        "workers": args.workers,
        "paper_sample": len(sample),
        "paper_found": len(paper_pts),
        "paper_images_per_s": round(paper_rate, 1),
        "speedup": round(fast_rate / paper_rate, 2),
        "keypoint_mean_px_fast_vs_paper": round(float(np.mean(d)), 3) if d else None,
        "keypoint_p95_px_fast_vs_paper": round(float(np.percentile(d, 95)), 3) if d else None,
        "keypoint_pairs": len(d),
    }
    res.update(compare_predictors(faces, list(paper_pts.values())))
    print(json.dumps(res, indent=2))
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        Path(args.save).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
