"""Stage ``adaptive``: the attacker that has seen occluders, the answer to "what would protect me?".

Sunglasses, a cap or a blur look protective against an attacker that never saw one; published work
(McPherson, Shokri and Shmatikov, 2016) read through blurred and pixelated faces with networks
trained on them. This attacker is the mask-robust one trained further on the widened distribution of
``training/occluded.py`` (random occluders over random masks, some faces bare), on the same
train/validation faces, and tested on the paper's mask "a" like every masked-face attacker, so its
cost on the paper's question is measured on the same faces.
"""

from __future__ import annotations

import os
from pathlib import Path

from maskprivacy.layout import ADAPTIVE, ROBUST, RunLayout
from maskprivacy.training import cache as cache_mod
from maskprivacy.training.rows import fit_rows
from maskprivacy.training.runtime import TASKS, cache_path, load_bank, model_path, say, setup_torch
from maskprivacy.training.stage_finetune import copy_bundle, finetune_module, fit_and_save
from maskprivacy.training.stage_robust import paper_masked_faces

INITS = ("robust", "masked", "pretrain")


def adaptive_init_model(cfg: dict, run: Path, init: str) -> Path:
    """The multi-task bundle the adaptive attacker starts from (``occlusions.init``)."""
    shared = bool(cfg["finetune"].get("shared_splits"))
    return model_path(run, ROBUST if init == "robust" else "masked", "shared" if shared else "uniform", "multitask")


def finetune_adaptive(cfg: dict, run: str | os.PathLike, split: str) -> Path:
    """The adaptive attacker for ``split``: RUN/train/adaptive_<split>/model.pt (multi-task)."""
    run = Path(run)
    if not bool(cfg["finetune"].get("shared_splits")):
        return _finetune_adaptive_one(cfg, run, split)
    src = _finetune_adaptive_one(cfg, run, "shared")
    dst = model_path(run, ADAPTIVE, split, "multitask")
    copy_bundle(src, dst, split)
    return dst


def _finetune_adaptive_one(cfg: dict, run: Path, split: str) -> Path:
    import lightning as L
    import torch

    from maskprivacy.training.occluded import OcclusionMasker, mask_share, occlusion_distribution
    from maskprivacy.training.robust import RandomMasker, distribution

    target = model_path(run, ADAPTIVE, split, "multitask")
    if target.is_file():
        return target
    oc, fc = cfg["occlusions"], cfg["finetune"]
    init = str(oc.get("init", "robust"))
    if init not in INITS:
        raise ValueError(f"occlusions.init {init!r}: choose from {', '.join(INITS)}")
    occ, mask_prob = occlusion_distribution(cfg), mask_share(cfg)
    dist = distribution(cfg)
    init_path = adaptive_init_model(cfg, run, init)
    if init != "pretrain" and not init_path.is_file():
        raise FileNotFoundError(
            f"the adaptive attacker starts from {init_path}: train the {init} attacker first "
            f"(the reproduce stage train_{init}_uniform)"
        )
    setup_torch(cfg)
    udir = cache_path(run, cfg, "unmasked")
    c, bank = load_bank(cfg, udir)
    points = cache_mod.ensure_points(udir)
    rows = fit_rows(run, c.names, split)
    bs = min(int(oc.get("batch_size") or fc["batch_size"]), max(2, len(rows["train"])))
    say(
        f"[finetune adaptive/{split}] {len(rows['train'])} train / {len(rows['val'])} val faces with random occluders "
        f"over random masks ({mask_prob:.0%} of faces), {oc['epochs']} epochs from {init}, batch {bs}"
    )
    L.seed_everything(int(cfg["seed"]) + 4, workers=True, verbose=False)
    module = finetune_module(cfg, TASKS, float(oc["lr"]), int(oc["epochs"]), oc.get("sizes"))
    if init != "pretrain":
        module.model.load_state_dict(torch.load(init_path, map_location="cpu", weights_only=True)["state_dict"])
    else:
        backbone = RunLayout(run).pretrain_dir("masked") / "backbone.pt"
        if backbone.is_file():
            module.load_backbone(torch.load(backbone, map_location="cpu", weights_only=True))
    paper = paper_masked_faces(cfg, run, c.names)
    masks = RandomMasker(bank.images, points, dist, int(cfg["seed"]) + 11, paper)
    module.attach(
        bank,
        resident=bool(cfg["data"].get("resident")),
        masker=OcclusionMasker(masks, occ, mask_prob, int(cfg["seed"]) + 13),
    )
    info = {
        "condition": ADAPTIVE,
        "split": split,
        "approach": "multitask",
        "profile": cfg.get("profile"),
        "init": init,
        "init_model": str(init_path.relative_to(run)) if init != "pretrain" else None,
        "trained_on": "unmasked cache + random occluders over random masks, some faces bare",
        "occlusions": {"mask_prob": mask_prob, "draw": occ.to_dict()},
        "mask_distribution": dist.to_dict(),
        "test_mask": {"style": "a", "color": "white", "cache": "masked"},
    }
    return fit_and_save(
        cfg,
        module,
        rows,
        target.parent,
        target,
        int(oc["epochs"]),
        int(oc.get("patience", 3)),
        oc.get("limit_train_batches"),
        bs,
        info,
        masked=True,
    )
