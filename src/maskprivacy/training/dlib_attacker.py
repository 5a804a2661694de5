"""A second, cheap attacker: dlib's pretrained 128-D face descriptor with scikit-learn heads.

Why it exists: the CNN attacker is expensive to train; this one needs no training of a network at
all (``dlib_face_recognition_resnet_model_v1.dat`` ships in ``face_recognition_models``) and gives
a floor that the CNN should beat, measured on the *same* test faces (the same split files).

How it works, and why:

* Descriptors are computed from the 68 key points that the masking run already stored
  (``M/report.csv`` + ``M/landmarks.npy``), so no face is detected twice, and the masked and the
  unmasked descriptor of a face are aligned by exactly the same points. Masked pixels come from
  ``M/images/<name>`` (what the CNN sees) or, when that file is absent, are redrawn on the original
  with the run's ``run.json`` style, colour and seed.
* Each face is cut by dlib into the aligned 150x150 chip that ``compute_face_descriptor`` would
  cut (``dlib.get_face_chip``, padding 0.25), in worker processes; the chips go through dlib's
  network re-built in PyTorch (``dlib_resnet.py``) in batches, because dlib runs it one face at a
  time and that was the stage's cost (``scripts/bench_descriptor.py`` prints both speeds and the
  agreement; ``descriptor="dlib"`` keeps dlib's own face-by-face path for that comparison). Both
  give the same vectors to float rounding, so the cache below is shared by the two.
* Only the faces a run needs are computed (every face of the train part unless a seeded
  subsample is asked for, the whole val and test parts) and cached in ``<cache>/descriptors_<condition>.npz`` next to the points they
  were computed from: reruns and the second split reuse them, and a face whose points changed is
  recomputed.
* Heads (``heads.py``): logistic regression, an MLP and, on a few thousand faces, RBF SVCs for sex,
  race and the 7 age buckets; ridge, an MLP and RBF SVRs for age; the head with the best
  validation score is kept, its validation predictions are written to ``val_predictions.csv`` (the
  ensemble attacker is fitted on them) and every candidate's score to ``config.heads``.

The outputs follow docs/ARCHITECTURE.md ("one trained attacker") so that the report and the PVI
treat this attacker like any other; the metrics, predictions table and confusion plots are the CNN
attacker's own (``maskprivacy.training.metrics``), so both are scored by the same code.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from maskprivacy.atomic import replacing
from maskprivacy.data.labels import CLASS_NAMES
from maskprivacy.layout import CONDITIONS, SPLITS, AttackerFolder, RunLayout
from maskprivacy.masking.mask_run import RunFace, masked_pixels, read_mask_run
from maskprivacy.parallel import parallel_map, progress_bar
from maskprivacy.provenance import git_commit, machine
from maskprivacy.records import DLIB, AttackerMetrics, AttackerRecord, write_metrics
from maskprivacy.training.heads import fit_heads, predict_columns

DEFAULT_N_TRAIN = None  # every face of the train part (an int: a seeded subsample of that many)
DESCRIPTOR_DIM = 128
PADDING = 0.25  # dlib's default crop padding around the aligned face
CHIP_SIZE = 150  # the network's input side (input_rgb_image_sized<150>)
DESCRIPTOR_ENGINES = ("torch", "dlib")  # torch: batched dlib_resnet; dlib: compute_face_descriptor face by face
DEFAULT_BATCH = 64
SAVE_EVERY = 1000  # descriptors between cache checkpoints, so an interruption loses little


# ===================================================================== faces of a masking run
def load_run_faces(mask_run: str | os.PathLike) -> tuple[dict[str, RunFace], dict]:
    """The faces of a masking run that splits are made of, by name, and the run's mask."""
    mr = read_mask_run(mask_run)
    if not mr.faces:
        raise ValueError(f"--mask-run {mask_run}: no well-labelled masked face in report.csv")
    return mr.by_name(), mr.config


# ===================================================================== descriptors
_W: dict[str, Any] = {}


def _init_worker(mask_cfg: dict, engine: str = "torch") -> None:
    import cv2
    import dlib

    from maskprivacy.faces.model_files import FACE_DESCRIPTOR, model_path

    cv2.setNumThreads(1)
    _W["dlib"] = dlib
    # the torch engine only needs chips from the workers; dlib's network is loaded for the dlib one
    _W["net"] = dlib.face_recognition_model_v1(str(model_path(FACE_DESCRIPTOR))) if engine == "dlib" else None
    _W["mask"] = mask_cfg


