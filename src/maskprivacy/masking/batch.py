"""Masking a whole dataset: parallel, resumable, reproducible, with a per-image report.

Layout of ``--out``::

    images/<name>        masked JPEGs, same file names as the input
    report.csv           one row per input file: status, reason, labels, box, landmark row
    landmarks.npy        (N, 68, 2) int16 key points of every masked face, rows as in report.csv
    summary.json         counts per status, speed, the configuration
    run.json             the configuration; a resumed run must match it
    .journal.jsonl       progress journal (what is already done), kept for resume

Workers write images themselves (atomically) and send back small rows; the main process journals
them, so an interrupted run resumes where it stopped. Final files are sorted by name and every
random choice is seeded per image, so the same seed gives byte-identical output.
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from maskprivacy.atomic import replacing, write_bytes
from maskprivacy.data.imageio import DEFAULT_MAX_PIXELS, ImageError, decode_image, encode_jpeg
from maskprivacy.data.labels import LabelError, parse_name
from maskprivacy.data.sources import SkippedFile, SourceItem, iter_source
from maskprivacy.faces.batch_predictor import get_batch_predictor, prepare_batch_predictor
from maskprivacy.faces.landmarks import get_landmarker
from maskprivacy.masking.colors import parse_color
from maskprivacy.masking.draw import check_style, draw_mask
from maskprivacy.parallel import parallel_map, progress_bar

# torch is imported only by the workers of the batched predictor: masking with dlib's own predictor
# never loads it.

STATUSES = ("ok", "multiple_faces", "bad_label", "no_face", "unreadable", "too_large", "skipped")
# Statuses whose image was masked and written.
MASKED = ("ok", "multiple_faces", "bad_label")
# How the 68 points are computed: "batched" evaluates dlib's model for many faces at once
# (batch_predictor.py, faster: scripts/bench_mask.py); "dlib" calls dlib's shape_predictor face by face.
PREDICTORS = ("batched", "dlib")
# Faces whose points are predicted together, and the decoded pixels a worker may hold meanwhile.
CHUNK = 32
CHUNK_PIXELS = 24_000_000
REPORT_COLUMNS = (
    "name",
    "status",
    "reason",
    "n_faces",
    "age",
    "sex",
    "race",
    "age_bucket",
    "label_error",
    "width",
    "height",
    "box_left",
    "box_top",
    "box_right",
    "box_bottom",
    "landmark_row",
)


@dataclass
class MaskConfig:
    """What decides the output bytes; a resumed run must use the same values."""

    style: str = "a"
    color: str = "white"
    seed: int = 0
    detector: str = "fast"
    predictor: str = "batched"
    quality: int = 95
    max_pixels: int = DEFAULT_MAX_PIXELS

    def validate(self) -> "MaskConfig":
        check_style(self.style)
        parse_color(self.color)
        if self.detector not in ("fast", "paper"):
            raise ValueError(f"detector must be 'fast' or 'paper', got {self.detector!r}")
        if self.predictor not in PREDICTORS:
            raise ValueError(f"predictor must be one of {PREDICTORS}, got {self.predictor!r}")
        return self


@dataclass
class MaskSummary:
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    images_per_s: float = 0.0
    resumed: int = 0

    @property
    def masked(self) -> int:
        return sum(self.counts.get(s, 0) for s in MASKED)


# ---------------------------------------------------------------- worker side
_W: dict[str, Any] = {}


def _init_worker(cfg: dict, images_dir: str, in_process: bool = False) -> None:
    """Per-process state; ``in_process`` (workers=1) leaves the caller's thread settings alone."""
    if not in_process:
        cv2.setNumThreads(1)
    _W["cfg"] = MaskConfig(**cfg)
    _W["dir"] = Path(images_dir)
    _W["lm"] = get_landmarker(_W["cfg"].detector)
    if _W["cfg"].predictor == "batched":
        import torch

        if not in_process:
            torch.set_num_threads(1)  # one process per core already
        _W["bp"] = get_batch_predictor()


