"""Stage ``robust``: the mask-robust attacker, fine-tuned on faces wearing random masks.

Same network and budget logic as the paper-style attacker; only its training faces differ (a mask
of every style drawn afresh per face and batch, ``training/robust.py``), and it is tested on the
paper's mask "a" like the paper-style attacker.
"""

from __future__ import annotations

import os
from pathlib import Path

from maskprivacy.layout import ROBUST
from maskprivacy.training import cache as cache_mod
from maskprivacy.training.continued import (
    batch_size,
    fit_section,
    init_model_entry,
    per_split,
    started_module,
    unmasked_faces,
)
from maskprivacy.training.runtime import cache_path, model_path, say


def robust_init_model(cfg: dict, run: str | os.PathLike, split: str) -> Path:
    """The paper-style masked attacker's multi-task bundle the robust attacker starts from."""
    shared = bool(cfg["finetune"].get("shared_splits"))
    return model_path(Path(run), "masked", "shared" if shared else split, "multitask")


def paper_masked_faces(cfg: dict, run: Path, names: list[str]):
    """The faces of the unmasked cache wearing the paper's mask exactly as the test set has them (the
    masked cache), for the random masker's ``paper_prob`` share; None when that cache is not built."""
    mdir = cache_path(run, cfg, "masked")
    if not cache_mod.is_complete(mdir):
        return None
    mc = cache_mod.load_cache(mdir)
    if mc.names != names:
        raise ValueError(f"{mdir} and the unmasked cache hold different faces; delete the caches to rebuild them")
    return mc.images


def finetune_robust(cfg: dict, run: str | os.PathLike, split: str) -> Path:
    """The mask-robust attacker for ``split``: RUN/train/robust_<split>/model.pt (multi-task).

    Trained on the unmasked cache with a fresh random mask per face per batch (training/robust.py),
    on the same train/val faces as the masked attacker, starting from its weights
    (``robust.init: masked``; ``pretrain``: from the masked MoCo backbone; ``none``: from scratch).
    """
    run = Path(run)
    return per_split(cfg, run, ROBUST, split, lambda one: _finetune_robust_one(cfg, run, one))


def _finetune_robust_one(cfg: dict, run: Path, split: str) -> Path:
    from maskprivacy.training.robust import RandomMasker, distribution

    target = model_path(run, ROBUST, split, "multitask")
    if target.is_file():
        return target
    rc = cfg["robust"]
    init = str(rc.get("init", "masked"))
    if init not in ("masked", "pretrain", "none"):
        raise ValueError(f"robust.init {init!r}: choose masked, pretrain or none")
    dist = distribution(cfg)
    init_path = robust_init_model(cfg, run, split if split != "shared" else "uniform")
    if init == "masked" and not init_path.is_file():
        raise FileNotFoundError(
            f"the robust attacker starts from the masked attacker's {init_path}: train it first "
            "(maskprivacy train --condition masked, or the reproduce stage train_masked_<split>)"
        )
    faces = unmasked_faces(cfg, run, split)
    rows = faces.rows
    bs = batch_size(cfg, rc, len(rows["train"]))
    say(
        f"[finetune robust/{split}] {len(rows['train'])} train / {len(rows['val'])} val unmasked faces with random "
        f"masks, {rc['epochs']} epochs from {init}, batch {bs}"
    )
    module = started_module(cfg, run, rc, 2, init, init_path)
    paper = paper_masked_faces(cfg, run, faces.names)
    module.attach(
        faces.bank,
        resident=bool(cfg["data"].get("resident")),
        masker=RandomMasker(faces.bank.images, faces.points, dist, int(cfg["seed"]), paper),
    )
    info = {
        "condition": ROBUST,
        "split": split,
        "approach": "multitask",
        "profile": cfg.get("profile"),
        "init": init,
        "init_model": init_model_entry(run, init, init_path),
        "trained_on": "unmasked cache + a random mask per face per batch",
        "mask_distribution": dist.to_dict(),
        "test_mask": {"style": "a", "color": "white", "cache": "masked"},
    }
    return fit_section(cfg, module, rows, target, rc, 5, bs, info)
