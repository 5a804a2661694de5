"""Reading a finished masking run: the one place that knows report.csv and landmarks.npy.

Both attackers (the CNN's cache and the dlib-descriptor attacker) and the splits start from the same
faces of the same run, so they read it through here: the faces with good labels (status ``ok`` or
``multiple_faces``, a name that parses, key points stored), sorted by name, with their boxes, image
sizes and key points, and the run's mask configuration.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maskprivacy.data.labels import FaceLabels, LabelError, age_to_bucket, parse_name
from maskprivacy.masking.draw import draw_mask

__all__ = ["GOOD_STATUSES", "MaskRun", "RunFace", "load_report", "read_mask_run"]

#: Statuses of report.csv whose faces every later stage uses (the largest face of several counts).
GOOD_STATUSES = ("ok", "multiple_faces")
#: The mask of a run that predates run.json: the paper's.
DEFAULT_MASK = {"style": "a", "color": "white", "seed": 0}


@dataclass(frozen=True)
class RunFace:
    """One well-labelled face of a masking run: its labels, where it is, and its key points' row."""

    name: str
    labels: FaceLabels
    landmark_row: int
    box: tuple[int, int, int, int]  # left, top, right, bottom (pixels of the source image)
    width: int = 0  # source image size (0 in runs made before sizes were recorded)
    height: int = 0
    points: np.ndarray | None = field(default=None, compare=False, repr=False)  # (68, 2) int16, the stored key points

    @property
    def age(self) -> int:
        return self.labels.age

    @property
    def sex(self) -> int:
        return self.labels.sex

    @property
    def race(self) -> int:
        return self.labels.race

    @property
    def age_bucket(self) -> int:
        return age_to_bucket(self.labels.age)


@dataclass
class MaskRun:
    """A finished masking run: its good faces (sorted by name), all key points, and its mask."""

    path: Path
    faces: list[RunFace]
    points: np.ndarray  # (M, 68, 2) int16; row = RunFace.landmark_row
    config: dict[str, Any]

    def points_of(self, face: RunFace) -> np.ndarray:
        return self.points[face.landmark_row]

    def by_name(self) -> dict[str, RunFace]:
        return {f.name: f for f in self.faces}


def load_report(out: str | os.PathLike) -> tuple[list[dict], np.ndarray]:
    """A masking run's report rows (as dicts of strings) and its landmark array, unfiltered."""
    out = Path(out)
    with (out / "report.csv").open() as f:
        rows = list(csv.DictReader(f))
    return rows, np.load(out / "landmarks.npy")


def _int(v: Any) -> int:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return 0


def read_mask_run(mask_run: str | os.PathLike) -> MaskRun:
    """The good faces of a finished masking run, with a clear error when it is not one."""
    run = Path(mask_run)
    if not (run / "report.csv").is_file() or not (run / "landmarks.npy").is_file():
        raise FileNotFoundError(
            f"--mask-run {run}: no report.csv and landmarks.npy here; run `maskprivacy mask --out {run}` first"
        )
    rows, points = load_report(run)
    cfg_path = run / "run.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else dict(DEFAULT_MASK)
    faces = []
    for r in rows:
        row = _int(r.get("landmark_row") or -1)
        if r.get("status") not in GOOD_STATUSES or row < 0:
            continue
        try:
            labels = parse_name(r["name"])
        except LabelError:
            continue
        box = tuple(_int(r.get(k)) for k in ("box_left", "box_top", "box_right", "box_bottom"))
        faces.append(
            RunFace(
                r["name"],
                labels,
                row,
                box,
                _int(r.get("width")),
                _int(r.get("height")),  # type: ignore[arg-type]
                points[row],
            )
        )
    faces.sort(key=lambda f: f.name)
    return MaskRun(run, faces, points, cfg)


def masked_pixels(rgb: np.ndarray, points: np.ndarray, mask: dict[str, Any], name: str) -> np.ndarray:
    """The run's mask (style, colour, seed) drawn on ``rgb`` at its stored key points.

    What every attacker reads as a masked face: the CNN's cache and the dlib attacker both redraw the
    mask from the key points on the decoded original, so they see the same pixels (the run's JPEGs
    are for people to look at; re-encoding would add JPEG noise one attacker sees and the other not).
    """
    return draw_mask(
        rgb,
        np.asarray(points).astype(np.int32),
        mask.get("style", "a"),
        mask.get("color", "white"),
        int(mask.get("seed", 0)),
        name,
    )
