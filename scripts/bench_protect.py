#!/usr/bin/env python
"""Benchmark ``maskprivacy protect`` on a 640-px photo with one face: JPEG bytes in, ranking and grid out.

The photo is a UTKFace sample face enlarged to 240 px and pasted on a 640x480 canvas with a little
texture, encoded as JPEG. Each repetition times what the command does after loading the models:
decode, find and align the face, draw every occlusion of the catalog (and the bare face), read them
all with the attacker in one batch, rank, and render the picture grid. Then the same steps one at a
time (CPU milliseconds), so the total can be traced to its parts. Models: ``--model RUN`` if given
(its adaptive attacker, else its digital-mask reader), else an untrained run with the cpu profile's
network, which costs the same as a trained one. Prints machine, commit and load beside the figures,
and this process's CPU time next to the wall time (on a shared machine the wall time also counts
other jobs).

    python scripts/bench_protect.py                 # ~1 minute on 2 cores
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def make_photo(face: Path, rng: np.random.Generator) -> bytes:
    canvas = np.full((480, 640, 3), 118, np.uint8) + rng.integers(0, 12, (480, 640, 3), dtype=np.uint8)
    f = np.asarray(Image.open(face).convert("RGB").resize((240, 240), Image.Resampling.BICUBIC))
    canvas[120:360, 200:440] = f
    b = io.BytesIO()
    Image.fromarray(canvas).save(b, "JPEG", quality=92)
    return b.getvalue()


def untrained_cpu_run(folder: str) -> tuple[str, str]:
    """An untrained run with the cpu profile's network (as scripts/bench_analyze.py builds it)."""
    import yaml

    from maskprivacy.analysis.demo_run import make_demo_run

    prof = yaml.safe_load((REPO / "src/maskprivacy/training/profiles/cpu.yaml").read_text())
    m = prof["model"]
    run = make_demo_run(
        folder,
        arch=m["arch"],
        stem=m["stem"],
        input_size=int(m["input_size"]),
        crop=tuple(m["crop"]),
        cache_size=int(prof["cache"]["size"]),
    )
    return str(run), f"untrained {m['arch']}/{m['stem']}, {m['input_size']} px (the cpu profile's network)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="run directory (default: an untrained cpu-profile run in a temp folder)")
    ap.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "data" / "utkface-sample")
    ap.add_argument("--repeat", type=int, default=10, help="photos timed")
    ap.add_argument("--detector", default="auto", choices=("auto", "blazeface", "dlib"))
    args = ap.parse_args(argv)

    from maskprivacy.analysis.protect import grid_image, load_protect_attacker, protect_photo
    from maskprivacy.analysis.torch_threads import torch_threads
    from maskprivacy.data.imageio import decode_image
    from maskprivacy.faces.align import resize_crop
    from maskprivacy.faces.photo import find_faces
    from maskprivacy.masking.occluders import BARE, OCCLUSIONS, apply_occlusion
    from maskprivacy.provenance import git_commit, machine_line

    tmp = tempfile.TemporaryDirectory() if args.model is None else None
    model, desc = untrained_cpu_run(tmp.name) if tmp is not None else (args.model, args.model)
    attacker = load_protect_attacker(model)
    files = sorted(p for p in args.faces.glob("*.jpg") if p.name.count("_") >= 3)
    rng = np.random.default_rng(0)
    photos = [make_photo(files[(37 * i) % len(files)], rng) for i in range(args.repeat)]

    def whole(data: bytes) -> int:
        res = protect_photo(decode_image(data), attacker, args.detector)
        grid_image(res)
        res.to_dict()
        return len(res.faces)

    whole(photos[0])  # warm up: the first call loads the detector and allocates
    print(machine_line())
    print(f"commit: {git_commit()}; model: {desc} ({attacker.name}); occlusions: {len(OCCLUSIONS)} + bare")
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    faces = sum(whole(p) for p in photos)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"640x480 photos, one face each: {len(photos)} photos, {faces} faces found")
    print(f"  per photo: wall {wall / len(photos):.2f} s, CPU {cpu / len(photos):.2f} s")

    steps: dict[str, float] = {"decode": 0.0, "find + align": 0.0, "occlusions": 0.0, "attacker": 0.0}
    for data in photos:
        c = time.process_time()
        rgb = decode_image(data)
        steps["decode"] += time.process_time() - c
        c = time.process_time()
        found = find_faces(rgb, False, args.detector)
        steps["find + align"] += time.process_time() - c
        for f in found:
            c = time.process_time()
            crops = [apply_occlusion(f.aligned.crop, f.aligned.points68, n, 0).image for n in [BARE, *OCCLUSIONS]]
            steps["occlusions"] += time.process_time() - c
            c = time.process_time()
            with torch_threads(1):
                attacker.predictor.predict(np.stack([resize_crop(x, attacker.side) for x in crops]))
            steps["attacker"] += time.process_time() - c
    res = protect_photo(decode_image(photos[0]), attacker, args.detector)
    c = time.process_time()
    for _ in range(3):
        grid_image(res)
    grid_ms = 1000 * (time.process_time() - c) / 3
    print(
        "  CPU ms per photo: "
        + ", ".join(f"{k} {1000 * v / len(photos):.0f}" for k, v in steps.items())
        + f", grid {grid_ms:.0f}"
    )
    print(f"load average (1 min) before/after: {load0:.2f} / {os.getloadavg()[0]:.2f} (above the core count: shared)")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
