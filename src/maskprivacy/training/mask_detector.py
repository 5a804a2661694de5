"""Train the masked-or-bare detector (:mod:`maskprivacy.models.mask_classifier`) on the run's faces.

Each training batch is half bare faces of the unmasked cache and half the same kind of faces wearing
a mask drawn afresh from the mask distribution (:class:`~maskprivacy.training.robust.RandomMasker`:
every style, colour, print, light and placement; deterministic per seed, epoch and batch), so the
detector never sees the same mask twice and cannot learn one shape. Every face then goes through a
random similarity transform (zoom, rotation, shift, mirror) wider than the first cut's alignment error
on real photos, colour jitter, grey and blur, because ``analyze`` runs it on a rough first cut of
photos that are not UTKFace's.

The split's train part trains it, its validation part picks nothing (it is logged), and the test
part measures it: how many bare faces it calls masked, and how many faces of each mask style it
finds (``RUN/mask_detector/metrics.json``). Real photos measure it in ``scripts/check_realmask.py``.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from maskprivacy.layout import AttackerFolder, RunLayout
from maskprivacy.masking.random_masks import MaskDistribution, mask_style_batch
from maskprivacy.masking.styles.table import style_names
from maskprivacy.models.mask_classifier import (
    CHANNELS,
    MEAN,
    STD,
    THRESHOLD,
    MaskDetectorNet,
    load_mask_detector,
    resample,
    save_mask_detector,
)
from maskprivacy.provenance import git_commit
from maskprivacy.records import MaskDetectorMetrics, write_metrics
from maskprivacy.training import cache as cache_mod
from maskprivacy.training.augment import color_jitter, random_grayscale
from maskprivacy.training.bank import rows_loader
from maskprivacy.training.robust import RandomMasker
from maskprivacy.training.rows import split_rows
from maskprivacy.training.runtime import cache_path, make_trainer, resume_path, say, setup_torch

SPLIT = "uniform"  # the split whose parts train and test it (the analysis path reads the uniform models)

DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "input_size": 48,
    "epochs": 2,
    "batch_size": 128,
    "lr": 0.003,
    "weight_decay": 0.01,
    "limit_train_batches": None,
    # the geometric and photometric jitter of a training face (see the module docstring)
    "jitter": {"zoom": [0.75, 1.45], "rotate": 20.0, "shift": 0.15, "color": 0.8, "grayscale": 0.1, "blur": 0.3},
    "masks": {"paper_prob": 0.15},
}


def detector_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The profile's ``mask_detector`` section over :data:`DEFAULTS` (unknown keys refused)."""
    own = dict(cfg.get("mask_detector") or {})
    unknown = set(own) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown mask_detector settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    out = {**DEFAULTS, **own}
    out["jitter"] = {**DEFAULTS["jitter"], **(own.get("jitter") or {})}
    return out


def jitter_theta(n: int, j: dict[str, Any], g: torch.Generator) -> torch.Tensor:
    """(n, 2, 3) random similarity transforms: zoom (log-uniform), rotation, shift, mirror."""
    u = torch.rand(n, 5, generator=g)
    lo, hi = math.log(j["zoom"][0]), math.log(j["zoom"][1])
    s = torch.exp(lo + (hi - lo) * u[:, 0])
    a = (2 * u[:, 1] - 1) * math.radians(float(j["rotate"]))
    flip = torch.where(u[:, 4] < 0.5, -1.0, 1.0)
    th = torch.zeros(n, 2, 3)
    th[:, 0, 0] = torch.cos(a) / s * flip
    th[:, 0, 1] = -torch.sin(a) / s
    th[:, 1, 0] = torch.sin(a) / s * flip
    th[:, 1, 1] = torch.cos(a) / s
    th[:, 0, 2] = (2 * u[:, 2] - 1) * float(j["shift"])
    th[:, 1, 2] = (2 * u[:, 3] - 1) * float(j["shift"])
    return th


