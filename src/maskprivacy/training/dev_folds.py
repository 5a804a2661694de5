"""realmask-dev in the real-mask attacker's training, under person-disjoint cross-validation.

realmask-dev (``--real-masks``) is the only set of real masked photos with person ids (``pNNN_`` names)
and with the bare photos of the same people, so it is both what the run reports on and, here, more
training data of the kind the attackers lack. Both at once are honest only under cross-validation:

* the people are cut into ``real.dev_folds`` = k folds (:func:`person_folds`: every person in exactly
  one fold);
* for each fold f, a **fold model** is trained as the real-mask attacker is (same init, schedule and
  UTKFace mix) on realmask-train's train part + the dev people outside fold f; realmask-train's
  validation clusters stay its validation part, and no dev person is ever in it;
* every figure reported on a dev photo is read by the fold model that never saw that person
  (out-of-fold: ``analysis/dev_cv.py``), with intervals over people;
* the model the run ships (RUN/train/real_<split>/) is trained on realmask-train's train part + every
  dev person; its reading of the dev photos is not a figure (it saw them).

Files (:class:`~maskprivacy.layout.RunLayout` of the family's run folder): ``real_folds/fold_<f>/model.pt``
(+ its training log, ``real_fold(f)``) and ``real_folds/folds.json`` (each dev photo's fold and person,
``folds_json``); realmask-dev's aligned photos in ``real/dev/`` (``real_dev``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from maskprivacy.atomic import write_json
from maskprivacy.data.photo_labels import person_of, read_labels
from maskprivacy.layout import REAL, AttackerFolder, RunLayout
from maskprivacy.training.real_photos import RealPhotos, group_folds, seed_of
from maskprivacy.training.stage_real import finetune_real, finetune_real_model, real_parts


def dev_folds(cfg: dict) -> int:
    """``real.dev_folds`` (0 = realmask-dev stays out of training); a clear error for a bad value."""
    k = int((cfg.get("real") or {}).get("dev_folds") or 0)
    if k == 1 or k < 0:
        raise ValueError(f"real.dev_folds must be 0 (off) or at least 2 folds, got {k}")
    return k


def check_dev_folder(folder: str | os.PathLike, k: int) -> None:
    """Before any work: a ``--real-masks`` folder the folds cannot cut (a masked photo without a ``pNNN_``
    person id, or fewer people than folds) is an error that says what to change."""
    if k == 0:
        return
    rows = [r for r in read_labels(Path(folder) / "labels.csv", []) if r.masked is not False]
    unnamed = [r.path for r in rows if not person_of(r.path)]
    people = {person_of(r.path) for r in rows} - {None}
    if unnamed or len(people) < k:
        why = f"{len(unnamed)} masked photos without a pNNN_ person id (e.g. {unnamed[0]})" if unnamed else ""
        why = why or f"{len(people)} people for {k} folds"
        raise ValueError(
            f"--real-masks {folder}: real.dev_folds = {k} trains on its people under person-disjoint folds, "
            f"but it has {why}; name each file pNNN_... after its person, or pass --set real.dev_folds=0"
        )


def person_folds(photos: RealPhotos, k: int, seed: int) -> np.ndarray:
    """Fold 0..k-1 per dev photo, each person in exactly one fold (persons from the ``pNNN_`` names)."""
    missing = [p for p, who in zip(photos.paths, photos.person) if not who]
    if missing:
        raise ValueError(
            f"{photos.root}: person-disjoint folds need every file name to start with its person's id "
            f"(pNNN_...); {len(missing)} do not, e.g. {missing[0]}"
        )
    people = sorted(set(photos.person))
    ids = {p: i for i, p in enumerate(people)}
    return group_folds(np.array([ids[p] for p in photos.person], np.int64), k, seed_of("dev-folds", seed))


def combine(train: RealPhotos, dev: RealPhotos, dev_rows: np.ndarray, cfg: dict) -> tuple[RealPhotos, np.ndarray]:
    """realmask-train + the dev photos ``dev_rows`` as one set, and its ``train``/``val`` parts.

    realmask-train keeps its own cut (:func:`~maskprivacy.training.stage_real.real_parts`: whole
    near-duplicate clusters); every dev photo given goes to the train part (validation stays the same
    for every fold and for the shipped model, so their validation figures compare). Dev people get
    cluster ids of their own, above realmask-train's, so no cut can merge the two sets' groups.
    """
    dev_rows = np.asarray(dev_rows, np.int64)
    base = int(train.cluster.max()) + 1 if len(train) else 0
    people = sorted({dev.person[i] for i in dev_rows})
    pid = {p: base + j for j, p in enumerate(people)}

    def frame(p: RealPhotos, rows: np.ndarray | None = None) -> np.ndarray:
        n = len(p) if rows is None else len(rows)
        if p.beyond_frame is None:
            return np.full(n, np.nan)
        return p.beyond_frame if rows is None else p.beyond_frame[rows]

    photos = RealPhotos(
        root=train.root,
        crops=np.concatenate([np.asarray(train.crops), np.asarray(dev.crops)[dev_rows]]),
        paths=[*train.paths, *(dev.paths[i] for i in dev_rows)],
        sex=np.concatenate([train.sex, dev.sex[dev_rows]]),
        race=np.concatenate([train.race, dev.race[dev_rows]]),
        person=[*train.person, *(dev.person[i] for i in dev_rows)],
        cluster=np.concatenate([train.cluster, np.array([pid[dev.person[i]] for i in dev_rows], np.int64)]),
        meta={**train.meta, "dev": {"source": dev.meta.get("source"), "photos": len(dev_rows), "people": people}},
        beyond_frame=np.concatenate([frame(train), frame(dev, dev_rows)]),
    )
    parts = np.concatenate([real_parts(train, cfg), np.full(len(dev_rows), "train", dtype=object)])
    return photos, parts


def people_seen(model: str | os.PathLike) -> set[str]:
    """The people a real-mask model learnt from, as its bundle's record lists them (empty: none, or a
    model from before they were recorded)."""
    info = Path(model).with_suffix(".json")
    return set((json.loads(info.read_text()).get("real_photos") or {}).get("people") or []) if info.is_file() else set()


def fold_split(cfg: dict) -> str:
    """The UTKFace rows a fold model mixes in: the shared split's where the profile trains one model for
    both splits, else the uniform split's (the split the real-mask row of the report reads)."""
    return "shared" if bool(cfg["finetune"].get("shared_splits")) else "uniform"


