"""Decode and resize every face once, into memory-mapped uint8 arrays that epochs read for free.

Decoding 23,700 JPEGs costs about a minute; doing it every epoch (and in every DDP process) would
cost more than the training itself on a CPU. The cache holds, per condition:

    CACHE/<condition>_s<S>/images.npy   (N, S, S, 3) uint8 RGB, a .npy read with mmap_mode="r"
    CACHE/<condition>_s<S>/labels.csv   name, age, sex, race, age_bucket (row i = image i)
    CACHE/<condition>_s<S>/meta.json    what built it (source, mask run, mask style), n, wall time
    CACHE/<condition>_s<S>/points.npy   (N, 68, 2) float32 key points in the cached image's pixels

The key points let training draw a fresh mask on the cached unmasked face (the mask-robust
attacker, masking/random_masks.py). They come from the masking run's ``landmarks.npy`` and the
image size in its ``report.csv``, so they cost no decoding; a cache built before they existed gets
its points.npy written on first use (:func:`ensure_points`).

Rows are sorted by name, so the cache is deterministic whatever order the archive streams in.
Only faces the masking run masked with good labels (status ok or multiple_faces) enter, for both
conditions: the unmasked attacker is measured on exactly the same faces as the masked one.

The masked faces are redrawn from the run's ``landmarks.npy`` with the run's own style, colour and
seed at full resolution, then resized: identical pixels to the masking run's JPEGs before JPEG
compression, without reading 23,700 more JPEGs. The build goes to a ``.part`` folder renamed at
the end, so an interrupted build is simply redone.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from maskprivacy.atomic import replacing
from maskprivacy.layout import CONDITIONS
from maskprivacy.masking.mask_run import RunFace, masked_pixels, read_mask_run
from maskprivacy.parallel import parallel_map, progress_bar


@dataclass
class CacheData:
    """A loaded cache: images memory-mapped (N, S, S, 3) uint8 and label arrays."""

    images: np.ndarray
    names: list[str]
    age: np.ndarray
    sex: np.ndarray
    race: np.ndarray
    age_bucket: np.ndarray
    meta: dict[str, Any]
    points: np.ndarray | None = None  # (N, 68, 2) float32 in cache pixels, when points.npy exists

    def __len__(self) -> int:
        return len(self.names)

    def index_of(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}


def _faces_points(faces: Sequence[RunFace], points: np.ndarray, size: int) -> np.ndarray:
    """Key points of each face in the pixels of its (size, size) resize: pixel centres map to pixel
    centres, as cv2.resize does."""
    if not faces:
        return np.zeros((0, 68, 2), np.float32)
    rows = np.array([f.landmark_row for f in faces])
    w = np.array([f.width for f in faces])[:, None, None]
    h = np.array([f.height for f in faces])[:, None, None]
    if (w <= 0).any() or (h <= 0).any():
        raise ValueError(
            "the masking run's report.csv lacks image sizes (width, height): mask again to train on points"
        )
    p = points[rows].astype(np.float64)
    out = np.empty_like(p)
    out[..., 0] = (p[..., 0] + 0.5) * (size / w[..., 0]) - 0.5
    out[..., 1] = (p[..., 1] + 0.5) * (size / h[..., 0]) - 0.5
    return out.astype(np.float32)


def ensure_points(path: str | os.PathLike, mask_run: str | os.PathLike | None = None) -> np.ndarray:
    """The cache's points.npy, written first from the masking run if the cache predates it."""
    p = Path(path)
    f = p / "points.npy"
    if f.is_file():
        return np.load(f)
    meta = json.loads((p / "meta.json").read_text())
    run = mask_run or meta.get("mask_run")
    if not run:
        raise FileNotFoundError(f"{f} is missing and no masking run is known to rebuild it")
    mr = read_mask_run(run)
    faces, points = mr.faces, mr.points
    by_name = {fc.name: fc for fc in faces}
    with (p / "labels.csv").open() as fh:
        names = [r["name"] for r in csv.DictReader(fh)]
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ValueError(f"{p}: {len(missing)} cached face(s) are not in the masking run {run} (e.g. {missing[0]})")
    arr = _faces_points([by_name[n] for n in names], points, int(meta["size"]))
    with replacing(f) as tmp, tmp.open("wb") as fh:
        np.save(fh, arr)
    return arr


def cache_dir(root: str | os.PathLike, condition: str, size: int) -> Path:
    return Path(root) / f"{condition}_s{int(size)}"


def is_complete(path: str | os.PathLike) -> bool:
    p = Path(path)
    return (p / "meta.json").is_file() and (p / "images.npy").is_file() and (p / "labels.csv").is_file()


# ---------------------------------------------------------------- workers
_W: dict[str, Any] = {}


def _init(size: int, conditions: Sequence[str], mask_cfg: dict) -> None:
    import cv2

    cv2.setNumThreads(1)
    _W.update(size=size, conditions=tuple(conditions), mask_cfg=mask_cfg)


def _resize(rgb: np.ndarray, size: int) -> np.ndarray:
    from maskprivacy.faces.align import resize_crop

    return resize_crop(rgb, size)


def _process(job: tuple[int, str, bytes, np.ndarray | None]) -> tuple[int, dict[str, np.ndarray] | None, str]:
    """(row, name, bytes, points) -> (row, {condition: (S, S, 3) uint8}, error)."""
    from maskprivacy.data.imageio import ImageError, decode_image

    row, name, data, points = job
    try:
        rgb = decode_image(data)
    except ImageError as e:
        return row, None, e.reason
    out: dict[str, np.ndarray] = {}
    size = _W["size"]
    if "unmasked" in _W["conditions"]:
        out["unmasked"] = _resize(rgb, size)
    if "masked" in _W["conditions"]:
        out["masked"] = _resize(masked_pixels(rgb, points, _W["mask_cfg"], name), size)
    return row, out, ""


