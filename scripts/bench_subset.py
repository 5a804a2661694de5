"""What the training benchmarks (bench_facenet.py, bench_moco.py) share: scratch run folders on one
seeded subset of a masking run's faces, and the line that says where the figures were measured.

The subset is drawn with a fixed seed from the faces' sorted names, not taken as the first by name
(UTKFace's names start with the age, so those would be its youngest faces).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from maskprivacy.provenance import git_commit, machine_line
from maskprivacy.training import cache as cache_mod
from maskprivacy.training import pipeline as tp


def subset_run(cfg: dict, data: str, mask_run: str, run: Path, caches: Path, limit: int, seed: int = 0) -> Path:
    """``run`` with its cache folder linked to ``caches`` (one cache shared by the candidates), the
    masked cache built, and splits made on ``limit`` faces drawn with ``seed``."""
    run.mkdir(parents=True, exist_ok=True)
    caches.mkdir(parents=True, exist_ok=True)
    if not (run / "cache").exists():
        (run / "cache").symlink_to(os.path.relpath(caches, run), target_is_directory=True)
    tp.prepare_cache(cfg, data, mask_run, run, ("masked",))
    names = cache_mod.load_cache(tp.cache_path(run, cfg, "masked")).names
    rng = np.random.default_rng(seed)
    subset = sorted(rng.choice(sorted(names), size=min(limit, len(names)), replace=False).tolist())
    tp.prepare_splits(cfg, run, subset)
    return run


def measured_on() -> str:
    """``commit ...; <cores, CPU, platform, torch>`` (provenance.machine_line)."""
    return f"commit {git_commit()}; {machine_line()}"