def train_dev_folds(cfg: dict, root: str | os.PathLike, train: RealPhotos, dev: RealPhotos) -> dict[str, Any]:
    """Every fold model of a family (those already trained are kept), and folds.json."""
    root = Path(root)
    layout = RunLayout(root)
    k = dev_folds(cfg)
    folds = person_folds(dev, k, int(cfg["seed"]))
    for f in range(k):
        photos, parts = combine(train, dev, np.flatnonzero(folds != f), cfg)
        finetune_real_model(cfg, root, fold_split(cfg), photos, parts, layout.real_fold(f).model)
    d = {
        "k": k,
        "seed": int(cfg["seed"]),
        "source": dev.meta.get("source"),
        "photos": [{"path": p, "person": who, "fold": int(f)} for p, who, f in zip(dev.paths, dev.person, folds)],
        "models": [layout.real_fold(f).model.relative_to(root).as_posix() for f in range(k)],
    }
    write_json(layout.folds_json, d)
    return d


def finetune_real_with_dev(
    cfg: dict, root: str | os.PathLike, split: str, train: RealPhotos, dev: RealPhotos | None
) -> Path:
    """The family's real-mask attacker for ``split``: with realmask-dev and ``real.dev_folds`` > 0, first
    the fold models (the cross-validated figures), then the shipped model on realmask-train + every
    dev person; otherwise realmask-train alone, as before."""
    if dev is None or dev_folds(cfg) == 0:
        return finetune_real(cfg, root, split, train)
    _refuse_stale(Path(root), dev)
    train_dev_folds(cfg, root, train, dev)
    photos, parts = combine(train, dev, np.arange(len(dev)), cfg)
    return finetune_real(cfg, root, split, photos, parts)


def _refuse_stale(root: Path, dev: RealPhotos) -> None:
    """A real-mask attacker trained before the dev folds were on would be shipped as if it had learnt
    from the dev people: stop, and say how to retrain it."""
    people = {p for p in dev.person if p}
    for folder in sorted(RunLayout(root).train.glob(f"{REAL}_*")):
        model = AttackerFolder(folder).model
        if model.with_suffix(".json").is_file() and people_seen(model) != people:
            raise ValueError(
                f"{folder} was trained without realmask-dev's people (real.dev_folds was off when it was made): "
                "retrain it with --force train_real (and --force train_<family>_real)"
            )
