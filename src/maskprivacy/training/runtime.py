"""Where a training stage runs: which DDP rank, which folders of the run, which Trainer.

Every stage needs the same few facts before it trains (am I rank zero? where is the cache of this
condition? where do checkpoints go?) and builds its Lightning Trainer the same way (checkpoints,
CSV logs, early stopping, progress); they are defined here once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from maskprivacy.layout import RunLayout
from maskprivacy.provenance import git_commit
from maskprivacy.records import APPROACHES
from maskprivacy.tasks import HEAD_ORDER
from maskprivacy.training import cache as cache_mod
from maskprivacy.training.config import FAMILIES, dump, rename_old_keys

TASKS = HEAD_ORDER  # the tasks a network of the pipeline reads, in the order its heads are built


def is_rank_zero() -> bool:
    """True unless Lightning (or a cluster launcher) started this process as another DDP rank.

    Works before any Trainer exists, from the variables launchers set (RANK, NODE_RANK, LOCAL_RANK).
    """
    return all(int(os.environ.get(k, 0) or 0) == 0 for k in ("RANK", "NODE_RANK", "LOCAL_RANK"))


def say(msg: str) -> None:
    if is_rank_zero():
        print(msg, flush=True)


def family_roots(run: str | os.PathLike) -> list[tuple[str, Path]]:
    """Every attacker family's run folder: ``("cnn", RUN)`` and ``(family, RUN/<family>)`` for each of
    :data:`~maskprivacy.training.config.FAMILIES` (present or not: callers look for what they need)."""
    run = Path(run)
    return [("cnn", run)] + [(f, RunLayout(run).family_run(f).root) for f in FAMILIES]


def cache_path(run: Path, cfg: dict, condition: str) -> Path:
    return RunLayout.of(run).cache_dir(condition, int(cfg["cache"]["size"]))


def train_dir(run: Path, condition: str, split: str) -> Path:
    return RunLayout.of(run).train_dir(condition, split)


#: ``real`` settings added after runs with a real-mask attacker existed; such a run resumes with them.
REAL_KEYS_ADDED = ("dev_folds", "adabn", "domain_adversarial", "weight_mix")


def check_run_config(run: str | os.PathLike, cfg: dict) -> None:
    """Write RUN/train_config.yaml, or refuse to resume a run made with other settings.

    ``trainer`` settings (devices, progress bars...) and ``eval`` may change between resumes; the
    rest decides the numbers.
    """
    import yaml

    git_commit()  # pin the commit of the code at the start of the run
    path = Path(run) / "train_config.yaml"
    strip = lambda c: {k: v for k, v in c.items() if k not in ("trainer", "eval", "profile")}  # noqa: E731
    if path.is_file():
        old = rename_old_keys(yaml.safe_load(path.read_text()) or {})
        for added in (
            "robust",
            "mask_detector",
            "real",
            "occlusions",
            *FAMILIES,
        ):  # a run from before this attacker: it only adds stages
            if added not in old and added in cfg:
                old[added] = cfg[added]
        if isinstance(old.get("real"), dict) and isinstance(cfg.get("real"), dict):  # real.* keys added later
            old["real"] = {**{k: v for k, v in cfg["real"].items() if k in REAL_KEYS_ADDED}, **old["real"]}
        for f in FAMILIES:  # and a family's own settings for such an attacker
            for section in ("real", "occlusions"):
                if isinstance(old.get(f), dict) and isinstance(cfg.get(f), dict) and section not in old[f]:
                    if section in cfg[f]:
                        old[f][section] = cfg[f][section]
        if strip(old) != strip(cfg):
            diff = [k for k in set(strip(old)) | set(strip(cfg)) if strip(old).get(k) != strip(cfg).get(k)]
            raise ValueError(
                f"{run} was trained with other settings (sections {sorted(diff)} differ): "
                f"use another --out, or delete {path} to accept mixing them"
            )
    if is_rank_zero():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(cfg))


def setup_torch(cfg: dict) -> None:
    import torch

    threads = int(cfg["trainer"].get("threads") or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    torch.set_float32_matmul_precision("high")


def make_trainer(
    cfg: dict, stage_dir: Path, epochs: int, monitor: str | None, patience: int, limit_train_batches: int | float | None
):
    """A Lightning Trainer with checkpoints (last + best), CSV logs, progress bar, early stopping."""
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar
    from lightning.pytorch.loggers import CSVLogger

    tr = cfg["trainer"]
    progress = bool(tr.get("progress", True))
    ckpt = ModelCheckpoint(
        dirpath=stage_dir / "checkpoints",
        filename="epoch{epoch:03d}",
        auto_insert_metric_name=False,
        save_last=True,
        monitor=monitor,
        mode="min",
        save_top_k=1,
    )
    callbacks: list = [ckpt]
    if monitor:
        callbacks.append(EarlyStopping(monitor=monitor, mode="min", patience=int(patience)))
    if progress:
        callbacks.append(TQDMProgressBar(refresh_rate=5))
    kw: dict[str, Any] = {}
    if limit_train_batches is not None:
        kw["limit_train_batches"] = limit_train_batches
    trainer = L.Trainer(
        accelerator=tr["accelerator"],
        devices=tr["devices"],
        strategy=tr["strategy"],
        num_nodes=int(tr["num_nodes"]),
        precision=tr["precision"],
        max_epochs=int(epochs),
        callbacks=callbacks,
        logger=CSVLogger(save_dir=str(stage_dir), name="logs", version=0),
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=int(tr.get("log_every_n_steps", 20)),
        num_sanity_val_steps=0,
        default_root_dir=str(stage_dir),
        benchmark=tr["accelerator"] in ("gpu", "cuda"),
        **kw,
    )
    return trainer, ckpt


def resume_path(stage_dir: Path) -> str | None:
    last = stage_dir / "checkpoints" / "last.ckpt"
    return str(last) if last.is_file() else None


def load_bank(cfg: dict, path: Path):
    from maskprivacy.training.bank import Bank

    c = cache_mod.load_cache(path)
    bank = Bank.from_cache(c)
    return c, bank


def approach_dir(run: Path, condition: str, split: str, approach: str) -> Path:
    return RunLayout.of(run).attacker(condition, split, approach).path


def model_path(run: Path, condition: str, split: str, approach: str, task: str | None = None) -> Path:
    f = RunLayout.of(run).attacker(condition, split, approach)
    return f.model if approach == "multitask" else f.task_model(str(task))


def approaches(cfg: dict) -> tuple[str, ...]:
    approach = cfg["finetune"]["approach"]
    return APPROACHES if approach == "both" else (approach,)