def build_caches(
    data: str | os.PathLike,
    mask_run: str | os.PathLike,
    root: str | os.PathLike,
    size: int,
    conditions: Sequence[str] = CONDITIONS,
    limit: int | None = None,
    workers: int = 0,
    progress: bool = True,
) -> dict[str, Path]:
    """Build the caches of ``conditions`` that are missing (one pass over ``data`` for all of them).

    ``limit``: keep only the first N faces by name (tests, quick looks). Returns {condition: folder}.
    """
    for c in conditions:
        if c not in CONDITIONS:
            raise ValueError(f"condition {c!r}: choose from {', '.join(CONDITIONS)}")
    dirs = {c: cache_dir(root, c, size) for c in conditions}
    todo = [c for c in conditions if not is_complete(dirs[c])]
    if not todo:
        return dirs
    mr = read_mask_run(mask_run)
    faces, points, mask_cfg = mr.faces, mr.points, mr.config
    if limit is not None:
        faces = faces[: int(limit)]
    if not faces:
        raise ValueError(f"--mask-run {mask_run}: no masked face with good labels to train on")
    row_of = {f.name: i for i, f in enumerate(faces)}
    n = len(faces)
    t0 = time.perf_counter()
    parts = {c: dirs[c].with_name(dirs[c].name + ".part") for c in todo}
    arrays = {}
    for c, p in parts.items():
        shutil.rmtree(p, ignore_errors=True)
        p.mkdir(parents=True)
        arrays[c] = np.lib.format.open_memmap(p / "images.npy", mode="w+", dtype=np.uint8, shape=(n, size, size, 3))

    from maskprivacy.data.sources import iter_source

    def jobs() -> Iterator[tuple[int, str, bytes, np.ndarray | None]]:
        for item in iter_source(data):
            r = row_of.get(item.name)
            if r is not None:
                yield r, item.name, item.data, points[faces[r].landmark_row]

    filled = np.zeros(n, dtype=bool)
    errors: dict[str, str] = {}
    workers = workers or min(2, os.cpu_count() or 1)
    with (
        progress_bar(progress, total=n, desc=f"cache {'+'.join(todo)} {size}px", unit="img") as bar,
        parallel_map(_process, jobs(), workers, _init, (size, todo, mask_cfg), chunksize=32) as results,
    ):
        for r, out, err in results:
            if out is None:
                errors[faces[r].name] = err
            else:
                for c in todo:
                    arrays[c][r] = out[c]
                filled[r] = True
            bar.update(1)
    missing = [faces[i].name for i in np.flatnonzero(~filled)]
    if len(missing) == n:
        raise ValueError(f"--data {data}: none of the {n} faces of the masking run were found or decodable")
    keep = np.flatnonzero(filled)
    wall = time.perf_counter() - t0
    for c in todo:
        p = parts[c]
        arr = arrays[c]
        if len(keep) < n:  # faces missing from --data: compact the array (rare; reported in meta.json)
            compact = np.lib.format.open_memmap(
                p / "images.tmp.npy", mode="w+", dtype=np.uint8, shape=(len(keep), size, size, 3)
            )
            compact[:] = arr[keep]
            compact.flush()
            del compact
            del arr
            os.replace(p / "images.tmp.npy", p / "images.npy")
        else:
            arr.flush()
            del arr
        np.save(p / "points.npy", _faces_points([faces[i] for i in keep], points, size))
        with (p / "labels.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["name", "age", "sex", "race", "age_bucket"])
            for i in keep:
                fc = faces[i]
                w.writerow([fc.name, fc.age, fc.sex, fc.race, fc.age_bucket])
        meta = {
            "condition": c,
            "size": size,
            "n": int(len(keep)),
            "source": str(data),
            "mask_run": str(mask_run),
            "mask_config": mask_cfg if c == "masked" else None,
            "limit": limit,
            "missing_or_unreadable": {nm: errors.get(nm, "not found in --data") for nm in missing[:50]},
            "n_missing_or_unreadable": len(missing),
            "wall_s": round(wall, 2),
        }
        (p / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        shutil.rmtree(dirs[c], ignore_errors=True)
        os.replace(p, dirs[c])
    arrays.clear()
    return dirs


def load_cache(path: str | os.PathLike) -> CacheData:
    """Open a built cache (images memory-mapped, read-only)."""
    p = Path(path)
    if not is_complete(p):
        raise FileNotFoundError(f"no complete cache at {p} (build it with `maskprivacy train cache`)")
    images = np.load(p / "images.npy", mmap_mode="r")
    with (p / "labels.csv").open() as f:
        rows = list(csv.DictReader(f))
    col = lambda k: np.array([int(r[k]) for r in rows], dtype=np.int64)  # noqa: E731
    meta = json.loads((p / "meta.json").read_text())
    if len(rows) != len(images):
        raise ValueError(
            f"cache {p} is inconsistent: {len(rows)} labels for {len(images)} images; delete it to rebuild"
        )
    pts = np.load(p / "points.npy") if (p / "points.npy").is_file() else None
    return CacheData(
        images, [r["name"] for r in rows], col("age"), col("sex"), col("race"), col("age_bucket"), meta, pts
    )