def _locate(item: SourceItem) -> tuple[dict, Any]:
    """Labels, decoding and face boxes of one file: (row, None) when it ends here, else (row, pending face)."""
    cfg: MaskConfig = _W["cfg"]
    row: dict[str, Any] = {"name": item.name, "status": "ok", "reason": ""}
    try:
        lab = parse_name(item.name)
        row.update(age=lab.age, sex=lab.sex, race=lab.race, age_bucket=lab.age_bucket)
    except LabelError as e:
        row["label_error"] = str(e)
    try:
        rgb = decode_image(item.data, cfg.max_pixels)
    except ImageError as e:
        row.update(status=e.kind, reason=e.reason)
        return row, None
    row.update(height=rgb.shape[0], width=rgb.shape[1])
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    boxes = _W["lm"].detect(gray)
    row["n_faces"] = len(boxes)
    if not boxes:
        row.update(status="no_face", reason="no face found by the dlib HOG detector")
        return row, None
    return row, (rgb, gray, boxes)


def _finish(row: dict, rgb: np.ndarray, boxes: list, points: np.ndarray) -> dict:
    """Draw, encode and write one face whose points are known; complete its row."""
    cfg: MaskConfig = _W["cfg"]
    box = boxes[0]
    masked = draw_mask(rgb, points, cfg.style, cfg.color, cfg.seed, row["name"])
    write_bytes(_W["dir"] / row["name"], encode_jpeg(masked, cfg.quality))
    row.update(box_left=box[0], box_top=box[1], box_right=box[2], box_bottom=box[3], points=points.tolist())
    if len(boxes) > 1:
        row.update(status="multiple_faces", reason=f"{len(boxes)} faces found; the largest was masked")
    if "label_error" in row:
        row.update(status="bad_label", reason=row["label_error"] + " (image masked; excluded from labelled stages)")
    return row


def _flush(pending: list[tuple[dict, Any]]) -> list[dict]:
    if _W["cfg"].predictor == "batched":
        points = _W["bp"].predict([g for _, (_, g, _) in pending], [b[0] for _, (_, _, b) in pending])
    else:
        points = [_W["lm"].points(g, b[0]) for _, (_, g, b) in pending]
    return [_finish(row, rgb, boxes, pts) for (row, (rgb, _, boxes)), pts in zip(pending, points)]


def process_chunk(items: list[SourceItem]) -> list[dict]:
    """Mask a few files; the 68 points of their faces are predicted together. Returns their report rows.

    Decoded images wait in memory until their points are known, so the batch is cut early when they
    would hold more than ``CHUNK_PIXELS`` pixels (a chunk of large photos).
    """
    rows: list[dict] = []
    pending: list[tuple[dict, Any]] = []
    held = 0
    for item in items:
        row, face = _locate(item)
        if face is None:
            rows.append(row)
            continue
        pending.append((row, face))
        held += face[0].shape[0] * face[0].shape[1]
        if held > CHUNK_PIXELS:
            rows += _flush(pending)
            pending, held = [], 0
    rows += _flush(pending) if pending else []
    return rows


def _chunks(items: Iterator[SourceItem], size: int) -> Iterator[list[SourceItem]]:
    chunk: list[SourceItem] = []
    for it in items:
        chunk.append(it)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------- main side
def _read_journal(path: Path) -> dict[str, dict]:
    done: dict[str, dict] = {}
    if path.exists():
        with path.open() as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:  # a line cut by an interruption
                    continue
                done[row["name"]] = row
    return done


def _check_run_config(out: Path, cfg: MaskConfig, force: bool) -> None:
    run = out / "run.json"
    if run.exists() and not force:
        old = json.loads(run.read_text())
        if old != asdict(cfg):
            diff = {k: (old.get(k), v) for k, v in asdict(cfg).items() if old.get(k) != v}
            raise ValueError(
                f"{out} holds a run with other settings {diff} (old, new): use another --out, or --force to start over"
            )
    run.write_text(json.dumps(asdict(cfg), indent=2, sort_keys=True) + "\n")