def dlib_shape(box: Sequence[int], points: np.ndarray):
    """A face's box and 68 key points as dlib's ``full_object_detection``: what dlib needs to cut the
    aligned chip (``get_face_chip``) and to describe it (``compute_face_descriptor``)."""
    import dlib

    return dlib.full_object_detection(
        dlib.rectangle(*(int(v) for v in box)), dlib.points([dlib.point(int(x), int(y)) for x, y in points])
    )


def _describe(
    task: tuple[str, bytes, tuple[int, int, int, int], np.ndarray, tuple[str, ...]],
) -> tuple[str, dict[str, np.ndarray], str]:
    """Worker: for each wanted condition, the face's descriptor (dlib engine) or its aligned
    150x150 RGB chip (torch engine, described in batches by the caller); errors become a reason."""
    from maskprivacy.data.imageio import ImageError, decode_image

    name, data, box, points, conditions = task
    dlib = _W["dlib"]
    try:
        rgb = decode_image(data)
        shape = dlib_shape(box, points)
        out = {}
        for cond in conditions:
            img = rgb if cond == "unmasked" else masked_pixels(rgb, points, _W["mask"], name)
            if img.shape != rgb.shape:
                return (
                    name,
                    {},
                    f"masked image is {img.shape[1]}x{img.shape[0]}, original {rgb.shape[1]}x{rgb.shape[0]}",
                )
            img = np.ascontiguousarray(img)
            if _W["net"] is None:
                out[cond] = dlib.get_face_chip(img, shape, CHIP_SIZE, PADDING)
            else:
                vec = _W["net"].compute_face_descriptor(img, shape, 0, PADDING)
                out[cond] = np.asarray(vec, dtype=np.float32)
        return name, out, ""
    except ImageError as e:
        return name, {}, e.reason
    except Exception as e:  # noqa: BLE001 - one bad face must not stop the run
        return name, {}, f"{type(e).__name__}: {e}"


