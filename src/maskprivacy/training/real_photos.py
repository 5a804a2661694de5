"""Real photos of masked faces as training data: found, aligned to UTKFace's geometry, grouped.

An attacker that has only seen masks drawn on UTKFace reads real masked photos worse than the same
people's bare photos behind a drawn mask: real masks have bulk, folds and straps, and the photos are
close-ups in other light. A real adversary trains on such photos, so the strongest attacker must too.

This module turns a labelled folder (``labels.csv``: :mod:`maskprivacy.data.photo_labels`) into
what training reads::

    REAL/<name>/crops.npy    (N, 200, 200, 3) uint8: the main face of each photo, aligned exactly as
                             ``analyze`` aligns a masked face (so training and reading see one geometry)
    REAL/<name>/labels.csv   path, sex, race (-1 = blank: unknown, its loss is masked), person, cluster,
                             beyond_frame (the share of the aligned crop beyond the photo: how tight it is)
    REAL/<name>/report.csv   one row per listed photo: status (ok, unreadable, no_face, not_masked) + reason
    REAL/<name>/meta.json    source folder, counts, the clustering threshold, wall time

Photos of one person, or the same photo twice, must never sit on both sides of a validation cut.
A folder whose names carry person ids (``pNNN_...``) is cut by person; one without is cut by
clusters of near-identical faces: two faces closer than :data:`CLUSTER_THRESHOLD` in dlib's 128-D
face descriptor are linked, and linked faces form one cluster (connected components, so a chain of
look-alikes stays together).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskprivacy.atomic import replacing
from maskprivacy.data.photo_labels import LabelRow, person_of, read_labels_strict
from maskprivacy.parallel import parallel_map, progress_bar

#: Faces closer than this in dlib's descriptor are one cluster. dlib calls < 0.6 the same person on its
#: own chips, but half of a masked face is mask, and different people's masked close-ups sit at 0.4-0.5:
#: linking at 0.35 or more chains most of a web set into one giant cluster (docs/TRAINING.md), while at
#: 0.3 the exact and near copies (distance ~0) and close look-alikes group and the cut stays possible.
CLUSTER_THRESHOLD = 0.3
MISSING = -1  # a blank label: unknown, never a class
CROP_SIDE = 200  # UTKFace's crops (faces.align.SIZE)


@dataclass
class RealPhotos:
    """A built folder of aligned real photos (crops memory-mapped)."""

    root: Path
    crops: np.ndarray  # (N, 200, 200, 3) uint8
    paths: list[str]
    sex: np.ndarray  # (N,) int64, -1 = blank
    race: np.ndarray
    person: list[str | None]
    cluster: np.ndarray  # (N,) int64: persons where named, else near-duplicate clusters
    meta: dict[str, Any]
    beyond_frame: np.ndarray | None = None  # (N,) float: faces.align.beyond_frame_share (None: built before it)

    def __len__(self) -> int:
        return len(self.paths)

    def labelled(self) -> np.ndarray:
        """True where a row has at least one label (a blank row teaches a supervised loss nothing)."""
        return (self.sex >= 0) | (self.race >= 0)

    def resized(self, side: int) -> np.ndarray:
        """The crops at ``side`` px, resized as the training cache resizes UTKFace's faces."""
        from maskprivacy.faces.align import resize_crop

        return np.stack([resize_crop(np.asarray(c), side) for c in self.crops]) if len(self) else self.crops


def _align_job(job: tuple[int, str, str, bool | None]) -> tuple[int, np.ndarray | None, str, str, float | None]:
    """One photo -> (row, aligned 200-px crop of its largest face, status, reason, share beyond the photo)."""
    from maskprivacy.data.imageio import ImageError, read_image_in
    from maskprivacy.faces.photo import find_faces

    i, root, rel, masked = job
    try:
        rgb = read_image_in(root, rel)
    except ImageError as e:
        return i, None, "unreadable", e.reason, None
    except OSError as e:
        return i, None, "unreadable", str(e), None
    faces = find_faces(rgb, already_masked=True if masked is None else masked, max_faces=1)
    if not faces:
        return i, None, "no_face", "; ".join(faces.notes) or "no face found", None
    return i, np.ascontiguousarray(faces[0].aligned.crop), "ok", "", float(faces[0].beyond_frame)


