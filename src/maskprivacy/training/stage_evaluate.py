"""Stage ``evaluate``: one attacker on its split's test faces -> metrics.json, predictions.csv, PNGs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from maskprivacy.layout import RunLayout, scored_on
from maskprivacy.provenance import git_commit, machine
from maskprivacy.records import DEFAULT_FAMILY, AttackerMetrics, AttackerRecord, attacker_name, write_metrics
from maskprivacy.tasks import TASK_NAMES
from maskprivacy.training import cache as cache_mod
from maskprivacy.training.rows import split_rows
from maskprivacy.training.runtime import (
    TASKS,
    approach_dir,
    cache_path,
    is_rank_zero,
    model_path,
    setup_torch,
)


def evaluate_attacker(
    cfg: dict,
    run: str | os.PathLike,
    condition: str,
    split: str,
    approach: str = "multitask",
    wall_s: dict[str, float] | None = None,
) -> dict[str, Any] | None:
    """Test-set metrics of a fine-tuned approach; writes metrics.json (the attacker's record: its
    family is ``cfg["family"]``, set by ``training.config.family_config``, else the CNN),
    predictions.csv, val_predictions.csv, confusion PNGs. ``condition``: the faces it was trained on.

    Returns the metrics (None on DDP ranks other than 0, which write nothing).
    """
    from maskprivacy.training.metrics import compute_metrics, confusion_pngs

    run = Path(run)
    folder = RunLayout(run).attacker(condition, split, approach)
    d = folder.path
    if folder.metrics.is_file():
        if (
            is_rank_zero()
            and not folder.val_predictions.is_file()
            and all(p.is_file() for p in _model_paths(run, condition, split, approach))
        ):
            setup_torch(cfg)  # a folder from before validation predictions were written: add them
            _predict_parts(cfg, run, condition, split, approach, {"val": folder.val_predictions})
        return json.loads(folder.metrics.read_text())
    if not is_rank_zero():
        return None
    setup_torch(cfg)
    t0 = time.perf_counter()
    d.mkdir(parents=True, exist_ok=True)
    cols = _predict_parts(
        cfg, run, condition, split, approach, {"test": folder.predictions, "val": folder.val_predictions}
    )["test"]
    metrics = compute_metrics(cols)
    n = len(cols["name"])
    confusion_pngs(
        d,
        metrics,
        lambda t, acc: f"{t} - {condition} faces, {split} split, {approach}\naccuracy {100 * acc:.1f}% (n={n})",
    )
    walls = dict(wall_s or {})
    walls["evaluate"] = round(time.perf_counter() - t0, 2)
    family = str(cfg.get("family", DEFAULT_FAMILY))
    record = AttackerRecord(
        name=attacker_name(family, condition, approach),
        family=family,
        trained_on=condition,
        split=split,
        approach=approach,  # type: ignore[arg-type]
    )
    out = AttackerMetrics(
        attacker=record,
        **metrics,
        config=cfg,
        commit=git_commit(),
        machine=machine(),
        wall_s=walls,
        cpu_s=stage_cpu(run, condition, split, approach),
    )
    write_metrics(d, out)
    return out.as_dict()


def _model_paths(run: Path, condition: str, split: str, approach: str) -> list[Path]:
    if approach == "multitask":
        return [model_path(run, condition, split, approach)]
    return [model_path(run, condition, split, approach, t) for t in TASKS]


def _predict_parts(
    cfg: dict, run: Path, condition: str, split: str, approach: str, outs: dict[str, Path]
) -> dict[str, dict[str, Any]]:
    """Predict parts of the split (``test``; ``val``: the faces an ensemble is fitted on, which no
    model of this split trained on) and write each part's predictions table to ``outs[part]``;
    returns the columns of each part."""
    import torch

    from maskprivacy.models.predictor import Predictor
    from maskprivacy.training.metrics import predictions_table, write_predictions

    c = cache_mod.load_cache(cache_path(run, cfg, scored_on(condition)))
    parts = split_rows(c.names, RunLayout(run).split_csv(split))
    device = "cuda" if cfg["trainer"]["accelerator"] in ("gpu", "cuda") and torch.cuda.is_available() else "cpu"
    probs: dict[str, dict[str, list[np.ndarray]]] = {part: {} for part in outs}
    bs = int(cfg["eval"]["batch_size"])
    for p in _model_paths(run, condition, split, approach):
        pred = Predictor.load(p, device=device)
        pred.tta = bool(cfg["eval"].get("tta", True))
        for part in outs:
            rows = parts[part]
            for s in range(0, len(rows), bs):
                x = torch.from_numpy(np.ascontiguousarray(c.images[rows[s : s + bs]])).permute(0, 3, 1, 2)
                for t, v in pred.forward_tensor(x).items():
                    probs[part].setdefault(t, []).append(v.float().cpu().numpy())
    out: dict[str, dict[str, Any]] = {}
    for part, path in outs.items():
        rows = parts[part]
        if not len(rows):  # e.g. a split without validation faces: nothing to write
            continue
        joined = {t: np.concatenate(v) for t, v in probs[part].items()}
        truth = {t: getattr(c, t)[rows] for t in TASK_NAMES}
        out[part] = predictions_table([c.names[i] for i in rows], truth, joined)
        write_predictions(path, out[part])
    return out


def stage_cpu(run: Path, condition: str, split: str, approach: str) -> dict[str, float]:
    """CPU seconds (all threads) of the training stages: beside wall time, shows a shared machine."""
    w: dict[str, float] = {}
    pj = RunLayout(run).pretrain_dir(condition) / "pretrain.json"
    if pj.is_file():
        w["pretrain"] = json.loads(pj.read_text()).get("cpu_s", 0.0)
    infos = list(approach_dir(run, condition, split, approach).glob("model*.json"))
    if infos:
        w["finetune"] = round(sum(json.loads(p.read_text()).get("finetune_cpu_s", 0.0) for p in infos), 2)
    return w


def stage_walls(run: Path, cfg: dict, condition: str, split: str, approach: str) -> dict[str, float]:
    """Wall time of every stage that produced this result, read back from what each stage wrote."""
    w: dict[str, float] = {}
    meta = cache_path(run, cfg, condition) / "meta.json"
    if meta.is_file():
        w["cache"] = json.loads(meta.read_text()).get("wall_s", 0.0)
    pj = RunLayout(run).pretrain_dir(condition) / "pretrain.json"
    if pj.is_file():
        w["pretrain"] = json.loads(pj.read_text()).get("wall_s", 0.0)
    infos = [p for p in approach_dir(run, condition, split, approach).glob("model*.json")]
    if infos:
        w["finetune"] = round(sum(json.loads(p.read_text()).get("finetune_wall_s", 0.0) for p in infos), 2)
    return w
