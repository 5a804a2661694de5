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

from maskprivacy.layout import ADAPTIVE
from maskprivacy.training.continued import (
    batch_size,
    chosen_init,
    fit_section,
    init_model_entry,
    per_split,
    started_module,
    unmasked_faces,
)
from maskprivacy.training.runtime import model_path, say
from maskprivacy.training.stage_robust import paper_masked_faces


def finetune_adaptive(cfg: dict, run: str | os.PathLike, split: str) -> Path:
    """The adaptive attacker for ``split``: RUN/train/adaptive_<split>/model.pt (multi-task)."""
    run = Path(run)
    return per_split(cfg, run, ADAPTIVE, split, lambda one: _finetune_adaptive_one(cfg, run, one))


def _finetune_adaptive_one(cfg: dict, run: Path, split: str) -> Path:
    from maskprivacy.training.occluded import OcclusionMasker, mask_share, occlusion_distribution
    from maskprivacy.training.robust import RandomMasker, distribution

    target = model_path(run, ADAPTIVE, split, "multitask")
    if target.is_file():
        return target
    oc = cfg["occlusions"]
    occ, mask_prob = occlusion_distribution(cfg), mask_share(cfg)
    dist = distribution(cfg)
    init, init_path = chosen_init(cfg, run, "occlusions", "adaptive")
    faces = unmasked_faces(cfg, run, split)
    rows = faces.rows
    bs = batch_size(cfg, oc, len(rows["train"]))
    say(
        f"[finetune adaptive/{split}] {len(rows['train'])} train / {len(rows['val'])} val faces with random occluders "
        f"over random masks ({mask_prob:.0%} of faces), {oc['epochs']} epochs from {init}, batch {bs}"
    )
    module = started_module(cfg, run, oc, 4, init, init_path)
    paper = paper_masked_faces(cfg, run, faces.names)
    masks = RandomMasker(faces.bank.images, faces.points, dist, int(cfg["seed"]) + 11, paper)
    module.attach(
        faces.bank,
        resident=bool(cfg["data"].get("resident")),
        masker=OcclusionMasker(masks, occ, mask_prob, int(cfg["seed"]) + 13),
    )
    info = {
        "condition": ADAPTIVE,
        "split": split,
        "approach": "multitask",
        "profile": cfg.get("profile"),
        "init": init,
        "init_model": init_model_entry(run, init, init_path),
        "trained_on": "unmasked cache + random occluders over random masks, some faces bare",
        "occlusions": {"mask_prob": mask_prob, "draw": occ.to_dict()},
        "mask_distribution": dist.to_dict(),
        "test_mask": {"style": "a", "color": "white", "cache": "masked"},
    }
    return fit_section(cfg, module, rows, target, oc, 3, bs, info)
