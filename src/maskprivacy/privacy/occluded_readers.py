"""Who reads an occluded face best: every masked-face attacker scored on occluded validation faces.

The protection stage needs two attackers beside the paper-style one: the strongest *naive* reader
(any attacker as trained before occluders existed) and the strongest *adaptive* one (trained on
occluders, training/stage_adaptive.py); ``readers.json`` needs the reader of role ``occluded``, the
same adaptive one (``maskprivacy protect`` reads photos with it). All are chosen the same way, never on test
faces: each single-network attacker of every family (found by its record, privacy/discovery.py) reads
the split's validation faces, each wearing one occlusion drawn for it (which one and how, seeded by
the face's name), and is scored by the mean accuracy of sex, race and age bucket.

The scores are kept in ``RUN/occlusions/val_<split>.json`` with the size and time of every model they
came from, so the protection stage and the reader choice pay for them once.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskprivacy.atomic import write_json
from maskprivacy.layout import ADAPTIVE, MASKED_FACE_CONDITIONS, AttackerFolder, RunLayout
from maskprivacy.records import DEFAULT_FAMILY
from maskprivacy.tasks import CLASS_TASKS


@dataclass(frozen=True)
class Reader:
    """One single-network attacker of a run: its name in results.json and where its model lives."""

    attacker: str  # cnn, cnn_robust, facenet_adaptive... (its record's name)
    family: str
    trained_on: str
    root: Path  # the family's run folder
    model: Path

    @property
    def adaptive(self) -> bool:
        return self.trained_on == ADAPTIVE

    @property
    def val_predictions(self) -> Path:
        """Its outputs on the split's validation faces (bare or with the paper's mask, as trained)."""
        return AttackerFolder(self.model.parent).val_predictions

    def describe(self, run: Path) -> dict[str, Any]:
        """Its entry in readers.json and occlusions.json (the keys of analysis/reader_choice.py's)."""
        return {
            "attacker": self.attacker,
            "family": self.family,
            "condition": self.trained_on,
            "model": self.model.relative_to(run).as_posix(),
            "name": self.model.parent.relative_to(run).as_posix().replace("train/", ""),
        }


def readers(run: str | os.PathLike, split: str, trained_on: Sequence[str] = MASKED_FACE_CONDITIONS) -> list[Reader]:
    """Every single-network attacker of ``run`` for ``split`` trained on one of ``trained_on``: the
    multi-task networks of every family that discovery finds by their records (privacy/discovery.py)
    and whose model is there (dlib's descriptor and the ensemble read no pixels of their own)."""
    from maskprivacy.privacy.discovery import discover
    from maskprivacy.training.runtime import family_roots

    run = Path(run)
    roots = dict(family_roots(run))
    out = []
    for a in discover(run):
        rec = a.record
        model = a.files.model
        if rec.family in roots and rec.split == split and rec.approach == "multitask" and rec.trained_on in trained_on:
            if model.is_file():
                out.append(Reader(rec.name, rec.family, str(rec.trained_on), roots[rec.family], model))
    return out


def family_cfg(cfg: dict, family: str) -> dict | None:
    """The profile a family's models were trained with (the CNN's own for ``cnn``); None when the
    profile does not say (no such section, or no cache size), so its faces cannot be found."""
    from maskprivacy.training.config import family_config

    fc = cfg if family == DEFAULT_FAMILY else family_config(cfg, family)
    return fc if fc is not None and "size" in (fc.get("cache") or {}) else None


def device(cfg: dict) -> str:
    """Where the models read: the GPU when the profile trains on one and it is there."""
    import torch

    return "cuda" if cfg["trainer"]["accelerator"] in ("gpu", "cuda") and torch.cuda.is_available() else "cpu"


def random_occlusions(names: Sequence[str], keys: Sequence[str], seed: int) -> np.ndarray:
    """Which of ``names`` each validation face wears: an index per face that depends only on (``seed``,
    its key), not on the faces it comes with."""
    return np.array([zlib.crc32(f"{seed}:which:{k}".encode()) % len(names) for k in keys], dtype=np.int64)


def occluded_faces(faces: np.ndarray, points: np.ndarray, keys: Sequence[str], names: Sequence[str], seed: int):
    """The faces, each wearing the occlusion :func:`random_occlusions` gives it (drawn as the protection
    table draws it: ``occlusion_batch``, each face seeded by (``seed``, its key))."""
    from maskprivacy.masking.occluders import occlusion_batch

    which = random_occlusions(names, keys, seed)
    out = np.empty_like(faces)
    for k, name in enumerate(names):
        idx = np.flatnonzero(which == k)
        if len(idx):
            out[idx] = occlusion_batch(faces[idx], points[idx], name, seed, keys=[keys[i] for i in idx])[0]
    return out


def _signature(models: list[Reader]) -> list[list[Any]]:
    return sorted([r.model.as_posix(), r.model.stat().st_size, r.model.stat().st_mtime_ns] for r in models)


def occluded_val_scores(
    run: str | os.PathLike, cfg: dict, split: str, names: Sequence[str], seed: int = 0, batch_size: int = 256
) -> dict[str, Any]:
    """``{"scores": {attacker: score}, "n": validation faces, "occlusions": names}`` (see the module
    docstring), read back from RUN/occlusions/val_<split>.json when it was computed from the same models
    and occlusions."""
    from maskprivacy.models.predictor import Predictor
    from maskprivacy.training import cache as cache_mod
    from maskprivacy.training.rows import split_rows
    from maskprivacy.training.runtime import cache_path

    run = Path(run)
    cands = readers(run, split)
    path = RunLayout(run).occluded_val_json(split)
    sig = {"models": _signature(cands), "occlusions": list(names), "seed": int(seed), "drawn_by": "occlusion_batch"}
    if path.is_file():
        old = json.loads(path.read_text())
        if old.get("signature") == sig:
            return old
    scores: dict[str, float] = {}
    n = 0
    by_family: dict[str, list[Reader]] = {}
    for r in cands:
        by_family.setdefault(r.family, []).append(r)
    for family, group in by_family.items():
        fcfg = family_cfg(cfg, family)
        udir = cache_path(group[0].root, fcfg, "unmasked") if fcfg is not None else None
        if udir is None or not cache_mod.is_complete(udir):  # e.g. a run copied without its caches
            continue
        c = cache_mod.load_cache(udir)
        rows = split_rows(c.names, RunLayout(group[0].root).split_csv(split))["val"]
        if not len(rows):
            continue
        keys = [c.names[i] for i in rows]
        faces = occluded_faces(
            np.ascontiguousarray(c.images[rows]), cache_mod.ensure_points(udir)[rows], keys, names, seed
        )
        n = len(rows)
        for r in group:
            p = Predictor.load(r.model, device=device(cfg))
            p.tta = False
            out = p.predict(faces, batch_size=batch_size)
            truth = {t: getattr(c, t)[rows] for t in CLASS_TASKS}
            accs = [float((out[t].argmax(1) == truth[t]).mean()) for t in CLASS_TASKS if t in out]
            scores[r.attacker] = float(np.mean(accs)) if accs else float("nan")
    res = {"scores": scores, "n": n, "occlusions": list(names), "signature": sig}
    write_json(path, res)
    return res


def best_reader(cands: list[Reader], scores: dict[str, float]) -> Reader | None:
    """The candidate with the highest score (ties: the name that sorts last; deterministic)."""
    scored = [r for r in cands if np.isfinite(scores.get(r.attacker, float("nan")))]
    return max(scored, key=lambda r: (scores[r.attacker], r.attacker)) if scored else None


WHY = (
    "the adaptive attacker (trained on occluders) with the best mean accuracy of sex, race and age bucket on "
    "the split's validation faces, each wearing a random occlusion; every masked-face attacker's score is recorded"
)


def choose_occluded(run: str | os.PathLike, cfg: dict, split: str, seed: int = 0) -> dict[str, Any] | None:
    """readers.json's role ``occluded``: the best reader of occluded faces among the adaptive attackers,
    every masked-face attacker scored the same way beside it (``candidates``; ``best_overall`` names a
    naive one that scored higher), or None when the run has no adaptive attacker: ``maskprivacy protect``
    then says plainly that its reader never saw an occlusion."""
    from maskprivacy.masking.occluders import OCCLUSIONS

    run = Path(run)
    cands = readers(run, split)
    if not any(r.adaptive for r in cands):
        return None
    val = occluded_val_scores(run, cfg, split, list(OCCLUSIONS), seed)
    b = best_reader([r for r in cands if r.adaptive], val["scores"])
    if b is None:
        return None
    out = {
        **b.describe(run),
        "why": WHY,
        "candidates": {r.describe(run)["name"]: val["scores"].get(r.attacker) for r in cands},
    }
    top = best_reader(cands, val["scores"])
    if top is not None and top != b:
        out["best_overall"] = {**top.describe(run), "score": val["scores"][top.attacker]}
    return out
