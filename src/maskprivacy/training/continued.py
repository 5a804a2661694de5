"""The steps shared by the attackers trained further from another one: robust, real and adaptive.

Each of them loads the unmasked cache and the split's train/validation rows, starts a multi-task
module from an earlier attacker's bundle (or the masked MoCo backbone), attaches a masker of its own
and fits with its own section of the profile (``robust``, ``real``, ``occlusions``). Only the masker,
the rows and the record differ; the steps are written once here so that a change to how an attacker
starts or is fitted reaches all three. The order of the random draws is each stage's: seeding comes
right before the module is built, as it always did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maskprivacy.layout import ROBUST, RunLayout
from maskprivacy.training import cache as cache_mod
from maskprivacy.training.rows import fit_rows
from maskprivacy.training.runtime import TASKS, cache_path, load_bank, model_path, setup_torch
from maskprivacy.training.stage_finetune import copy_bundle, finetune_module, fit_and_save

# The inits that load no earlier attacker's weights.
NO_BUNDLE = ("pretrain", "none")
# What an attacker trained on top of the mask-robust one may start from (``<section>.init``).
INITS = ("robust", "masked", "pretrain")


def per_split(cfg: dict, run: Path, condition: str, split: str, fit_one: Callable[[str], Path]) -> Path:
    """``fit_one(split)``; with ``finetune.shared_splits``, one model fitted on the shared rows and copied
    to ``split``'s place."""
    if not bool(cfg["finetune"].get("shared_splits")):
        return fit_one(split)
    src = fit_one("shared")
    dst = model_path(run, condition, split, "multitask")
    copy_bundle(src, dst, split)
    return dst


def start_model(cfg: dict, run: Path, init: str) -> Path:
    """The multi-task bundle an attacker starts from when its init is ``robust`` or ``masked``: that
    attacker's uniform-split model (or its shared one)."""
    shared = bool(cfg["finetune"].get("shared_splits"))
    return model_path(run, ROBUST if init == "robust" else "masked", "shared" if shared else "uniform", "multitask")


def chosen_init(cfg: dict, run: Path, key: str, who: str) -> tuple[str, Path]:
    """``cfg[key]["init"]`` (default ``robust``) checked against :data:`INITS`, and the bundle it starts
    from; a clear error when that attacker is not trained yet. ``who`` names the attacker in it."""
    init = str(cfg[key].get("init", "robust"))
    if init not in INITS:
        raise ValueError(f"{key}.init {init!r}: choose from {', '.join(INITS)}")
    init_path = start_model(cfg, run, init)
    if init != "pretrain" and not init_path.is_file():
        raise FileNotFoundError(
            f"the {who} attacker starts from {init_path}: train the {init} attacker first "
            f"(the reproduce stage train_{init}_uniform)"
        )
    return init, init_path


@dataclass(frozen=True)
class UnmaskedFaces:
    """The unmasked cache as training reads it: face names, the image bank, the landmarks the maskers
    draw from, and the split's train/validation rows."""

    names: list[str]
    bank: Any
    points: np.ndarray
    rows: dict[str, np.ndarray]


def unmasked_faces(cfg: dict, run: Path, split: str) -> UnmaskedFaces:
    """Torch set up for the profile, then the unmasked cache and ``split``'s rows loaded."""
    setup_torch(cfg)
    udir = cache_path(run, cfg, "unmasked")
    c, bank = load_bank(cfg, udir)
    points = cache_mod.ensure_points(udir)
    return UnmaskedFaces(c.names, bank, points, fit_rows(run, c.names, split))


def batch_size(cfg: dict, section: dict, n_train: int) -> int:
    """The section's batch size (else the fine-tuning one), at most the training rows (at least 2)."""
    return min(int(section.get("batch_size") or cfg["finetune"]["batch_size"]), max(2, n_train))


def started_module(cfg: dict, run: Path, section: dict, seed_offset: int, init: str, init_path: Path) -> Any:
    """The multi-task module, seeded with ``seed + seed_offset``, starting from ``init``: the bundle at
    ``init_path``, the masked MoCo backbone (``pretrain``, when there is one), or nothing (``none``)."""
    import lightning as L
    import torch

    L.seed_everything(int(cfg["seed"]) + seed_offset, workers=True, verbose=False)
    module = finetune_module(cfg, TASKS, float(section["lr"]), int(section["epochs"]), section.get("sizes"))
    if init not in NO_BUNDLE:
        module.model.load_state_dict(torch.load(init_path, map_location="cpu", weights_only=True)["state_dict"])
    elif init == "pretrain":
        backbone = RunLayout(run).pretrain_dir("masked") / "backbone.pt"
        if backbone.is_file():  # the CNN's MoCo backbone; the face network starts from dlib's weights anyway
            module.load_backbone(torch.load(backbone, map_location="cpu", weights_only=True))
    return module


def init_model_entry(run: Path, init: str, init_path: Path) -> str | None:
    """The record's ``init_model``: the bundle started from, relative to the run; None for no bundle."""
    return None if init in NO_BUNDLE else str(init_path.relative_to(run))


def fit_section(
    cfg: dict,
    module: Any,
    rows: dict[str, np.ndarray],
    target: Path,
    section: dict,
    patience: int,
    bs: int,
    info: dict[str, Any],
    finish: Callable[[Any], dict[str, Any]] | None = None,
) -> Path:
    """Fit with the section's epochs, patience (``patience`` by default) and batch limit; the bundle
    saved at ``target`` as a masked-face attacker (``finish``: see :func:`fit_and_save`)."""
    return fit_and_save(
        cfg,
        module,
        rows,
        target.parent,
        target,
        int(section["epochs"]),
        int(section.get("patience", patience)),
        section.get("limit_train_batches"),
        bs,
        info,
        masked=True,
        finish=finish,
    )