def _pending(
    data: str | os.PathLike, done: dict[str, dict], skipped: list[SkippedFile], limit: int | None, seen: set[str]
) -> Iterator[SourceItem]:
    n = 0
    for item in iter_source(data, skipped):
        if limit is not None and n >= limit:
            return
        n += 1
        if item.name in seen:
            continue  # a duplicate name (e.g. the same file in two sub-folders) would overwrite the output
        seen.add(item.name)
        if item.name in done:
            continue
        yield item


def run_masking(
    data: str | os.PathLike,
    out: str | os.PathLike,
    cfg: MaskConfig | None = None,
    workers: int | None = None,
    limit: int | None = None,
    progress: bool = True,
    force: bool = False,
) -> MaskSummary:
    """Mask every image of ``data`` into ``out``; resumes from ``out``'s journal if present."""
    cfg = (cfg or MaskConfig()).validate()
    out = Path(out)
    images = out / "images"
    if force and out.exists():
        for p in (out / ".journal.jsonl", out / "report.csv", out / "landmarks.npy", out / "summary.json"):
            p.unlink(missing_ok=True)
    images.mkdir(parents=True, exist_ok=True)
    _check_run_config(out, cfg, force)
    journal_path = out / ".journal.jsonl"
    done = _read_journal(journal_path)
    resumed = len(done)
    skipped: list[SkippedFile] = []
    seen: set[str] = set()
    workers = max(1, workers if workers else (os.cpu_count() or 1))
    t0 = time.perf_counter()
    pending = _pending(data, done, skipped, limit, seen)
    new = 0
    if workers > 1 and cfg.predictor == "batched":
        prepare_batch_predictor()  # parse the model once, before the workers load it
    with (
        journal_path.open("a") as journal,
        progress_bar(progress, desc="masking", unit="img", initial=resumed) as bar,
        parallel_map(
            process_chunk,
            _chunks(pending, CHUNK),
            workers,
            _init_worker,
            (asdict(cfg), str(images)),
            chunksize=2,
            local_init=lambda: _init_worker(asdict(cfg), str(images), in_process=True),
        ) as results,
    ):
        try:
            for row in (r for chunk in results for r in chunk):
                done[row["name"]] = row
                journal.write(json.dumps(row) + "\n")
                new += 1
                if new % 256 == 0:
                    journal.flush()
                bar.update(1)
        finally:
            journal.flush()
    wall = time.perf_counter() - t0
    for s in skipped:
        done.setdefault(s.name, {"name": s.name, "status": "skipped", "reason": s.reason})
    if limit is not None:
        done = {k: v for k, v in done.items() if k in seen or v["status"] == "skipped"}
    summary = _finalise(out, done, cfg)
    summary.wall_s = wall
    summary.resumed = resumed
    summary.images_per_s = new / wall if wall > 0 else 0.0
    (out / "summary.json").write_text(
        json.dumps(
            {
                "total": summary.total,
                "masked": summary.masked,
                "counts": summary.counts,
                "config": asdict(cfg),
                "wall_s_last_run": round(wall, 2),
                "images_per_s_last_run": round(summary.images_per_s, 1),
                "resumed_from": resumed,
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    return summary


def _finalise(out: Path, rows: dict[str, dict], cfg: MaskConfig) -> MaskSummary:
    """Write report.csv and landmarks.npy sorted by name (order-independent, so reproducible)."""
    names = sorted(rows)
    points: list[list[list[int]]] = []
    counts: dict[str, int] = {}
    with replacing(out / "report.csv") as tmp, tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=REPORT_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for name in names:
            row = dict(rows[name])
            counts[row["status"]] = counts.get(row["status"], 0) + 1
            row["landmark_row"] = -1
            if row.get("points") is not None:
                row["landmark_row"] = len(points)
                points.append(row["points"])
            w.writerow(row)
    arr = np.asarray(points, dtype=np.int16).reshape(-1, 68, 2)
    with replacing(out / "landmarks.npy") as tmp, tmp.open("wb") as f:
        np.save(f, arr)
    return MaskSummary(total=len(names), counts={s: counts[s] for s in STATUSES if s in counts})