def _lightning_module():
    import lightning as L

    class MaskDetectorModule(L.LightningModule):
        """Bare (label 0) against randomly masked (label 1) faces, half and half in every batch."""

        def __init__(self, dcfg: dict[str, Any], seed: int):
            super().__init__()
            self.save_hyperparameters()
            self.dcfg, self.seed = dcfg, int(seed)
            self.net = MaskDetectorNet(CHANNELS)
            self.images: torch.Tensor | None = None
            self.masker: RandomMasker | None = None

        def attach(self, images: torch.Tensor, masker: RandomMasker) -> None:
            self.images, self.masker = images, masker  # not __init__ arguments: kept out of checkpoints

        def _batch(self, rows: torch.Tensor, part: str, batch_idx: int, train: bool):
            assert self.images is not None and self.masker is not None, "attach() before fit"
            x = self.images[rows.cpu()].permute(0, 3, 1, 2)  # uint8 (B, 3, S, S)
            half = len(rows) // 2
            epoch = self.current_epoch if train else 0
            xm = self.masker(rows[:half], x[:half], part, epoch, batch_idx, self.global_rank)
            x = torch.cat([xm, x[half:]]).float() / 255.0
            y = torch.cat([torch.ones(half), torch.zeros(len(rows) - half)])
            size = int(self.dcfg["input_size"])
            if not train:
                return (resample(x, size) - MEAN) / STD, y
            j = self.dcfg["jitter"]
            g = torch.Generator().manual_seed(
                int(np.random.SeedSequence([self.seed, epoch, batch_idx, self.global_rank]).generate_state(1)[0])
            )
            x = resample(x, size, jitter_theta(len(rows), j, g))
            x = color_jitter(x, float(j["color"]), 0.4, 0.4, 0.4, 0.0, g)
            x = random_grayscale(x, float(j["grayscale"]), g)
            blur = torch.rand(len(rows), generator=g) < float(j["blur"])
            if blur.any():  # soft phone photos and JPEG: a 3x3 box blur
                x[blur] = F.avg_pool2d(F.pad(x[blur], (1, 1, 1, 1), mode="replicate"), 3, 1)
            return (x - MEAN) / STD, y

        def training_step(self, rows: torch.Tensor, batch_idx: int) -> torch.Tensor:
            x, y = self._batch(rows, "train", batch_idx, True)
            loss = F.binary_cross_entropy_with_logits(self.net(x.to(self.device)).float(), y.to(self.device))
            self.log("train_loss", loss, prog_bar=True)
            return loss

        def validation_step(self, rows: torch.Tensor, batch_idx: int) -> None:
            x, y = self._batch(rows, "val", batch_idx, False)
            logit = self.net(x.to(self.device)).float()
            y = y.to(self.device)
            self.log("val_loss", F.binary_cross_entropy_with_logits(logit, y), prog_bar=True, sync_dist=True)
            self.log("val_acc", ((logit >= 0).float() == y).float().mean(), prog_bar=True, sync_dist=True)

        def configure_optimizers(self):
            opt = torch.optim.AdamW(
                self.net.parameters(), float(self.dcfg["lr"]), weight_decay=float(self.dcfg["weight_decay"])
            )
            total = max(1, int(self.trainer.estimated_stepping_batches))  # per rank under DDP, after any limit
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, float(self.dcfg["lr"]), total_steps=total, pct_start=0.15)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return MaskDetectorModule