def descriptors(crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """dlib's 128-D face descriptor of each aligned crop (resized to the network's 150-px chip)."""
    from maskprivacy.faces.align import resize_crop
    from maskprivacy.models.dlib_resnet import get_face_resnet

    net = get_face_resnet()
    out = []
    for s in range(0, len(crops), batch_size):
        chips = np.stack([resize_crop(np.asarray(c), 150) for c in crops[s : s + batch_size]])
        out.append(net.describe(chips))
    return np.concatenate(out) if out else np.zeros((0, 128), np.float32)


def near_duplicate_clusters(desc: np.ndarray, threshold: float = CLUSTER_THRESHOLD) -> np.ndarray:
    """Cluster id per row: connected components of the graph "descriptor distance < threshold"."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial.distance import cdist

    if len(desc) == 0:
        return np.zeros(0, np.int64)
    d = cdist(desc, desc)
    _, labels = connected_components(csr_matrix(d < threshold), directed=False)
    return labels.astype(np.int64)


def group_ids(persons: Sequence[str | None], clusters: np.ndarray) -> np.ndarray:
    """The unit a cut keeps whole: the person where every row names one, else the descriptor cluster."""
    if len(persons) and all(persons):
        ids = {p: i for i, p in enumerate(sorted(set(persons)))}
        return np.array([ids[p] for p in persons], np.int64)
    return np.asarray(clusters, np.int64)


def group_parts(groups: np.ndarray, val_fraction: float, seed: int) -> np.ndarray:
    """``"train"``/``"val"`` per row, whole groups on one side, about ``val_fraction`` of rows in val.

    Groups are visited in a seeded order and go to validation while it has room, so the cut depends
    only on the seed and the groups (not on file order), and a giant cluster is never split.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    groups = np.asarray(groups)
    parts = np.full(len(groups), "train", dtype=object)
    uniq = np.unique(groups)
    order = np.random.default_rng(seed).permutation(uniq)
    want, have = val_fraction * len(groups), 0
    for g in order:
        rows = np.flatnonzero(groups == g)
        if have + len(rows) <= want:
            parts[rows] = "val"
            have += len(rows)
    return parts


def group_folds(groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold 0..k-1 per row, every group in exactly one fold (person-disjoint cross-validation)."""
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {k}")
    groups = np.asarray(groups)
    uniq = np.unique(groups)
    if len(uniq) < k:
        raise ValueError(f"{len(uniq)} people or clusters cannot fill {k} folds")
    order = np.random.default_rng(seed).permutation(uniq)
    fold_of = {g: i % k for i, g in enumerate(order)}
    return np.array([fold_of[g] for g in groups], np.int64)


def _status_rows(rows: list[LabelRow], results: dict[int, tuple[str, str]]) -> list[dict[str, str]]:
    return [{"path": r.path, "status": results[i][0], "reason": results[i][1]} for i, r in enumerate(rows)]


def build_real_photos(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    masked_only: bool = True,
    workers: int = 0,
    progress: bool = True,
    threshold: float = CLUSTER_THRESHOLD,
) -> Path:
    """Find, align and cluster the photos of ``folder`` into ``out`` (skipped when complete).

    ``masked_only``: photos marked ``masked=0`` are listed in the report as ``not_masked`` and left
    out (a bare photo is not what a real-mask reader learns from). The build goes to ``out.part`` and
    is renamed at the end, so an interrupted build is redone whole.
    """
    folder, out = Path(folder), Path(out)
    if is_complete(out):
        return out
    rows = read_labels_strict(folder)
    t0 = time.perf_counter()
    part = out.with_name(out.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    results: dict[int, tuple[str, str]] = {}
    crops: dict[int, np.ndarray] = {}
    beyond: dict[int, float] = {}
    jobs = []
    for i, r in enumerate(rows):
        if masked_only and r.masked is False:
            results[i] = ("not_masked", "marked masked=0: a bare photo")
        else:
            jobs.append((i, str(folder), r.path, r.masked))
    n_workers = max(1, min(int(workers) or (os.cpu_count() or 1), len(jobs) or 1))
    with progress_bar(progress, total=len(jobs), desc="real photos", unit="photo") as bar:
        with parallel_map(_align_job, jobs, n_workers) as done:
            for i, crop, status, reason, share in done:
                results[i] = (status, reason)
                if crop is not None:
                    crops[i] = crop
                    beyond[i] = share
                bar.update()
    keep = sorted(crops)
    stack = np.stack([crops[i] for i in keep]) if keep else np.zeros((0, CROP_SIDE, CROP_SIDE, 3), np.uint8)
    persons = [person_of(rows[i].path) for i in keep]
    clusters = near_duplicate_clusters(descriptors(stack), threshold)
    np.save(part / "crops.npy", stack)
    with (part / "labels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "sex", "race", "person", "cluster", "beyond_frame"])
        for j, i in enumerate(keep):
            r = rows[i]
            w.writerow([r.path, MISSING if r.sex is None else r.sex, MISSING if r.race is None else r.race,
                        persons[j] or "", int(clusters[j]), f"{beyond[i]:.4f}"])  # fmt: skip
    with (part / "report.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["path", "status", "reason"])
        w.writeheader()
        w.writerows(_status_rows(rows, results))
    counts: dict[str, int] = {}
    for s, _ in results.values():
        counts[s] = counts.get(s, 0) + 1
    meta = {
        "source": str(folder.resolve()),
        "listed": len(rows),
        "status": counts,
        "n": len(keep),
        "masked_only": masked_only,
        "cluster_threshold": threshold,
        "clusters": int(len(np.unique(clusters))),
        "largest_cluster": int(np.bincount(clusters).max()) if len(clusters) else 0,
        "persons": len({p for p in persons if p}),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    with replacing(part / "meta.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(part, out)
    return out


def is_complete(path: str | os.PathLike) -> bool:
    p = Path(path)
    return all((p / f).is_file() for f in ("crops.npy", "labels.csv", "report.csv", "meta.json"))


def load_real_photos(path: str | os.PathLike) -> RealPhotos:
    """Open a built folder (crops memory-mapped, read-only)."""
    p = Path(path)
    if not is_complete(p):
        raise FileNotFoundError(f"no complete set of aligned real photos at {p}")
    crops = np.load(p / "crops.npy", mmap_mode="r")
    with (p / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if len(rows) != len(crops):
        raise ValueError(f"{p} is inconsistent: {len(rows)} labels for {len(crops)} crops; delete it to rebuild")
    col = lambda k: np.array([int(r[k]) for r in rows], dtype=np.int64)  # noqa: E731
    return RealPhotos(
        p,
        crops,
        [r["path"] for r in rows],
        col("sex"),
        col("race"),
        [r["person"] or None for r in rows],
        col("cluster"),
        json.loads((p / "meta.json").read_text()),
        np.array([float(r["beyond_frame"]) for r in rows]) if rows and "beyond_frame" in rows[0] else None,
    )


def seed_of(name: str, seed: int) -> int:
    """A per-purpose seed (the same cut whatever else the run draws)."""
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % (2**32)
