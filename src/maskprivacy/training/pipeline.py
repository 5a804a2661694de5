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
* :func:`evaluate`       (model.pt -> metrics.json, predictions.csv, confusion PNGs)
* :func:`finetune_robust` (the masked attacker's model.pt + unmasked cache + points.npy -> the
  mask-robust attacker, condition ``robust``; evaluated by :func:`evaluate` on the masked cache)

Under DDP (``--strategy ddp --devices N``) Lightning re-runs the same command in N-1 more
processes when the first ``fit`` starts; every process walks the same stages, all of them take part
in each ``fit``, and only global rank 0 writes files.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import cache as cache_mod
from .config import dump, resolve
from .splits import PARTS, SPLITS, counts, items_from_names, make_split, read_split, write_split

CONDITIONS = cache_mod.CONDITIONS
ROBUST = "robust"
TRAIN_CONDITIONS = (*CONDITIONS, ROBUST)
APPROACHES = ("multitask", "per_task")
TASKS = ("sex", "race", "age", "age_bucket")


# ---------------------------------------------------------------- helpers
def is_rank_zero() -> bool:
    """True unless Lightning (or a cluster launcher) started this process as another DDP rank.

    Works before any Trainer exists, from the variables launchers set (RANK, NODE_RANK, LOCAL_RANK).
    """
    return all(int(os.environ.get(k, 0) or 0) == 0 for k in ("RANK", "NODE_RANK", "LOCAL_RANK"))


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """Short commit of the code that ran, with +dirty when the tree had changes.

    Read once per process (the first stage that asks), so a commit made while a long run goes on
    does not relabel the stages that follow.
    """
    here = Path(__file__).resolve().parent
    try:
        c = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        if c.returncode != 0:
            return "unknown"
        d = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                           capture_output=True, text=True, timeout=10)
        return c.stdout.strip() + ("+dirty" if d.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict[str, Any]:
    import torch

    m = {"host": platform.node(), "platform": platform.platform(), "cpu": platform.processor() or platform.machine(),
         "cpu_count": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        m["gpu"] = torch.cuda.get_device_name(0)
        m["gpu_count"] = torch.cuda.device_count()
    return m


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n")
    os.replace(tmp, path)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def _say(msg: str) -> None:
    if is_rank_zero():
        print(msg, flush=True)


def cache_path(run: Path, cfg: dict, condition: str) -> Path:
    return cache_mod.cache_dir(Path(run) / "cache", condition, int(cfg["cache"]["size"]))


def train_dir(run: Path, condition: str, split: str) -> Path:
    return Path(run) / "train" / f"{condition}_{split}"


def test_condition(condition: str) -> str:
    """The cache a condition's attacker is tested on: the robust attacker is tested on the paper's
    mask, exactly like the paper-style masked attacker (same faces, same pixels)."""
    return "masked" if condition == ROBUST else condition


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
        old = yaml.safe_load(path.read_text()) or {}
        if "robust" not in old and "robust" in cfg:  # a run from before the robust attacker: it only adds a stage
            old["robust"] = cfg["robust"]
        if strip(old) != strip(cfg):
            diff = [k for k in set(strip(old)) | set(strip(cfg)) if strip(old).get(k) != strip(cfg).get(k)]
            raise ValueError(f"{run} was trained with other settings (sections {sorted(diff)} differ): "
                             f"use another --out, or delete {path} to accept mixing them")
    if is_rank_zero():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(cfg))


# ---------------------------------------------------------------- stage: cache
def prepare_cache(cfg: dict, data: str | os.PathLike, mask_run: str | os.PathLike, run: str | os.PathLike,
                  conditions: Sequence[str] = CONDITIONS) -> dict[str, Path]:
    """Build the decoded-image caches of ``conditions`` under RUN/cache (skipped when complete)."""
    run = Path(run)
    dirs = {c: cache_path(run, cfg, c) for c in conditions}
    if all(cache_mod.is_complete(d) for d in dirs.values()):
        return dirs
    if not is_rank_zero():
        raise RuntimeError("the cache must be built before DDP processes start (run `maskprivacy train cache` first)")
    _say(f"[cache] decoding {data} at {cfg['cache']['size']} px for {', '.join(conditions)}")
    return cache_mod.build_caches(data, mask_run, run / "cache", int(cfg["cache"]["size"]), conditions,
                                  limit=cfg["data"].get("limit"), workers=int(cfg["data"].get("workers") or 0),
                                  progress=bool(cfg["trainer"].get("progress", True)))


# ---------------------------------------------------------------- stage: splits
def prepare_splits(cfg: dict, run: str | os.PathLike, names: Sequence[str]) -> dict[str, Path]:
    """Write RUN/splits/<random|uniform>.csv from the cached faces' names (both splits, always).

    Both are always written because pretraining uses the faces that are in the train part of both.
    """
    run = Path(run)
    sdir = run / "splits"
    fr = tuple(float(f) for f in cfg["split"]["fractions"])
    seed = int(cfg["split"]["seed"])
    meta = {"fractions": list(fr), "seed": seed, "n": len(names)}
    paths = {s: sdir / f"{s}.csv" for s in SPLITS}
    if all(p.is_file() for p in paths.values()) and (sdir / "meta.json").is_file():
        old = json.loads((sdir / "meta.json").read_text())
        if {k: old.get(k) for k in meta} != meta:
            raise ValueError(f"{sdir} holds splits made with other settings {old}; use another --out")
        return paths
    if not is_rank_zero():
        raise RuntimeError("splits must be written before DDP processes start")
    items = items_from_names(names)
    out_meta = dict(meta)
    for s in SPLITS:
        a = make_split(s, items, fr, seed)
        write_split(paths[s], a)
        out_meta[s] = counts(a)
    _write_json(sdir / "meta.json", out_meta)
    _say(f"[splits] {', '.join(f'{s}: {out_meta[s]}' for s in SPLITS)}")
    return paths


def split_rows(names: Sequence[str], split_csv: str | os.PathLike) -> dict[str, np.ndarray]:
    """{part: row numbers of the cache} for one split file."""
    a = read_split(split_csv)
    out: dict[str, list[int]] = {p: [] for p in PARTS}
    for i, n in enumerate(names):
        p = a.get(n)
        if p in out:
            out[p].append(i)
    return {p: np.asarray(v, dtype=np.int64) for p, v in out.items()}


def shared_rows(names: Sequence[str], split_paths: dict[str, Path]) -> dict[str, np.ndarray]:
    """Rows for one model that serves every split: train = train in all splits; val = val in some
    split and test in none; no test rows (each split's own test part is evaluated).

    No test face of any split is ever trained on or used for model selection, so the model can be
    evaluated on every split's test part, at the cost of ~13% fewer training faces than one model
    per split.
    """
    parts = [split_rows(names, p) for p in split_paths.values()]
    n = len(names)

    def mask(part: str, how: str) -> np.ndarray:
        ms = []
        for r in parts:
            m = np.zeros(n, dtype=bool)
            m[r[part]] = True
            ms.append(m)
        return np.logical_and.reduce(ms) if how == "all" else np.logical_or.reduce(ms)

    train = mask("train", "all")
    val = mask("val", "any") & ~mask("test", "any") & ~train
    return {"train": np.flatnonzero(train), "val": np.flatnonzero(val), "test": np.zeros(0, dtype=np.int64)}


def pretrain_rows(names: Sequence[str], split_paths: dict[str, Path]) -> np.ndarray:
    """Rows in the train part of every split: pretraining never sees a val or test face of either."""
    keep = np.ones(len(names), dtype=bool)
    for p in split_paths.values():
        rows = split_rows(names, p)
        m = np.zeros(len(names), dtype=bool)
        m[rows["train"]] = True
        keep &= m
    return np.flatnonzero(keep)


# ---------------------------------------------------------------- trainer
def _setup_torch(cfg: dict) -> None:
    import torch

    threads = int(cfg["trainer"].get("threads") or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    torch.set_float32_matmul_precision("high")


def make_trainer(cfg: dict, stage_dir: Path, epochs: int, monitor: str | None, patience: int,
                 limit_train_batches: int | float | None):
    """A Lightning Trainer with checkpoints (last + best), CSV logs, progress bar, early stopping."""
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar
    from lightning.pytorch.loggers import CSVLogger

    tr = cfg["trainer"]
    progress = bool(tr.get("progress", True))
    ckpt = ModelCheckpoint(dirpath=stage_dir / "checkpoints", filename="epoch{epoch:03d}", auto_insert_metric_name=False,
                           save_last=True, monitor=monitor, mode="min", save_top_k=1)
    callbacks: list = [ckpt]
    if monitor:
        callbacks.append(EarlyStopping(monitor=monitor, mode="min", patience=int(patience)))
    if progress:
        callbacks.append(TQDMProgressBar(refresh_rate=5))
    kw: dict[str, Any] = {}
    if limit_train_batches is not None:
        kw["limit_train_batches"] = limit_train_batches
    trainer = L.Trainer(
        accelerator=tr["accelerator"], devices=tr["devices"], strategy=tr["strategy"], num_nodes=int(tr["num_nodes"]),
        precision=tr["precision"], max_epochs=int(epochs), callbacks=callbacks,
        logger=CSVLogger(save_dir=str(stage_dir), name="logs", version=0), enable_progress_bar=progress,
        enable_model_summary=False, log_every_n_steps=int(tr.get("log_every_n_steps", 20)), num_sanity_val_steps=0,
        default_root_dir=str(stage_dir), benchmark=tr["accelerator"] in ("gpu", "cuda"), **kw)
    return trainer, ckpt


def _resume_path(stage_dir: Path) -> str | None:
    last = stage_dir / "checkpoints" / "last.ckpt"
    return str(last) if last.is_file() else None


def _load_bank(cfg: dict, path: Path):
    from .bank import Bank

    c = cache_mod.load_cache(path)
    bank = Bank.from_cache(c)
    return c, bank


# ---------------------------------------------------------------- stage: pretrain
def pretrain(cfg: dict, run: str | os.PathLike, condition: str) -> Path | None:
    """MoCo v2 on the train faces of ``condition``; writes RUN/pretrain/<condition>/backbone.pt.

    Returns None when ``pretrain.enabled`` is false (fine-tuning then starts from random weights).
    """
    import lightning as L
    import torch

    pc = cfg["pretrain"]
    if not pc.get("enabled", True):
        return None
    run = Path(run)
    sdir = run / "pretrain" / condition
    out = sdir / "backbone.pt"
    if out.is_file():
        return out
    from .bank import rows_loader
    from .moco import MoCoModule

    _setup_torch(cfg)
    c, bank = _load_bank(cfg, cache_path(run, cfg, condition))
    split_paths = {s: run / "splits" / f"{s}.csv" for s in SPLITS}
    rows = pretrain_rows(c.names, split_paths)
    bs = min(int(pc["batch_size"]), max(2, len(rows)))
    _say(f"[pretrain {condition}] MoCo v2 on {len(rows)} train faces (train in both splits), {pc['epochs']} epochs, batch {bs}")
    L.seed_everything(int(cfg["seed"]), workers=True, verbose=False)
    m = cfg["model"]
    tr = cfg["trainer"]
    distributed = (str(tr["strategy"]).startswith("ddp") or int(tr["num_nodes"]) > 1)
    size = int(pc.get("input_size") or m["input_size"])
    module = MoCoModule(m["arch"], m["stem"], size, list(m["crop"]), float(pc["lr"]),
                        float(pc["weight_decay"]), bs, int(pc["epochs"]), float(pc["temperature"]),
                        int(pc["memory_bank"]), int(pc["proj_hidden"]), int(pc["proj_out"]), float(pc["momentum"]),
                        pc.get("augment"), int(pc.get("warmup_epochs") or 0), bool(tr.get("channels_last", True)),
                        distributed)
    module.attach(bank, resident=bool(cfg["data"].get("resident")))
    trainer, _ = make_trainer(cfg, sdir, int(pc["epochs"]), None, 0, pc.get("limit_train_batches"))
    resumed = _resume_path(sdir) is not None
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.fit(module, train_dataloaders=rows_loader(rows, bs, shuffle=True, drop_last=True),
                ckpt_path=_resume_path(sdir))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if trainer.is_global_zero:
        state = {k: v.detach().cpu() for k, v in module.backbone.state_dict().items()}
        tmp = out.with_name(out.name + ".part")
        torch.save(state, tmp)
        os.replace(tmp, out)
        loss = trainer.callback_metrics.get("train/loss_epoch")
        _write_json(sdir / "pretrain.json", {"condition": condition, "n_images": int(len(rows)), "epochs": int(pc["epochs"]),
                                             "final_loss": float(loss) if loss is not None else None,
                                             "input_size": size, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                                             "resumed": resumed,
                                             "machine": machine(), "commit": git_commit()})
    return out


# ---------------------------------------------------------------- stage: finetune
def _approach_dir(run: Path, condition: str, split: str, approach: str) -> Path:
    d = train_dir(run, condition, split)
    return d if approach == "multitask" else d / "per_task"


def _model_path(run: Path, condition: str, split: str, approach: str, task: str | None = None) -> Path:
    d = _approach_dir(run, condition, split, approach)
    return d / "model.pt" if approach == "multitask" else d / f"model_{task}.pt"


def approaches(cfg: dict) -> tuple[str, ...]:
    mode = cfg["finetune"]["mode"]
    return APPROACHES if mode == "both" else (mode,)


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
        dst = _model_path(run, condition, split, approach, tasks[0])
        _copy_bundle(src, dst, split)
        out.append(dst)
    return out


def _fit_rows(run: Path, names: Sequence[str], split: str) -> dict[str, np.ndarray]:
    """Cache rows of each part for fine-tuning on ``split`` ("shared": the train part of both splits)."""
    if split == "shared":
        return shared_rows(names, {s: run / "splits" / f"{s}.csv" for s in SPLITS})
    return split_rows(names, run / "splits" / f"{split}.csv")


def _finetune_module(cfg: dict, tasks: Sequence[str], lr: float, epochs: int, sizes: Sequence[int] | None) -> Any:
    """The fine-tuning module of the profile's model and ``finetune`` settings; the caller chooses the
    learning rate, epochs and sizes (the paper-style and the mask-robust attackers differ only there)."""
    from .finetune import FinetuneModule

    fc, m, tr = cfg["finetune"], cfg["model"], cfg["trainer"]
    return FinetuneModule(m["arch"], m["stem"], tasks, int(m["input_size"]), list(m["crop"]), lr,
                          float(fc["weight_decay"]), epochs, float(m.get("dropout") or 0.0),
                          float(fc.get("backbone_lr_mult", 1.0)), float(fc.get("label_smoothing", 0.0)),
                          fc.get("age_loss", "smooth_l1"), fc.get("loss_weights"), fc.get("augment"),
                          bool(tr.get("channels_last", True)), sizes)


def _finetune_one(cfg: dict, run: Path, condition: str, split: str, approach: str, tasks: tuple[str, ...]) -> Path:
    import lightning as L
    import torch

    target = _model_path(run, condition, split, approach, tasks[0])
    if target.is_file():
        return target
    fc = cfg["finetune"]
    sdir = target.parent / f"stage_{tasks[0]}" if approach == "per_task" else target.parent
    _setup_torch(cfg)
    c, bank = _load_bank(cfg, cache_path(run, cfg, condition))
    rows = _fit_rows(run, c.names, split)
    bs = min(int(fc["batch_size"]), max(2, len(rows["train"])))
    _say(f"[finetune {condition}/{split} {approach}{'' if approach == 'multitask' else ' ' + tasks[0]}] "
         f"{len(rows['train'])} train / {len(rows['val'])} val faces, {fc['epochs']} epochs, batch {bs}")
    L.seed_everything(int(cfg["seed"]) + 1, workers=True, verbose=False)
    module = _finetune_module(cfg, tasks, float(fc["lr"]), int(fc["epochs"]), fc.get("sizes"))
    backbone = run / "pretrain" / condition / "backbone.pt"
    pretrained = cfg["pretrain"].get("enabled", True) and backbone.is_file()
    if pretrained:
        module.load_backbone(torch.load(backbone, map_location="cpu", weights_only=True))
    module.attach(bank, resident=bool(cfg["data"].get("resident")))
    info = {"condition": condition, "split": split, "approach": approach, "profile": cfg.get("profile"),
            "pretrained_backbone": bool(pretrained)}
    return _fit_and_save(cfg, module, rows, sdir, target, int(fc["epochs"]), int(fc.get("patience", 5)),
                         fc.get("limit_train_batches"), bs, info, masked=condition == "masked")


def _fit_and_save(cfg: dict, module: Any, rows: dict[str, np.ndarray], sdir: Path, target: Path, epochs: int,
                  patience: int, limit_train_batches: Any, bs: int, info: dict[str, Any], masked: bool) -> Path:
    """Fit ``module`` (resuming from sdir/checkpoints/last.ckpt), keep the best epoch by validation
    loss, and write the Predictor bundle ``target`` with ``info`` (+ timings) beside a JSON copy."""
    import torch

    from ..models.predictor import Predictor
    from .bank import rows_loader

    m = cfg["model"]
    has_val = len(rows["val"]) > 0
    trainer, ckpt = make_trainer(cfg, sdir, epochs, "val/loss" if has_val else None, patience, limit_train_batches)
    resumed = _resume_path(sdir) is not None
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.fit(module, train_dataloaders=rows_loader(rows["train"], bs, shuffle=True, drop_last=len(rows["train"]) > bs),
                val_dataloaders=rows_loader(rows["val"], int(cfg["eval"]["batch_size"]), shuffle=False) if has_val else None,
                ckpt_path=_resume_path(sdir))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if trainer.is_global_zero:
        best = ckpt.best_model_path
        if best and Path(best).is_file():
            state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
            module.load_state_dict(state)
        epochs_run = int(trainer.current_epoch)
        net = module.model.cpu().float()
        info = {**info, "commit": git_commit(), "epochs_run": epochs_run,
                "best_checkpoint": Path(best).name if best else None, "finetune_wall_s": round(wall, 2),
                "finetune_cpu_s": round(cpu, 2), "resumed": resumed, "n_train": int(len(rows["train"])),
                "n_val": int(len(rows["val"]))}
        Predictor(net, arch=m["arch"], stem=m["stem"], input_size=int(m["input_size"]), crop=m["crop"],
                  masked=masked, tta=bool(cfg["eval"].get("tta", True)), info=info,
                  device="cpu").save(target)
        _write_json(target.with_suffix(".json"), info)
    return target


# ---------------------------------------------------------------- stage: robust
def _copy_bundle(src: Path, dst: Path, split: str) -> None:
    """One model for every split (finetune.shared_splits): the shared bundle copied per split."""
    if is_rank_zero() and not dst.is_file():
        import shutil

        dst.parent.mkdir(parents=True, exist_ok=True)
        info = json.loads(src.with_suffix(".json").read_text())
        info.update(split=split, shared_splits=True)
        _write_json(dst.with_suffix(".json"), info)
        shutil.copyfile(src, dst.with_name(dst.name + ".part"))
        os.replace(dst.with_name(dst.name + ".part"), dst)


def robust_init_model(cfg: dict, run: str | os.PathLike, split: str) -> Path:
    """The paper-style masked attacker's multi-task bundle the robust attacker starts from."""
    shared = bool(cfg["finetune"].get("shared_splits"))
    return _model_path(Path(run), "masked", "shared" if shared else split, "multitask")


def finetune_robust(cfg: dict, run: str | os.PathLike, split: str) -> Path:
    """The mask-robust attacker for ``split``: RUN/train/robust_<split>/model.pt (multi-task).

    Trained on the unmasked cache with a fresh random mask per face per batch (training/robust.py),
    on the same train/val faces as the masked attacker, starting from its weights
    (``robust.init: masked``; ``pretrain``: from the masked MoCo backbone; ``none``: from scratch).
    """
    run = Path(run)
    if not bool(cfg["finetune"].get("shared_splits")):
        return _finetune_robust_one(cfg, run, split)
    src = _finetune_robust_one(cfg, run, "shared")
    dst = _model_path(run, ROBUST, split, "multitask")
    _copy_bundle(src, dst, split)
    return dst


def _finetune_robust_one(cfg: dict, run: Path, split: str) -> Path:
    import lightning as L
    import torch

    from .robust import RandomMasker, distribution

    target = _model_path(run, ROBUST, split, "multitask")
    if target.is_file():
        return target
    rc, fc = cfg["robust"], cfg["finetune"]
    init = str(rc.get("init", "masked"))
    if init not in ("masked", "pretrain", "none"):
        raise ValueError(f"robust.init {init!r}: choose masked, pretrain or none")
    dist = distribution(cfg)
    init_path = robust_init_model(cfg, run, split if split != "shared" else "uniform")
    if init == "masked" and not init_path.is_file():
        raise FileNotFoundError(f"the robust attacker starts from the masked attacker's {init_path}: train it first "
                                "(maskprivacy train --condition masked, or the reproduce stage train_masked_<split>)")
    _setup_torch(cfg)
    udir = cache_path(run, cfg, "unmasked")
    c, bank = _load_bank(cfg, udir)
    points = cache_mod.ensure_points(udir)
    rows = _fit_rows(run, c.names, split)
    bs = min(int(rc.get("batch_size") or fc["batch_size"]), max(2, len(rows["train"])))
    _say(f"[finetune robust/{split}] {len(rows['train'])} train / {len(rows['val'])} val unmasked faces with random "
         f"masks, {rc['epochs']} epochs from {init}, batch {bs}")
    L.seed_everything(int(cfg["seed"]) + 2, workers=True, verbose=False)
    module = _finetune_module(cfg, TASKS, float(rc["lr"]), int(rc["epochs"]), rc.get("sizes"))
    if init == "masked":
        b = torch.load(init_path, map_location="cpu", weights_only=True)
        module.model.load_state_dict(b["state_dict"])
    elif init == "pretrain":
        backbone = run / "pretrain" / "masked" / "backbone.pt"
        if backbone.is_file():
            module.load_backbone(torch.load(backbone, map_location="cpu", weights_only=True))
    mdir = cache_path(run, cfg, "masked")
    paper = None
    if cache_mod.is_complete(mdir):  # the paper's mask as the test set has it, for the paper_prob share
        mc = cache_mod.load_cache(mdir)
        if mc.names != c.names:
            raise ValueError(f"{mdir} and {udir} hold different faces; delete the caches to rebuild them")
        paper = mc.images
    module.attach(bank, resident=bool(cfg["data"].get("resident")),
                  masker=RandomMasker(bank.images, points, dist, int(cfg["seed"]), paper))
    info = {"condition": ROBUST, "split": split, "approach": "multitask", "profile": cfg.get("profile"),
            "init": init, "init_model": str(init_path.relative_to(run)) if init == "masked" else None,
            "trained_on": "unmasked cache + a random mask per face per batch", "mask_distribution": dist.to_dict(),
            "test_mask": {"style": "a", "color": "white", "cache": "masked"}}
    return _fit_and_save(cfg, module, rows, target.parent, target, int(rc["epochs"]), int(rc.get("patience", 5)),
                         rc.get("limit_train_batches"), bs, info, masked=True)


# ---------------------------------------------------------------- stage: evaluate
def evaluate(cfg: dict, run: str | os.PathLike, condition: str, split: str, approach: str = "multitask",
             wall_s: dict[str, float] | None = None) -> dict[str, Any] | None:
    """Test-set metrics of a fine-tuned approach; writes metrics.json, predictions.csv, confusion PNGs.

    Returns the metrics (None on DDP ranks other than 0, which write nothing).
    """
    import torch

    from ..models.predictor import Predictor
    from .metrics import CLASS_NAMES, compute_metrics, confusion_png, predictions_table, write_predictions

    run = Path(run)
    d = _approach_dir(run, condition, split, approach)
    if (d / "metrics.json").is_file():
        return json.loads((d / "metrics.json").read_text())
    if not is_rank_zero():
        return None
    _setup_torch(cfg)
    t0 = time.perf_counter()
    c = cache_mod.load_cache(cache_path(run, cfg, test_condition(condition)))
    rows = split_rows(c.names, run / "splits" / f"{split}.csv")["test"]
    device = "cuda" if cfg["trainer"]["accelerator"] in ("gpu", "cuda") and torch.cuda.is_available() else "cpu"
    paths = ([_model_path(run, condition, split, approach)] if approach == "multitask"
             else [_model_path(run, condition, split, approach, t) for t in TASKS])
    probs: dict[str, np.ndarray] = {}
    bs = int(cfg["eval"]["batch_size"])
    for p in paths:
        pred = Predictor.load(p, device=device)
        pred.tta = bool(cfg["eval"].get("tta", True))
        for s in range(0, len(rows), bs):
            x = torch.from_numpy(np.ascontiguousarray(c.images[rows[s:s + bs]])).permute(0, 3, 1, 2)
            for t, v in pred.forward_tensor(x).items():
                probs.setdefault(t, []).append(v.float().cpu().numpy())  # type: ignore[arg-type]
    probs = {t: np.concatenate(v) for t, v in probs.items()}  # type: ignore[arg-type]
    truth = {"sex": c.sex[rows], "race": c.race[rows], "age_bucket": c.age_bucket[rows], "age": c.age[rows]}
    cols = predictions_table([c.names[i] for i in rows], truth, probs)
    d.mkdir(parents=True, exist_ok=True)
    write_predictions(d / "predictions.csv", cols)
    metrics = compute_metrics(cols)
    for t, names in CLASS_NAMES.items():
        if t in metrics:
            acc = metrics[t]["accuracy"]
            confusion_png(d / f"confusion_{t}.png", metrics[t]["confusion"], names,
                          f"{t} - {condition} faces, {split} split, {approach}\naccuracy {100 * (acc or 0):.1f}% (n={len(rows)})")
    walls = dict(wall_s or {})
    walls["evaluate"] = round(time.perf_counter() - t0, 2)
    metrics.update({"condition": condition, "test_faces": test_condition(condition), "split": split,
                    "approach": approach, "config": cfg,
                    "commit": git_commit(), "machine": machine(), "wall_s": walls,
                    "cpu_s": stage_cpu(run, condition, split, approach)})
    _write_json(d / "metrics.json", metrics)
    return metrics


# ---------------------------------------------------------------- everything
def stage_cpu(run: Path, condition: str, split: str, approach: str) -> dict[str, float]:
    """CPU seconds (all threads) of the training stages: beside wall time, shows a shared machine."""
    w: dict[str, float] = {}
    pj = run / "pretrain" / condition / "pretrain.json"
    if pj.is_file():
        w["pretrain"] = json.loads(pj.read_text()).get("cpu_s", 0.0)
    infos = list(_approach_dir(run, condition, split, approach).glob("model*.json"))
    if infos:
        w["finetune"] = round(sum(json.loads(p.read_text()).get("finetune_cpu_s", 0.0) for p in infos), 2)
    return w


def stage_walls(run: Path, cfg: dict, condition: str, split: str, approach: str) -> dict[str, float]:
    """Wall time of every stage that produced this result, read back from what each stage wrote."""
    w: dict[str, float] = {}
    meta = cache_path(run, cfg, condition) / "meta.json"
    if meta.is_file():
        w["cache"] = json.loads(meta.read_text()).get("wall_s", 0.0)
    pj = run / "pretrain" / condition / "pretrain.json"
    if pj.is_file():
        w["pretrain"] = json.loads(pj.read_text()).get("wall_s", 0.0)
    infos = [p for p in _approach_dir(run, condition, split, approach).glob("model*.json")]
    if infos:
        w["finetune"] = round(sum(json.loads(p.read_text()).get("finetune_wall_s", 0.0) for p in infos), 2)
    return w


def run_training(cfg: dict, data: str | os.PathLike, mask_run: str | os.PathLike, run: str | os.PathLike,
                 conditions: Sequence[str] = ("masked",), splits: Sequence[str] = SPLITS) -> dict[str, Any]:
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
                m = evaluate(cfg, run, ROBUST, split, "multitask", stage_walls(run, cfg, ROBUST, split, "multitask"))
                if m is not None:
                    results.setdefault(cond, {}).setdefault(split, {})["multitask"] = m
                    _say(f"[result {cond}/{split} multitask] " + short_summary(m))
            continue
        pretrain(cfg, run, cond)
        for split in splits:
            for appr in approaches(cfg):
                finetune(cfg, run, cond, split, appr)
                m = evaluate(cfg, run, cond, split, appr, stage_walls(run, cfg, cond, split, appr))
                if m is not None:
                    results.setdefault(cond, {}).setdefault(split, {})[appr] = m
                    _say(f"[result {cond}/{split} {appr}] " + short_summary(m))
    return results


def short_summary(m: dict[str, Any]) -> str:
    parts = []
    for t in ("sex", "race", "age_bucket"):
        if t in m and m[t].get("accuracy") is not None:
            parts.append(f"{t} {100 * m[t]['accuracy']:.1f}%")
    if "age" in m and m["age"].get("mae") is not None:
        parts.append(f"age MAE {m['age']['mae']:.2f} RMSE {m['age']['rmse']:.2f}")
    return ", ".join(parts) + f" (n={m.get('n_test')})"
