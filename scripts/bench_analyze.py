#!/usr/bin/env python
"""Benchmark ``analyze`` end to end: JPEG bytes in, readings (bare and digitally masked) out.

Two inputs, each analysed one request at a time and in batches (``Analyzer.analyze_batch`` runs
the models once over every face of the batch):

* 200x200 faces: UTKFace sample crops;
* 1024x768 photos: four sample faces pasted on a grey canvas at 200 px each (faces are 20% of the
  photo's width, as in a group snapshot), encoded as JPEG.

Each timing covers decode, detection, alignment, the mask check, the 68 points, the digital mask,
both models and building the result dictionary. Models: ``--model RUN`` if given, else an
untrained run with the cpu profile's network (ResNet-18, ImageNet stem, 64 px, flip averaging), which
costs the same as a trained one. Prints machine, commit, load and torch threads beside the figures.

    python scripts/bench_analyze.py                 # ~2 minutes on 2 cores
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def sample_faces(folder: Path, n: int) -> list[bytes]:
    files = sorted(p for p in folder.glob("*.jpg") if p.name.count("_") >= 3)
    step = max(1, len(files) // n)
    return [p.read_bytes() for p in files[::step][:n]]


def make_photo(faces: list[bytes], rng: np.random.Generator) -> bytes:
    canvas = np.full((768, 1024, 3), 118, np.uint8)
    canvas += rng.integers(0, 12, canvas.shape, dtype=np.uint8)  # a little texture, like a wall
    for i, data in enumerate(faces[:4]):
        f = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        x, y = 30 + i * 250, 120 + (i % 2) * 330
        canvas[y:y + 200, x:x + 200] = f
    b = io.BytesIO()
    Image.fromarray(canvas).save(b, "JPEG", quality=92)
    return b.getvalue()


def timed(fn, items: list, batch: int) -> tuple[float, int]:
    """Seconds to analyse every item (in groups of ``batch``) and the number of faces found."""
    n_faces = 0
    t0 = time.perf_counter()
    for s in range(0, len(items), batch):
        for r in fn(items[s:s + batch]):
            r.to_dict()
            n_faces += len(r.faces)
    return time.perf_counter() - t0, n_faces


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="run directory (default: an untrained cpu-profile run in a temp folder)")
    ap.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "data" / "utkface-sample")
    ap.add_argument("--n-faces", type=int, default=96, help="200x200 faces per measurement")
    ap.add_argument("--n-photos", type=int, default=24, help="1024x768 photos per measurement")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--mask", default="a", help="digital mask style")
    ap.add_argument("--detector", default="auto", choices=("auto", "blazeface", "dlib"))
    args = ap.parse_args(argv)

    import torch

    from maskprivacy.serve.analyze import Analyzer
    from maskprivacy.serve.demo_run import make_demo_run

    tmp = None
    if args.model is None:
        tmp = tempfile.TemporaryDirectory()
        model = str(make_demo_run(tmp.name, arch="resnet18", stem="imagenet", input_size=64))
        model_desc = "untrained ResNet-18, 64 px (cpu profile's network)"
    else:
        model = args.model
        model_desc = model
    an = Analyzer(model, detector=args.detector)
    faces = sample_faces(args.faces, args.n_faces)
    rng = np.random.default_rng(0)
    pool = sample_faces(args.faces, 4 * args.n_photos)
    photos = [make_photo(pool[4 * i:4 * i + 4], rng) for i in range(args.n_photos)]

    def single(items):
        return [an.analyze(x, args.mask) for x in items]

    def batched(items):
        return an.analyze_batch(items, args.mask)

    an.analyze_batch(faces[:4], args.mask)  # warm up (first calls allocate)
    an.analyze(photos[0], args.mask)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True).stdout
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    print(f"machine: {os.cpu_count()} cores, {cpu}; python {platform.python_version()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch threads")
    print(f"commit: {commit}{' + uncommitted changes' if dirty else ''}; detector: {an.detector_backend}; "
          f"model: {model_desc}; digital mask: {args.mask}")
    load0 = os.getloadavg()[0]
    print(f"{'input':24s} {'mode':16s} {'items':>5s} {'faces':>5s} {'seconds':>8s} {'photos/s':>9s} {'faces/s':>8s}")
    for name, items in (("200x200 faces", faces), ("1024x768 photos (4 faces)", photos)):
        for mode, fn, batch in (("single requests", single, 1), (f"batches of {args.batch}", batched, args.batch)):
            secs, n = timed(fn, items, batch)
            print(f"{name:24s} {mode:16s} {len(items):5d} {n:5d} {secs:8.2f} {len(items) / secs:9.1f} {n / secs:8.1f}")
    print(f"load average (1 min) before/after: {load0:.2f} / {os.getloadavg()[0]:.2f} "
          f"(above the core count means other jobs shared the CPU)")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
