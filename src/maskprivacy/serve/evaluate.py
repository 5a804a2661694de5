"""``evaluate``: a run's models on any labelled folder of photos (not only UTKFace).

labels.csv columns: ``path`` (relative to the images folder), ``sex`` (0 male, 1 female), ``race``
(UTKFace codes 0-4), ``age`` (years), optional ``masked`` (0/1: the photo already shows a real mask).
Any label may be blank; metrics are computed for whatever labels exist. One face is read per photo
(the largest). Photos whose face is not found, or that cannot be read, are counted and listed, never
silently dropped.

Which model reads a face: with ``mask_style=None`` a bare face goes to the unmasked-face models and a
face marked ``masked=1`` to the masked-face models as it is; with a style, bare faces get that digital
mask and go to the masked-face models. Where ``masked`` is blank, the colour check decides.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..data.labels import MAX_AGE, RACE_NAMES, SEX_NAMES

LABEL_COLUMNS = ("sex", "race", "age", "masked")


@dataclass
class LabelRow:
    path: str
    sex: int | None
    race: int | None
    age: float | None
    masked: bool | None


@dataclass
class EvalResult:
    n: int
    faces_found: int
    metrics: dict[str, dict[str, Any]]
    not_found: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)  # unreadable photos and bad label rows

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "faces_found": self.faces_found, **self.metrics,
                "not_found": self.not_found, "errors": self.errors}


def _int_label(value: str, name: str, allowed: range) -> int | None:
    v = value.strip()
    if v == "":
        return None
    try:
        f = float(v)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if f != int(f) or int(f) not in allowed:
        raise ValueError(f"{name} must be one of {allowed.start}..{allowed.stop - 1}, got {value!r}")
    return int(f)


def read_labels(path: str | os.PathLike, errors: list[dict[str, str]]) -> list[LabelRow]:
    """Rows of labels.csv; a bad row goes to ``errors`` with its reason, the others are kept."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--labels {p}: no such file")
    with open(p, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        if "path" not in cols:
            raise ValueError(f"{p}: needs a 'path' column (found: {', '.join(cols) or 'no header'}); "
                             f"optional columns: {', '.join(LABEL_COLUMNS)}")
        rows = []
        for i, raw in enumerate(reader, start=2):
            r = {(k or "").strip(): (v or "") for k, v in raw.items()}
            try:
                if not r["path"].strip():
                    raise ValueError("empty path")
                age_s = r.get("age", "").strip()
                age = None if age_s == "" else float(age_s)
                if age is not None and not 0 <= age <= MAX_AGE + 30:
                    raise ValueError(f"age must be 0..{MAX_AGE + 30}, got {age_s!r}")
                m = _int_label(r.get("masked", ""), "masked", range(2))
                rows.append(LabelRow(r["path"].strip(), _int_label(r.get("sex", ""), "sex", range(len(SEX_NAMES))),
                                     _int_label(r.get("race", ""), "race", range(len(RACE_NAMES))), age,
                                     None if m is None else bool(m)))
            except ValueError as e:
                errors.append({"path": r.get("path", ""), "reason": f"line {i}: {e}"})
    return rows


def _batches(rows: list[LabelRow], size: int) -> Iterator[list[LabelRow]]:
    for s in range(0, len(rows), size):
        yield rows[s:s + size]


def evaluate(images: str | os.PathLike, labels: str | os.PathLike, model: str | os.PathLike,
             mask_style: str | None = None, mask_color: str = "white", split: str = "uniform",
             detector: str = "auto", progress: bool = False, batch_size: int = 16,
             tta: bool | None = None) -> EvalResult:
    """Accuracy (sex, race) and MAE (age) of a run's models on a labelled folder of photos."""
    from tqdm import tqdm

    from ..data.imageio import ImageError, decode_image
    from .analyze import get_analyzer

    root = Path(images)
    if not root.is_dir():
        raise FileNotFoundError(f"--images {root}: no such folder")
    errors: list[dict[str, str]] = []
    rows = read_labels(labels, errors)
    analyzer = get_analyzer(model, split, detector, tta)
    style = None if mask_style in (None, "none") else mask_style
    n_bad_rows = len(errors)
    not_found: list[str] = []
    pairs: list[tuple[LabelRow, dict[str, Any]]] = []
    bar = tqdm(total=len(rows), unit="photo", disable=not progress, desc="evaluate")
    for batch in _batches(rows, batch_size):
        ok: list[tuple[LabelRow, np.ndarray]] = []
        for r in batch:
            p = root / r.path
            try:
                if not p.resolve().is_relative_to(root.resolve()):
                    raise ImageError("unreadable", "path leaves the images folder")
                ok.append((r, decode_image(p.read_bytes())))
            except FileNotFoundError:
                errors.append({"path": r.path, "reason": "no such file"})
            except (ImageError, OSError) as e:
                errors.append({"path": r.path, "reason": str(e)})
        results = analyzer.analyze_batch([a for _, a in ok], style, mask_color, [r.masked for r, _ in ok]) if ok else []
        for (r, _), res in zip(ok, results):
            if not res.faces:
                not_found.append(r.path)
                continue
            f = res.faces[0]
            reading = f.masked if (style and not f.already_masked) else f.as_is
            if reading is not None:
                pairs.append((r, reading))
        bar.update(len(batch))
    bar.close()

    metrics: dict[str, dict[str, Any]] = {}
    for task in ("sex", "race"):
        hits = [int(rd[task]["index"] == getattr(r, task)) for r, rd in pairs
                if getattr(r, task) is not None and task in rd]
        if any(getattr(r, task) is not None for r in rows):
            metrics[task] = {"accuracy": float(np.mean(hits)) if hits else None, "n": len(hits)}
    errs = [abs(rd["age"]["years"] - r.age) for r, rd in pairs if r.age is not None and "age" in rd]
    if any(r.age is not None for r in rows):
        metrics["age"] = {"mae": float(np.mean(errs)) if errs else None, "n": len(errs)}
    return EvalResult(n=len(rows) + n_bad_rows, faces_found=len(rows) - len(not_found) - (len(errors) - n_bad_rows),
                      metrics=metrics, not_found=not_found, errors=errors)
