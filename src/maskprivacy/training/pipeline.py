"""The training pipeline, one function per stage, each skipping work that is already complete.

Layout of a run folder ``RUN``::

    RUN/train_config.yaml                 the resolved profile (a resumed run must match it)
    RUN/cache/<condition>_s<S>/           decoded images (see cache.py)
    RUN/splits/<random|uniform>.csv       name,part  (+ splits/meta.json)
    RUN/pretrain/<condition>/backbone.pt  MoCo v2 query encoder weights (+ pretrain.json, checkpoints/, logs/)
    RUN/train/<condition>_<split>/        model.pt, metrics.json, predictions.csv, confusion_<task>.png,
                                          checkpoints/, logs/, per_task/ (one network per task)
    RUN/train/robust_<split>/             the mask-robust attacker (same files): trained on unmasked faces
                                          wearing random masks (training/robust.py), tested on the
                                          paper's mask "a" like the masked attacker

Stages (what ``maskprivacy train`` runs in order; the reproduce pipeline calls them one by one):

* :func:`prepare_cache`  (data, mask run -> cache)
* :func:`prepare_splits` (cache names -> split CSVs)
* :func:`pretrain`       (cache, splits -> backbone.pt); its images are those in the *train* part of
  every split, so no test (or validation) face of either split is ever seen, and one pretraining
  serves both splits
* :func:`finetune`       (backbone.pt -> model.pt per approach)
* :func:`evaluate_attacker` (model.pt -> metrics.json, predictions.csv, confusion PNGs)
* :func:`finetune_robust` (the masked attacker's model.pt + unmasked cache + points.npy -> the
  mask-robust attacker, condition ``robust``; evaluated by :func:`evaluate_attacker` on the masked cache)

Under DDP (``--strategy ddp --devices N``) Lightning re-runs the same command in N-1 more
processes when the first ``fit`` starts; every process walks the same stages, all of them take part
in each ``fit``, and only global rank 0 writes files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from maskprivacy.layout import CONDITIONS, ROBUST, SPLITS, TRAIN_CONDITIONS, RunLayout
from maskprivacy.tasks import CLASS_TASKS
from maskprivacy.training import cache as cache_mod
from maskprivacy.training.config import resolve
from maskprivacy.training.rows import fit_rows, pretrain_rows, shared_rows, split_rows  # noqa: F401
from maskprivacy.training.runtime import (  # noqa: F401
    APPROACHES,
    TASKS,
    approach_dir,
    approaches,
    cache_path,
    check_run_config,
    is_rank_zero,
    load_bank,
    make_trainer,
    model_path,
    say,
    setup_torch,
    train_dir,
)
from maskprivacy.training.splits import ensure_splits
from maskprivacy.training.stage_evaluate import evaluate_attacker, stage_cpu, stage_walls  # noqa: F401
from maskprivacy.training.stage_finetune import finetune, finetune_module, fit_and_save  # noqa: F401
from maskprivacy.training.stage_pretrain import pretrain  # noqa: F401
from maskprivacy.training.stage_robust import finetune_robust, robust_init_model  # noqa: F401


def prepare_cache(
    cfg: dict,
    data: str | os.PathLike,
    mask_run: str | os.PathLike,
    run: str | os.PathLike,
    conditions: Sequence[str] = CONDITIONS,
) -> dict[str, Path]:
    """Build the decoded-image caches of ``conditions`` under RUN/cache (skipped when complete)."""
    run = Path(run)
    dirs = {c: cache_path(run, cfg, c) for c in conditions}
    if all(cache_mod.is_complete(d) for d in dirs.values()):
        return dirs
    if not is_rank_zero():
        raise RuntimeError("the cache must be built before DDP processes start (run `maskprivacy train cache` first)")
    say(f"[cache] decoding {data} at {cfg['cache']['size']} px for {', '.join(conditions)}")
    return cache_mod.build_caches(
        data,
        mask_run,
        RunLayout.of(run).cache,
        int(cfg["cache"]["size"]),
        conditions,
        limit=cfg["data"].get("limit"),
        workers=int(cfg["data"].get("workers") or 0),
        progress=bool(cfg["trainer"].get("progress", True)),
    )


def prepare_splits(cfg: dict, run: str | os.PathLike, names: Sequence[str]) -> dict[str, Path]:
    """RUN/splits/<random|uniform>.csv from the cached faces' names (both splits, always).

    Both are always written because pretraining uses the faces that are in the train part of both.
    """
    sdir = RunLayout.of(run).splits
    if not is_rank_zero() and not all((sdir / f"{s}.csv").is_file() for s in SPLITS):
        raise RuntimeError("splits must be written before DDP processes start")
    paths, made = ensure_splits(
        sdir, names, tuple(float(f) for f in cfg["split"]["fractions"]), int(cfg["split"]["seed"])
    )
    if made:
        meta = json.loads((sdir / "meta.json").read_text())
        say(f"[splits] {', '.join(f'{s}: {meta[s]}' for s in SPLITS)}")
    return paths


def run_training(
    cfg: dict,
    data: str | os.PathLike,
    mask_run: str | os.PathLike,
    run: str | os.PathLike,
    conditions: Sequence[str] = ("masked",),
    splits: Sequence[str] = SPLITS,
) -> dict[str, Any]:
    """Every stage for every (condition, split) asked for; returns {condition: {split: {approach: metrics}}}.

    Conditions: ``masked``, ``unmasked`` and ``robust`` (the mask-robust attacker: multi-task only;
    it first trains the masked attacker it starts from when that is missing).
    Order: cache, splits, then per condition: pretraining, and per split fine-tuning + evaluation.
    Everything already complete in ``run`` is skipped, so re-running the command resumes.
    """
    cfg = resolve(cfg)
    run = Path(run)
    for c in conditions:
        if c not in TRAIN_CONDITIONS:
            raise ValueError(f"condition {c!r}: choose from {', '.join(TRAIN_CONDITIONS)}")
    for s in splits:
        if s not in SPLITS:
            raise ValueError(f"split {s!r}: choose from {', '.join(SPLITS)}")
    check_run_config(run, cfg)
    # the robust attacker trains on the unmasked cache, is tested on the masked one and starts from
    # the masked attacker: it needs both caches and (by default) the masked model first
    robust_first = ROBUST in conditions and str(cfg["robust"].get("init", "masked")) == "masked"
    caches = [c for c in CONDITIONS if c in conditions or ROBUST in conditions]
    dirs = prepare_cache(cfg, data, mask_run, run, caches)
    names = cache_mod.load_cache(dirs[caches[0]]).names
    prepare_splits(cfg, run, names)
    results: dict[str, Any] = {}
    if robust_first and "masked" not in conditions:
        pretrain(cfg, run, "masked")
        for split in splits:
            finetune(cfg, run, "masked", split, "multitask")
    for cond in conditions:
        if cond == ROBUST:
            for split in splits:
                finetune_robust(cfg, run, split)
                m = evaluate_attacker(
                    cfg, run, ROBUST, split, "multitask", stage_walls(run, cfg, ROBUST, split, "multitask")
                )
                if m is not None:
                    results.setdefault(cond, {}).setdefault(split, {})["multitask"] = m
                    say(f"[result {cond}/{split} multitask] " + short_summary(m))
            continue
        pretrain(cfg, run, cond)
        for split in splits:
            for appr in approaches(cfg):
                finetune(cfg, run, cond, split, appr)
                m = evaluate_attacker(cfg, run, cond, split, appr, stage_walls(run, cfg, cond, split, appr))
                if m is not None:
                    results.setdefault(cond, {}).setdefault(split, {})[appr] = m
                    say(f"[result {cond}/{split} {appr}] " + short_summary(m))
    return results


def short_summary(m: dict[str, Any]) -> str:
    parts = []
    for t in CLASS_TASKS:
        if t in m and m[t].get("accuracy") is not None:
            parts.append(f"{t} {100 * m[t]['accuracy']:.1f}%")
    if "age" in m and m["age"].get("mae") is not None:
        parts.append(f"age MAE {m['age']['mae']:.2f} RMSE {m['age']['rmse']:.2f}")
    return ", ".join(parts) + f" (n={m.get('n_test')})"
