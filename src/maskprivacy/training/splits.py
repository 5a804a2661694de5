"""The paper's two data splits, deterministic from a seed and written to disk.

* ``random``: each class (here: each sex x race cell, so both tasks stay balanced) is shuffled with
  the seed and cut into train/val/test fractions.
* ``uniform``: images grouped by sex, then race, then age ascending, streamed in chunks of 10 and
  each chunk cut into train/val/test, leftovers to train (the paper's code). The split then follows
  the same joint sex x race x age distribution in train, val and test.

Deviation, on purpose: the paper's code truncates ``int(10 * 0.03) = 0`` so a 3% validation split is
empty within every chunk. We carry the fractional remainders from chunk to chunk (cumulative
rounding), which keeps the per-chunk structure and gives val and test their intended sizes.

The split is a function of the image *names* only, so the masked and unmasked runs, which share the
names, test on exactly the same faces.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from maskprivacy.atomic import replacing, write_json
from maskprivacy.data.labels import FaceLabels
from maskprivacy.layout import PARTS, SPLITS

DEFAULT_FRACTIONS = (0.87, 0.03, 0.10)
CHUNK = 10


@dataclass(frozen=True)
class Item:
    name: str
    labels: FaceLabels


def _check(fractions: Sequence[float]) -> tuple[float, float, float]:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    return tuple(float(f) for f in fractions)  # type: ignore[return-value]


def random_split(
    items: Sequence[Item], fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 2021
) -> dict[str, str]:
    """name -> part; each sex x race cell shuffled with ``seed`` and cut by ``fractions``."""
    tr, va, _ = _check(fractions)
    cells: dict[tuple[int, int], list[str]] = {}
    for it in sorted(items, key=lambda i: i.name):
        cells.setdefault((it.labels.sex, it.labels.race), []).append(it.name)
    rng = np.random.default_rng(seed)
    out: dict[str, str] = {}
    for key in sorted(cells):
        names = cells[key]
        order = rng.permutation(len(names))
        n_tr, n_va = int(len(names) * tr), int(len(names) * va)
        for rank, idx in enumerate(order):
            out[names[idx]] = "train" if rank < n_tr else ("val" if rank < n_tr + n_va else "test")
    return out


def uniform_split(
    items: Sequence[Item], fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 2021
) -> dict[str, str]:
    """name -> part; the paper's chunked stream over (sex, race, age), with remainders carried.

    ``seed`` orders images of the same sex, race and age (the paper used directory order), so the
    split is reproducible and not tied to how a file system lists files.
    """
    _, va, te = _check(fractions)
    out: dict[str, str] = {}

    def tie(name: str) -> str:
        return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()

    for sex in sorted({i.labels.sex for i in items}):
        stream = sorted(
            (i for i in items if i.labels.sex == sex), key=lambda i: (i.labels.race, i.labels.age, tie(i.name))
        )
        seen = 0
        got_val = got_test = 0
        for start in range(0, len(stream), CHUNK):
            chunk = stream[start : start + CHUNK]
            seen += len(chunk)
            n_val = min(len(chunk), max(0, round(seen * va) - got_val))
            n_test = min(len(chunk) - n_val, max(0, round(seen * te) - got_test))
            got_val += n_val
            got_test += n_test
            n_train = len(chunk) - n_val - n_test
            # within the chunk (sorted by age), train first, then val, then test, as the paper's code
            for j, it in enumerate(chunk):
                out[it.name] = "train" if j < n_train else ("val" if j < n_train + n_val else "test")
    return out


def make_split(
    kind: str, items: Sequence[Item], fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 2021
) -> dict[str, str]:
    if kind == "random":
        return random_split(items, fractions, seed)
    if kind == "uniform":
        return uniform_split(items, fractions, seed)
    raise ValueError(f"split must be one of {SPLITS}, got {kind!r}")


def write_split(path: str | os.PathLike, assignment: dict[str, str]) -> None:
    """CSV (name, part), sorted by name: the split every later stage reads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp, tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "part"])
        for name in sorted(assignment):
            w.writerow([name, assignment[name]])


def read_split(path: str | os.PathLike) -> dict[str, str]:
    with Path(path).open() as f:
        return {r["name"]: r["part"] for r in csv.DictReader(f)}


def counts(assignment: dict[str, str]) -> dict[str, int]:
    return {p: sum(1 for v in assignment.values() if v == p) for p in PARTS}


def items_from_names(names: Iterable[str]) -> list[Item]:
    """Items for every well-named image (malformed names are the caller's to report)."""
    from maskprivacy.data.labels import LabelError, parse_name

    out = []
    for n in names:
        try:
            out.append(Item(n, parse_name(n)))
        except LabelError:
            continue
    return out


def ensure_splits(
    splits_dir: str | os.PathLike,
    names: Sequence[str],
    fractions: Sequence[float] | None = None,
    seed: int | None = None,
) -> tuple[dict[str, Path], bool]:
    """Both splits of ``names`` in ``splits_dir`` (``<split>.csv`` and ``meta.json``); True if made now.

    The one split maker of the project: every attacker tests on the faces these files name. A split
    already on disk is kept (both attackers of a run then share it); when ``meta.json`` records other
    settings the run folder belongs to another experiment, which is an error rather than a silent mix.
    ``fractions`` / ``seed`` None: whatever the folder's splits were made with (else the defaults), for a
    reader such as the dlib attacker that follows the CNN's split.

    >>> import tempfile
    >>> names = [f"{20 + i % 50}_{i % 2}_{i % 5}_2017{i:05d}.jpg" for i in range(100)]
    >>> paths, made = ensure_splits(tempfile.mkdtemp(), names, (0.8, 0.1, 0.1), seed=1)
    >>> made, sorted(paths), counts(read_split(paths["uniform"]))
    (True, ['random', 'uniform'], {'train': 80, 'val': 10, 'test': 10})
    """
    sdir = Path(splits_dir)
    paths = {s: sdir / f"{s}.csv" for s in SPLITS}
    meta_path = sdir / "meta.json"
    old = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    fr = _check(fractions if fractions is not None else old.get("fractions", DEFAULT_FRACTIONS))
    seed = int(seed if seed is not None else old.get("seed", 2021))
    meta: dict = {"fractions": list(fr), "seed": seed, "n": len(names)}
    if old:
        if {k: old.get(k) for k in ("fractions", "seed")} != {k: meta[k] for k in ("fractions", "seed")}:
            raise ValueError(f"{sdir} holds splits made with other settings {old}; use another --out")
        if all(p.is_file() for p in paths.values()):
            return paths, False
    items = items_from_names(names)
    for s in SPLITS:
        a = read_split(paths[s]) if paths[s].is_file() else make_split(s, items, fr, seed)
        if not paths[s].is_file():
            write_split(paths[s], a)
        meta[s] = counts(a)
    write_json(meta_path, meta)
    return paths, True
