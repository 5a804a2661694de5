"""Stage ``finetune``: the attacker's four heads trained on the pretrained backbone (Lightning).

One multi-task network per condition and split (or one per task, the paper's way); the best epoch by
validation loss becomes a :class:`maskprivacy.models.predictor.Predictor` bundle.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskprivacy.atomic import replacing, write_json
from maskprivacy.layout import RunLayout
from maskprivacy.provenance import git_commit
from maskprivacy.training.rows import fit_rows
from maskprivacy.training.runtime import (
    APPROACHES,
    TASKS,
    cache_path,
    is_rank_zero,
    load_bank,
    make_trainer,
    model_path,
    resume_path,
    say,
    setup_torch,
)


def finetune(cfg: dict, run: str | os.PathLike, condition: str, split: str, approach: str = "multitask") -> list[Path]:
    """Fine-tune from the pretrained backbone; writes the model bundle(s) of ``approach``.

    ``multitask``: one network with the four heads -> RUN/train/<condition>_<split>/model.pt.
    ``per_task``: one network per task (the paper) -> .../per_task/model_<task>.pt.
    """
    if approach not in APPROACHES:
        raise ValueError(f"approach {approach!r}: choose from {', '.join(APPROACHES)}")
    run = Path(run)
    groups = [TASKS] if approach == "multitask" else [(t,) for t in TASKS]
    shared = bool(cfg["finetune"].get("shared_splits"))
    out = []
    for tasks in groups:
        if not shared:
            out.append(_finetune_one(cfg, run, condition, split, approach, tuple(tasks)))
            continue
        # one model for every split (finetune.shared_splits): train once, copy the bundle per split
        src = _finetune_one(cfg, run, condition, "shared", approach, tuple(tasks))
        dst = model_path(run, condition, split, approach, tasks[0])
        copy_bundle(src, dst, split)
        out.append(dst)
    return out


def finetune_module(cfg: dict, tasks: Sequence[str], lr: float, epochs: int, sizes: Sequence[int] | None) -> Any:
    """The fine-tuning module of the profile's model and ``finetune`` settings; the caller chooses the
    learning rate, epochs and sizes (the paper-style and the mask-robust attackers differ only there)."""
    from maskprivacy.training.finetune import FinetuneModule

    fc, m, tr = cfg["finetune"], cfg["model"], cfg["trainer"]
    return FinetuneModule(
        m["arch"],
        m["stem"],
        tasks,
        int(m["input_size"]),
        list(m["crop"]),
        lr,
        float(fc["weight_decay"]),
        epochs,
        float(m.get("dropout") or 0.0),
        float(fc.get("backbone_lr_mult", 1.0)),
        float(fc.get("label_smoothing", 0.0)),
        fc.get("age_loss", "smooth_l1"),
        fc.get("loss_weights"),
        fc.get("augment"),
        bool(tr.get("channels_last", True)),
        sizes,
    )


def fit_and_save(
    cfg: dict,
    module: Any,
    rows: dict[str, np.ndarray],
    sdir: Path,
    target: Path,
    epochs: int,
    patience: int,
    limit_train_batches: Any,
    bs: int,
    info: dict[str, Any],
    masked: bool,
    finish: Callable[[Any], dict[str, Any]] | None = None,
) -> Path:
    """Fit ``module`` (resuming from sdir/checkpoints/last.ckpt), keep the best epoch by validation
    loss, and write the Predictor bundle ``target`` with ``info`` (+ timings) beside a JSON copy.

    ``finish(module)``: a last step on the best weights before the bundle is written (e.g. the weight
    mix of training/weight_mix.py), on the main process; what it returns joins ``info``. It runs before
    the bundle exists, so an interrupted run redoes it rather than shipping weights without it."""
    import torch

    from maskprivacy.models.predictor import Predictor
    from maskprivacy.training.bank import rows_loader

    m = cfg["model"]
    has_val = len(rows["val"]) > 0
    trainer, ckpt = make_trainer(cfg, sdir, epochs, "val/loss" if has_val else None, patience, limit_train_batches)
    resumed = resume_path(sdir) is not None
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.fit(
        module,
        train_dataloaders=rows_loader(rows["train"], bs, shuffle=True, drop_last=len(rows["train"]) > bs),
        val_dataloaders=rows_loader(rows["val"], int(cfg["eval"]["batch_size"]), shuffle=False) if has_val else None,
        ckpt_path=resume_path(sdir),
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if trainer.is_global_zero:
        best = ckpt.best_model_path
        if best and Path(best).is_file():
            state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
            module.load_state_dict(state)
        if finish is not None:
            info = {**info, **finish(module)}
        epochs_run = int(trainer.current_epoch)
        net = module.model.cpu().float()
        info = {
            **info,
            "commit": git_commit(),
            "epochs_run": epochs_run,
            "best_checkpoint": Path(best).name if best else None,
            "finetune_wall_s": round(wall, 2),
            "finetune_cpu_s": round(cpu, 2),
            "precision": str(cfg["trainer"]["precision"]),
            "resumed": resumed,
            "n_train": int(len(rows["train"])),
            "n_val": int(len(rows["val"])),
            # the side its training faces were resized to (area averaging) before the network's own
            # resize: readers outside the run folder (analyze/evaluate with a copied train/ dir) give it
            # the same pixels (analysis/model_set.py training_side); without it they fell back to the
            # folder's cache and, finding none, fed 200-px crops (readings off by a few hundredths)
            "cache_size": int(cfg["cache"]["size"]),
        }
        Predictor(
            net,
            arch=m["arch"],
            stem=m["stem"],
            input_size=int(m["input_size"]),
            crop=m["crop"],
            masked=masked,
            tta=bool(cfg["eval"].get("tta", True)),
            info=info,
            device="cpu",
        ).save(target)
        write_json(target.with_suffix(".json"), info)
    return target


def copy_bundle(src: Path, dst: Path, split: str) -> None:
    """One model for every split (finetune.shared_splits): the shared bundle copied per split."""
    if is_rank_zero() and not dst.is_file():
        import shutil

        dst.parent.mkdir(parents=True, exist_ok=True)
        info = json.loads(src.with_suffix(".json").read_text())
        info.update(split=split, shared_splits=True)
        write_json(dst.with_suffix(".json"), info)
        with replacing(dst) as tmp:
            shutil.copyfile(src, tmp)


def _finetune_one(cfg: dict, run: Path, condition: str, split: str, approach: str, tasks: tuple[str, ...]) -> Path:
    import lightning as L
    import torch

    target = model_path(run, condition, split, approach, tasks[0])
    if target.is_file():
        return target
    fc = cfg["finetune"]
    sdir = target.parent / f"stage_{tasks[0]}" if approach == "per_task" else target.parent
    setup_torch(cfg)
    c, bank = load_bank(cfg, cache_path(run, cfg, condition))
    rows = fit_rows(run, c.names, split)
    bs = min(int(fc["batch_size"]), max(2, len(rows["train"])))
    say(
        f"[finetune {condition}/{split} {approach}{'' if approach == 'multitask' else ' ' + tasks[0]}] "
        f"{len(rows['train'])} train / {len(rows['val'])} val faces, {fc['epochs']} epochs, batch {bs}"
    )
    L.seed_everything(int(cfg["seed"]) + 1, workers=True, verbose=False)
    module = finetune_module(cfg, tasks, float(fc["lr"]), int(fc["epochs"]), fc.get("sizes"))
    backbone = RunLayout(run).pretrain_dir(condition) / "backbone.pt"
    pretrained = cfg["pretrain"].get("enabled", True) and backbone.is_file()
    if pretrained:
        module.load_backbone(torch.load(backbone, map_location="cpu", weights_only=True))
    module.attach(bank, resident=bool(cfg["data"].get("resident")))
    info = {
        "condition": condition,
        "split": split,
        "approach": approach,
        "profile": cfg.get("profile"),
        "pretrained_backbone": bool(pretrained),
    }
    return fit_and_save(
        cfg,
        module,
        rows,
        sdir,
        target,
        int(fc["epochs"]),
        int(fc.get("patience", 5)),
        fc.get("limit_train_batches"),
        bs,
        info,
        masked=condition == "masked",
    )