def _test_rates(
    path: Path, images: np.ndarray, points: np.ndarray, names: list[str], paper: np.ndarray | None, seed: int
):
    """On the test faces: the share of bare faces read as masked, and of each style's faces found."""
    det = load_mask_detector(path)

    def rate(x: np.ndarray) -> float:
        if len(x) == 0:
            return float("nan")
        p = np.concatenate([det.probabilities(x[i : i + 512]) for i in range(0, len(x), 512)])
        return round(float(np.mean(p >= det.threshold)), 4)

    styles = {}
    for st in style_names():
        faces = paper if (st == "a" and paper is not None) else mask_style_batch(images, points, st, seed, keys=names)
        styles[st] = rate(faces)
    bare = rate(images)
    found = float(np.mean(list(styles.values())))
    return {
        "n": len(images),
        "bare_read_as_masked": bare,
        "found_by_style": styles,
        "balanced_accuracy": round(((1 - bare) + found) / 2, 4),
    }


def train_mask_detector(cfg: dict[str, Any], run: str | os.PathLike) -> dict[str, Any] | None:
    """Train, save ``RUN/mask_detector/model.pt`` and write its test-face metrics; None when disabled."""
    import lightning as L

    dcfg = detector_config(cfg)
    if not dcfg["enabled"]:
        say("[mask_detector] disabled in the profile, skipped")
        return None
    run = Path(run)
    out = RunLayout(run).mask_detector_dir
    setup_torch(cfg)
    udir = cache_path(run, cfg, "unmasked")
    c = cache_mod.load_cache(udir)
    points = cache_mod.ensure_points(udir)
    rows = split_rows(c.names, RunLayout(run).split_csv(SPLIT))
    mdir = cache_path(run, cfg, "masked")
    paper = np.asarray(cache_mod.load_cache(mdir).images) if cache_mod.is_complete(mdir) else None
    seed = int(cfg["seed"]) + 7
    images = torch.from_numpy(np.array(c.images))  # a writable copy in memory (the cache is memory-mapped)
    dist = MaskDistribution.from_dict(dcfg["masks"])
    bs = min(int(dcfg["batch_size"]), max(2, len(rows["train"])))
    train = rows_loader(rows["train"], bs, shuffle=True, drop_last=len(rows["train"]) > bs)
    val = rows_loader(rows["val"], bs, shuffle=False)
    lim = dcfg["limit_train_batches"]
    epochs = int(dcfg["epochs"])
    say(
        f"[mask_detector] {len(rows['train'])} train / {len(rows['val'])} val faces, half with a random mask, "
        f"{epochs} epochs at {dcfg['input_size']} px, batch {bs}"
    )
    L.seed_everything(seed, workers=True, verbose=False)
    module = _lightning_module()(dcfg, seed)
    module.attach(images, RandomMasker(images, points, dist, seed, paper))
    t0 = time.perf_counter()
    trainer, _ = make_trainer(cfg, out, epochs, None, epochs, lim)
    trainer.fit(module, train, val, ckpt_path=resume_path(out))
    wall = round(time.perf_counter() - t0, 1)
    if not trainer.is_global_zero:
        return None
    info = {
        "input_size": int(dcfg["input_size"]),
        "cache_size": int(cfg["cache"]["size"]),
        "channels": list(CHANNELS),
        "threshold": THRESHOLD,
        "trained_on": f"the {SPLIT} split's train faces: bare, and with a random mask (half each)",
        "mask_distribution": dist.to_dict(),
        "config": dcfg,
        "commit": git_commit(),
    }
    model = AttackerFolder(out).model
    save_mask_detector(model, module.net.float().cpu().eval(), info)
    test = rows["test"]
    ims = np.ascontiguousarray(c.images[test])
    m = MaskDetectorMetrics(
        test=_test_rates(
            model, ims, points[test], [c.names[i] for i in test], None if paper is None else paper[test], seed
        ),
        train_wall_s=wall,
        info=info,
    )
    write_metrics(out, m)
    t = m.test
    say(
        f"[mask_detector] test faces: bare read as masked {t['bare_read_as_masked']:.2%}, masks found "
        f"{min(t['found_by_style'].values()):.2%}-{max(t['found_by_style'].values()):.2%} by style "
        f"(balanced {t['balanced_accuracy']:.2%}, n={t['n']}), {wall:.0f} s"
    )
    return m.model_dump()
