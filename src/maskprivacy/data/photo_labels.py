"""Labels of a folder of photos that are not UTKFace: ``labels.csv`` beside the images.

Columns: ``path`` (relative to the folder), ``sex`` (0 male, 1 female), ``race`` (UTKFace's codes
0-4), ``age`` (years), optional ``masked`` (0/1: the photo already shows a real mask). Any label may
be blank: a blank is "unknown", never a guess, and every reader of these rows treats it so (metrics
skip it, training masks its loss). ``evaluate`` reads folders this way, and so does the training
stage that learns from real masked photos; both keep their rows in this one shape.

>>> person_of("images/p003_10m.jpg"), person_of("web/0001.jpg")
('p003', None)
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

from maskprivacy.data.labels import MAX_AGE, RACE_NAMES, SEX_NAMES
from maskprivacy.tasks import CLASS_TASKS

LABEL_COLUMNS = ("sex", "race", "age", "masked")
#: The class tasks a labelled photo answers itself (its age bucket comes from its age).
PHOTO_CLASS_TASKS: tuple[str, ...] = tuple(t for t in CLASS_TASKS if t in LABEL_COLUMNS)


@dataclass
class LabelRow:
    path: str
    sex: int | None
    race: int | None
    age: float | None
    masked: bool | None


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
            raise ValueError(
                f"{p}: needs a 'path' column (found: {', '.join(cols) or 'no header'}); "
                f"optional columns: {', '.join(LABEL_COLUMNS)}"
            )
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
                rows.append(
                    LabelRow(
                        r["path"].strip(),
                        _int_label(r.get("sex", ""), "sex", range(len(SEX_NAMES))),
                        _int_label(r.get("race", ""), "race", range(len(RACE_NAMES))),
                        age,
                        None if m is None else bool(m),
                    )
                )
            except ValueError as e:
                errors.append({"path": r.get("path", ""), "reason": f"line {i}: {e}"})
    return rows


def read_labels_strict(folder: str | os.PathLike) -> list[LabelRow]:
    """``folder/labels.csv`` for training: every row must parse, or nothing is used.

    Evaluation may skip a bad row and say so; a training set must not silently lose rows, nor learn
    from a code it misread, so one unknown code stops the stage with the lines to fix.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of photos")
    path = folder / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} has no labels.csv: it needs one with a 'path' column and optional "
            f"{', '.join(LABEL_COLUMNS)} columns (blank where unknown)"
        )
    errors: list[dict[str, str]] = []
    rows = read_labels(path, errors)
    if errors:
        shown = "; ".join(f"{e['reason']} ({e['path'] or 'no path'})" for e in errors[:5])
        more = f" and {len(errors) - 5} more" if len(errors) > 5 else ""
        raise ValueError(f"{path}: {len(errors)} row(s) with unknown codes or values: {shown}{more}")
    if not rows:
        raise ValueError(f"{path} lists no photo")
    return rows


PERSON_RE = re.compile(r"(?:^|/)(p\d+)_[^/]*$")  # realmask-dev's names: images/p003_10m.jpg -> person p003


def person_of(path: str) -> str | None:
    """The person a realmask-dev photo shows (its ``pNNN_`` prefix), or None for other names."""
    m = PERSON_RE.search(path)
    return m.group(1) if m else None