class DescriptorCache:
    """``descriptors_<condition>.npz`` files: names, the points each was computed from, descriptors."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.data: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}

    def path(self, condition: str) -> Path:
        return self.folder / f"descriptors_{condition}.npz"

    def load(self, condition: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if condition not in self.data:
            entries: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            p = self.path(condition)
            if p.is_file():
                try:
                    z = np.load(p, allow_pickle=False)
                    for n, pts, d in zip(z["names"].tolist(), z["points"], z["descriptors"]):
                        entries[n] = (pts, d)
                except (OSError, ValueError, KeyError) as e:
                    print(f"attack-dlib: ignoring unreadable cache {p} ({e}); recomputing", file=sys.stderr)
            self.data[condition] = entries
        return self.data[condition]

    def valid(self, condition: str, face: RunFace) -> np.ndarray | None:
        hit = self.load(condition).get(face.name)
        if hit is None or not np.array_equal(hit[0], face.points):
            return None
        return hit[1]

    def put(self, condition: str, face: RunFace, vec: np.ndarray) -> None:
        self.load(condition)[face.name] = (face.points.astype(np.int16), vec.astype(np.float32))

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for cond, entries in self.data.items():
            names = sorted(entries)
            with replacing(self.path(cond)) as tmp, tmp.open("wb") as fh:
                np.savez(
                    fh,
                    names=np.array(names, dtype=str),
                    points=np.stack([entries[n][0] for n in names]) if names else np.zeros((0, 68, 2), np.int16),
                    descriptors=np.stack([entries[n][1] for n in names])
                    if names
                    else np.zeros((0, DESCRIPTOR_DIM), np.float32),
                )


@dataclass
class DescriptorStats:
    cached: int = 0
    computed: int = 0
    failed: dict[str, str] | None = None
    missing_from_data: int = 0
    wall_s: float = 0.0
    engine: str = "torch"


def compute_descriptors(
    data: str | os.PathLike,
    mask_run: str | os.PathLike,
    faces: dict[str, RunFace],
    mask_cfg: dict,
    needed: dict[str, set[str]],
    cache_dir: str | os.PathLike,
    workers: int = 2,
    progress: bool = True,
    engine: str = "torch",
    batch_size: int = DEFAULT_BATCH,
) -> tuple[dict[str, dict[str, np.ndarray]], DescriptorStats]:
    """``{condition: {name: descriptor}}`` for every needed face; computes only what the cache lacks.

    The originals are streamed once from ``data`` (folder or .tar.gz) and only the needed faces are
    sent to the ``workers`` processes, which cut the chips (``engine="torch"``: this process runs
    them through the network ``batch_size`` at a time) or compute the descriptors themselves
    (``engine="dlib"``: dlib's ``compute_face_descriptor``, one face at a time).
    """
    from maskprivacy.data.sources import iter_source

    if engine not in DESCRIPTOR_ENGINES:
        raise ValueError(f"descriptor engine must be one of {DESCRIPTOR_ENGINES}, got {engine!r}")
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    t0 = time.perf_counter()
    cache = DescriptorCache(cache_dir)
    stats = DescriptorStats(failed={}, engine=engine)
    result: dict[str, dict[str, np.ndarray]] = {c: {} for c in needed}
    todo: dict[str, list[str]] = {}
    for cond, names in needed.items():
        for n in names:
            vec = cache.valid(cond, faces[n])
            if vec is None:
                todo.setdefault(n, []).append(cond)
            else:
                result[cond][n] = vec
                stats.cached += 1
    if todo:
        seen: set[str] = set()

        def tasks() -> Iterator[tuple]:
            for item in iter_source(data):
                conds = todo.get(item.name)
                if conds is None or item.name in seen:
                    continue
                seen.add(item.name)
                f = faces[item.name]
                yield (item.name, item.data, f.box, f.points, tuple(conds))

        args = (mask_cfg, engine)
        net = None
        if engine == "torch":
            from maskprivacy.models.dlib_resnet import get_face_resnet

            net = get_face_resnet()
        pending: list[tuple[str, str, np.ndarray]] = []  # (name, condition, chip) awaiting the network
        since_save = 0

        def store(name: str, cond: str, vec: np.ndarray) -> None:
            nonlocal since_save
            cache.put(cond, faces[name], vec)
            result[cond][name] = vec
            stats.computed += 1
            since_save += 1
            bar.update(1)

        def flush() -> None:
            if pending:
                vecs = net.describe(np.stack([c for _, _, c in pending]), batch_size=batch_size)
                for (name, cond, _), vec in zip(pending, vecs):
                    store(name, cond, vec)
                pending.clear()

        with contextlib.ExitStack() as stack:
            stack.callback(cache.save)  # whatever was computed survives an interruption
            bar = stack.enter_context(
                progress_bar(progress, total=sum(len(c) for c in todo.values()), desc="dlib descriptors", unit="desc")
            )
            results = stack.enter_context(parallel_map(_describe, tasks(), workers, _init_worker, args, chunksize=8))
            for name, outs, err in results:
                if err:
                    stats.failed[name] = err
                    bar.update(len(todo[name]))
                for cond, arr in outs.items():
                    if net is None:
                        store(name, cond, arr)
                    else:
                        pending.append((name, cond, arr))
                if len(pending) >= batch_size:
                    flush()
                if since_save >= SAVE_EVERY:
                    cache.save()
                    since_save = 0
            if net is not None:
                flush()
        stats.missing_from_data = len(set(todo) - seen)
        if stats.missing_from_data == len(todo):
            raise ValueError(
                f"none of the {len(todo)} faces to describe is in --data {data}: "
                "is it the dataset that --mask-run masked?"
            )
    stats.wall_s = time.perf_counter() - t0
    return result, stats


# ===================================================================== splits and subsampling
def load_or_make_split(
    split: str, faces: dict[str, RunFace], splits_dir: str | os.PathLike, split_seed: int = 2021
) -> tuple[dict[str, str], Path, bool]:
    """``splits_dir/<split>.csv`` (the CNN's split when it ran first), made from the run's faces if absent.

    Made by :func:`maskprivacy.training.splits.ensure_splits` with its default fractions, as the CNN
    pipeline makes them, so a CNN run in the same folder accepts them and tests on the same faces.
    """
    from maskprivacy.training.splits import ensure_splits, read_split

    paths, made = ensure_splits(
        splits_dir, sorted(faces), seed=None if (Path(splits_dir) / "meta.json").is_file() else split_seed
    )
    return read_split(paths[split]), paths[split], made


def subsample(names: Iterable[str], n: int | None, seed: int) -> list[str]:
    """``n`` names chosen by a seeded hash of each name, not by position, so two splits whose train
    parts overlap draw overlapping subsamples (and share cached descriptors)."""
    ranked = sorted(names, key=lambda s: hashlib.sha256(f"{seed}:{s}".encode()).hexdigest())
    return sorted(ranked if not n or n <= 0 else ranked[:n])


# ===================================================================== the attacker
def run_dlib_attacker(
    data: str | os.PathLike,
    mask_run: str | os.PathLike,
    out: str | os.PathLike,
    splits: Sequence[str] = ("uniform", "random"),
    conditions: Sequence[str] = CONDITIONS,
    n_train: int | None = DEFAULT_N_TRAIN,
    seed: int = 0,
    splits_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    workers: int = 2,
    split_seed: int = 2021,
    progress: bool = True,
    engine: str = "torch",
    batch_size: int = DEFAULT_BATCH,
) -> dict:
    """Train and test the dlib-descriptor attacker; writes ``out/dlib_<condition>_<split>/``.

    Returns ``{condition: {split: metrics}}`` (the metrics.json contents) plus ``"descriptors"``
    (how many were cached, computed, failed). ``splits_dir`` defaults to ``out/splits`` (read if it
    holds the split, so pass the CNN's folder to test on its faces), ``cache_dir`` to ``out/dlib_cache``.
    ``n_train`` faces are drawn from the train part with ``seed`` (None or 0: all of it); the whole
    val part chooses the heads and the whole test part is scored. ``engine`` and ``batch_size``:
    see :func:`compute_descriptors` (both engines give the same descriptors to float rounding).
    """
    from maskprivacy.training.metrics import compute_metrics, confusion_pngs, write_predictions

    t_start = time.perf_counter()
    for c in conditions:
        if c not in CONDITIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}, got {c!r}")
    for s in splits:
        if s not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {s!r}")
    if not conditions or not splits:
        raise ValueError("give at least one condition and one split")
    out = Path(out)
    splits_dir = Path(splits_dir) if splits_dir else RunLayout(out).splits
    cache_dir = Path(cache_dir) if cache_dir else RunLayout(out).dlib_cache
    faces, mask_cfg = load_run_faces(mask_run)

    # which faces each split uses
    plan: dict[str, dict[str, list[str]]] = {}
    split_info: dict[str, dict] = {}
    for s in splits:
        assignment, path, made = load_or_make_split(s, faces, splits_dir, split_seed)
        parts = {p: sorted(n for n, v in assignment.items() if v == p and n in faces) for p in ("train", "val", "test")}
        unusable = sum(1 for n in assignment if n not in faces)
        plan[s] = {"train": subsample(parts["train"], n_train, seed), "val": parts["val"], "test": parts["test"]}
        split_info[s] = {
            "path": str(path),
            "made_now": made,
            "train_part": len(parts["train"]),
            "not_in_mask_run": unusable,
        }
        if not parts["test"]:
            raise ValueError(f"split {s} ({path}) has no test face of this masking run")
    needed_names = set().union(*(set(p["train"]) | set(p["val"]) | set(p["test"]) for p in plan.values()))
    needed = {c: set(needed_names) for c in conditions}
    descs, stats = compute_descriptors(
        data, mask_run, faces, mask_cfg, needed, cache_dir, workers, progress, engine, batch_size
    )
    if stats.failed and progress:
        print(
            f"attack-dlib: {len(stats.failed)} faces failed and are left out, e.g. {next(iter(stats.failed.items()))}",
            file=sys.stderr,
        )
    if stats.missing_from_data:
        print(
            f"attack-dlib: {stats.missing_from_data} faces of the mask run are not in --data; left out", file=sys.stderr
        )

    results: dict[str, Any] = {c: {} for c in conditions}
    commit, host = git_commit(), machine()
    for c in conditions:
        d = descs[c]
        for s in splits:
            t0 = time.perf_counter()
            part = {p: [n for n in plan[s][p] if n in d] for p in ("train", "val", "test")}

            def xy(names: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
                X = np.stack([d[n] for n in names]) if names else np.zeros((0, DESCRIPTOR_DIM), np.float32)
                labs = [faces[n].labels for n in names]
                y = {t: np.array([getattr(lab, t) for lab in labs], dtype=int) for t in CLASS_NAMES}
                y["age"] = np.array([lab.age for lab in labs], dtype=float)
                return X, y

            Xtr, ytr = xy(part["train"])
            Xva, yva = xy(part["val"])
            Xte, _ = xy(part["test"])
            heads, record = fit_heads(Xtr, ytr, Xva, yva, seed=seed)
            t_fit = time.perf_counter() - t0
            cols = predict_columns(heads, part["test"], Xte, [faces[n].labels for n in part["test"]])
            val_cols = predict_columns(heads, part["val"], Xva, [faces[n].labels for n in part["val"]])
            t_pred = time.perf_counter() - t0 - t_fit
            metrics = compute_metrics(cols)
            metrics.update(
                {
                    "attacker": AttackerRecord(name=DLIB, family=DLIB, trained_on=c, split=s),
                    "config": {
                        "attacker": "dlib_descriptor",
                        "descriptor": "dlib_face_recognition_resnet_model_v1 (128-D)",
                        "padding": PADDING,
                        "num_jitters": 0,
                        "descriptor_engine": engine,
                        "condition": c,
                        "split": s,
                        "n_train": len(part["train"]),
                        "n_train_requested": n_train,
                        "n_val": len(part["val"]),
                        "seed": seed,
                        "split_seed": split_seed,
                        "split_file": split_info[s]["path"],
                        "train_part_size": split_info[s]["train_part"],
                        "mask_run": str(mask_run),
                        "mask_config": mask_cfg,
                        "data": str(data),
                        "masked_pixels": "mask_run/images/<name>, else redrawn from run.json",
                        "heads": record,
                    },
                    "commit": commit,
                    "machine": host,
                    "wall_s": {
                        "descriptors": round(stats.wall_s, 2),
                        "fit": round(t_fit, 2),
                        "predict": round(t_pred, 2),
                    },
                }
            )
            folder = AttackerFolder(RunLayout(out).dlib_dir(c, s))
            run_dir = folder.path
            run_dir.mkdir(parents=True, exist_ok=True)
            write_predictions(folder.predictions, cols)
            if part["val"]:
                write_predictions(folder.val_predictions, val_cols)
            confusion_pngs(
                run_dir, metrics, lambda task, acc: f"dlib descriptor, {c}, {s}: {task} (accuracy {acc:.1%})"
            )
            metrics["wall_s"]["total"] = round(time.perf_counter() - t0, 2)
            record = AttackerMetrics(**metrics)
            write_metrics(run_dir, record)
            results[c][s] = record.as_dict()
    results["descriptors"] = {
        "engine": engine,
        "cached": stats.cached,
        "computed": stats.computed,
        "failed": len(stats.failed or {}),
        "missing_from_data": stats.missing_from_data,
        "wall_s": round(stats.wall_s, 2),
        "cache_dir": str(cache_dir),
        "total_wall_s": round(time.perf_counter() - t_start, 2),
    }
    return results


def summary_lines(results: dict) -> list[str]:
    """A fixed-width table of the headline figures, as the CLI prints it."""
    lines = [
        f"{'condition':<9} {'split':<8} {'n_train':>7} {'n_test':>6} {'sex':>7} {'race':>7} "
        f"{'age7':>7} {'age MAE':>7} {'RMSE':>6}  heads (sex/race/age7/age)"
    ]
    for c in CONDITIONS:
        for s, m in results.get(c, {}).items():
            h = m["config"]["heads"]
            lines.append(
                f"{c:<9} {s:<8} {m['config']['n_train']:>7} {m['n_test']:>6} {m['sex']['accuracy']:>7.1%} "
                f"{m['race']['accuracy']:>7.1%} {m['age_bucket']['accuracy']:>7.1%} {m['age']['mae']:>7.2f} "
                f"{m['age']['rmse']:>6.2f}  {h['sex']['chosen']}/{h['race']['chosen']}/"
                f"{h['age_bucket']['chosen']}/{h['age']['chosen']}"
            )
    return lines
