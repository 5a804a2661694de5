#!/usr/bin/env python
"""Benchmark ``analyze`` end to end: JPEG bytes in, readings (bare and digitally masked) out.

Two inputs, each analysed one request at a time and in batches (``Analyzer.analyze_batch`` runs
the models once over every face of the batch):

* 200x200 faces: UTKFace sample crops;
* 1024x768 photos: four sample faces pasted on a grey canvas at 200 px each (faces are 20% of the
  photo's width, as in a group snapshot), encoded as JPEG.

Each timing covers decode, detection, alignment, the mask check, the 68 points, the digital mask,
both models and building the result dictionary. Models: ``--model RUN`` if given, else an untrained
run with the cpu profile's network (read from its profile: ResNet-18, 64 px from 80-px faces, flip
averaging), which costs the same as a trained one. Prints machine, commit, load and torch threads
beside the figures, and this process's CPU time next to the wall time (on a shared machine, faces
per CPU-second is what the work costs; wall-clock figures also count the time other jobs held the
cores).

    python scripts/bench_analyze.py                 # a few minutes on 2 cores
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
        canvas[y : y + 200, x : x + 200] = f
    b = io.BytesIO()
    Image.fromarray(canvas).save(b, "JPEG", quality=92)
    return b.getvalue()


def timed(fn, items: list, batch: int) -> tuple[float, float, int]:
    """Wall seconds and this process's CPU seconds to analyse every item (in groups of ``batch``), and
    the number of faces found. On a shared machine the CPU seconds say what the work costs; the wall
    seconds also count the time other jobs held the cores."""
    n_faces = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for s in range(0, len(items), batch):
        for r in fn(items[s : s + batch]):
            r.to_dict()
            n_faces += len(r.faces)
    return time.perf_counter() - t0, time.process_time() - c0, n_faces


def breakdown(an, faces: list[bytes], photos: list[bytes], style: str) -> None:
    """CPU milliseconds per face for each step, measured one step at a time on the same inputs."""
    from maskprivacy.analysis.torch_threads import torch_threads
    from maskprivacy.data.imageio import decode_image
    from maskprivacy.faces.align import resize_crop
    from maskprivacy.faces.detect import get_detector
    from maskprivacy.faces.photo import align_face
    from maskprivacy.masking.draw import draw_mask

    det = get_detector(an.detector)

    def cpu(fn, items) -> tuple[float, list]:
        c0 = time.process_time()
        out = [fn(x) for x in items]
        return time.process_time() - c0, out

    for name, items in (("200x200 faces", faces), ("1024x768 photos", photos)):
        t_dec, rgbs = cpu(decode_image, items)
        t_det, dets = cpu(det.detect, rgbs)
        pairs = [(rgb, d) for rgb, ds in zip(rgbs, dets) for d in ds]
        n = max(1, len(pairs))
        check = an.mask_detector.check if an.mask_detector is not None else None  # as analyze decides
        with torch_threads(an.threads if check is not None else None):
            t_al, found = cpu(lambda p: align_face(*p, mask_check=check), pairs)
        t_mask, masked = cpu(lambda f: draw_mask(f.aligned.crop, f.aligned.points68, style), found)
        crops = [resize_crop(f.aligned.crop, an.models.side["unmasked"]) for f in found]
        pred = an.models.unmasked
        with torch_threads(an.threads):
            t_b1, _ = cpu(lambda c: pred.predict(c[None]), crops)
            c0 = time.process_time()
            for s in range(0, len(crops), 16):
                pred.predict(np.stack(crops[s : s + 16]))
            t_b16 = time.process_time() - c0
        print(
            f"  CPU ms per face, {name} ({len(pairs)} faces): decode {1000 * t_dec / n:.1f}, "
            f"detect {1000 * t_det / n:.1f}, align + {'mask detector' if check else 'colour check'} + 68 points "
            f"{1000 * t_al / n:.1f}, "
            f"digital mask {1000 * t_mask / n:.1f}, one model {1000 * t_b1 / n:.1f} one face at a time / "
            f"{1000 * t_b16 / n:.1f} in batches of 16 (two models read each face)"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="run directory (default: an untrained cpu-profile run in a temp folder)")
    ap.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "data" / "utkface-sample")
    ap.add_argument("--n-faces", type=int, default=96, help="200x200 faces per measurement")
    ap.add_argument("--n-photos", type=int, default=24, help="1024x768 photos per measurement")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--mask", default="a", help="digital mask style")
    ap.add_argument("--detector", default="auto", choices=("auto", "blazeface", "dlib"))
    ap.add_argument("--threads", type=int, default=1, help="torch threads while the models run (0: torch's default)")
    ap.add_argument("--no-tta", action="store_true", help="no flip averaging in the models (half their cost)")
    args = ap.parse_args(argv)

    import torch

    from maskprivacy.analysis.analyzer import Analyzer
    from maskprivacy.analysis.demo_run import make_demo_run

    tmp = None
    if args.model is None:
        tmp = tempfile.TemporaryDirectory()
        import yaml

        prof = yaml.safe_load((REPO / "src/maskprivacy/training/profiles/cpu.yaml").read_text())
        m = prof["model"]
        model = str(
            make_demo_run(
                tmp.name,
                arch=m["arch"],
                stem=m["stem"],
                input_size=int(m["input_size"]),
                crop=tuple(m["crop"]),
                cache_size=int(prof["cache"]["size"]),
            )
        )
        model_desc = (
            f"untrained {m['arch']}/{m['stem']}, {m['input_size']} px from {prof['cache']['size']}-px faces "
            f"(the cpu profile's network)"
        )
    else:
        model = args.model
        model_desc = model
    an = Analyzer(model, detector=args.detector, threads=args.threads or None, tta=False if args.no_tta else None)
    faces = sample_faces(args.faces, args.n_faces)
    rng = np.random.default_rng(0)
    pool = sample_faces(args.faces, 4 * args.n_photos)
    photos = [make_photo(pool[4 * i : 4 * i + 4], rng) for i in range(args.n_photos)]

    def single(items):
        return [an.analyze(x, args.mask) for x in items]

    def batched(items):
        return an.analyze_batch(items, args.mask)

    an.analyze_batch(faces[:4], args.mask)  # warm up (first calls allocate)
    an.analyze(photos[0], args.mask)
    commit = (
        subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        or "unknown"
    )
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True).stdout
    cpu = (
        next(
            (ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
            platform.processor(),
        )
        if os.path.exists("/proc/cpuinfo")
        else platform.processor()
    )
    print(
        f"machine: {os.cpu_count()} cores, {cpu}; python {platform.python_version()}, torch {torch.__version__}, "
        f"torch threads while the models run: {args.threads or torch.get_num_threads()}"
    )
    print(
        f"commit: {commit}{' + uncommitted changes' if dirty else ''}; detector: {an.detector_backend}; "
        f"model: {model_desc}; flip averaging: {'off' if args.no_tta else 'as in the bundle'}; digital mask: {args.mask}"
    )
    load0 = os.getloadavg()[0]
    print(
        f"{'input':26s} {'mode':16s} {'items':>5s} {'faces':>5s} {'wall s':>7s} {'photos/s':>9s} {'faces/s':>8s} "
        f"{'CPU s':>7s} {'faces/CPU-s':>11s}"
    )
    for name, items in (("200x200 faces", faces), ("1024x768 photos, 4 faces", photos)):
        for mode, fn, batch in (("single requests", single, 1), (f"batches of {args.batch}", batched, args.batch)):
            secs, cpu_s, n = timed(fn, items, batch)
            print(
                f"{name:26s} {mode:16s} {len(items):5d} {n:5d} {secs:7.2f} {len(items) / secs:9.1f} {n / secs:8.1f} "
                f"{cpu_s:7.2f} {n / cpu_s:11.1f}"
            )
    breakdown(an, faces, photos, args.mask)
    print(
        f"load average (1 min) before/after: {load0:.2f} / {os.getloadavg()[0]:.2f} "
        f"(above the core count means other jobs shared the CPU)"
    )
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
