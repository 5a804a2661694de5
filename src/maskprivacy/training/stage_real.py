"""Stage ``real``: the real-mask attacker, the mask-robust attacker also trained on real masked photos.

Every other attacker learns from UTKFace with masks drawn on it, and reads photos of people who
really wear a mask worse than the same people behind a drawn one (close-up framing, real masks' bulk
and straps, real light). This one starts from the mask-robust attacker (``real.init: robust``; or
``masked``, or ``pretrain``: the family's starting weights, i.e. the MoCo backbone for the CNN and
dlib's face-pretrained network for the face network) and is fine-tuned on a mix, per epoch, of

* every labelled real photo of the train part of ``--real-masks-train`` (aligned once,
  ``training/real_photos.py``; sex and race where a person could judge them, no age: the losses of
  unknown labels are masked, ``training/finetune.py``), and
* UTKFace train faces wearing a fresh random mask (``training/robust.py``), as many as make real photos
  ``real.share`` of the epoch: they keep the age heads and what the attacker knew of drawn masks.

Validation (best epoch, early stopping) is the split's UTKFace validation faces with random masks
plus the real photos of the validation clusters (people and near-duplicates never straddle the cut).
The attacker is tested on the paper's mask "a" like the other masked-face attackers.

The weights shipped are then mixed with the start attacker's, ``(1 - a) * start + a * fine-tuned`` with
``a`` of least validation loss among ``real.weight_mix`` (WiSE-FT, :mod:`maskprivacy.training.weight_mix`):
plain fine-tuning lost up to a point or more of a UTKFace task with mask a.

With ``real.domain_adversarial`` > 0 a domain head learns to tell the UTKFace rows from the real photos,
the blank ones of the train part included, through a reversed gradient
(:mod:`maskprivacy.training.domain_adversarial`); 0 trains exactly as before it existed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskprivacy.layout import REAL
from maskprivacy.training.continued import (
    NO_BUNDLE,
    batch_size,
    chosen_init,
    fit_section,
    init_model_entry,
    per_split,
    started_module,
    unmasked_faces,
)
from maskprivacy.training.domain_adversarial import DomainAdversary, domain_weight
from maskprivacy.training.real_photos import MISSING, RealPhotos, group_ids, group_parts, seed_of
from maskprivacy.training.runtime import model_path, say
from maskprivacy.training.stage_robust import paper_masked_faces


def real_parts(photos: RealPhotos, cfg: dict) -> np.ndarray:
    """``train``/``val`` per real photo: whole people or near-duplicate clusters on each side."""
    rc = cfg["real"]
    return group_parts(
        group_ids(photos.person, photos.cluster), float(rc["val_fraction"]), seed_of("real-val", int(cfg["seed"]))
    )


class RealRowsKeepTheirMasks:
    """The random masker on the UTKFace rows of a batch only: rows from ``n_utk`` on are real photos,
    which already wear a mask."""

    def __init__(self, masker: Any, n_utk: int):
        self.masker = masker
        self.n_utk = int(n_utk)

    def __call__(
        self, rows: torch.Tensor, x: torch.Tensor, part: str, epoch: int, batch_idx: int, rank: int = 0
    ) -> torch.Tensor:
        utk = rows < self.n_utk
        if bool(utk.all()):
            return self.masker(rows, x, part, epoch, batch_idx, rank)
        if not bool(utk.any()):
            return x
        out = x.clone()
        out[utk] = self.masker(rows[utk], x[utk], part, epoch, batch_idx, rank)
        return out


def finetune_real(
    cfg: dict, run: str | os.PathLike, split: str, photos: RealPhotos, parts: np.ndarray | None = None
) -> Path:
    """The real-mask attacker for ``split``: RUN/train/real_<split>/model.pt (multi-task).

    ``parts``: ``train``/``val`` per real photo when the caller cuts them (e.g. realmask-dev's people added
    to the train part, :mod:`maskprivacy.training.dev_folds`); None: :func:`real_parts`."""
    run = Path(run)
    return per_split(cfg, run, REAL, split, lambda one: finetune_real_model(cfg, run, one, photos, parts))


def finetune_real_model(
    cfg: dict,
    run: Path,
    split: str,
    photos: RealPhotos,
    parts: np.ndarray | None = None,
    target: Path | None = None,
) -> Path:
    """One real-mask attacker at ``target`` (default RUN/train/real_<split>/model.pt), trained on the
    UTKFace rows of ``split`` and the real photos of the train part; with ``real.adabn``, its batch-norm
    statistics then re-estimated on every real photo of the train part, labelled or blank
    (:mod:`maskprivacy.training.adabn`)."""
    target = target or model_path(run, REAL, split, "multitask")
    parts = real_parts(photos, cfg) if parts is None else np.asarray(parts)
    if len(parts) != len(photos):
        raise ValueError(f"{len(parts)} parts for {len(photos)} real photos")
    if not target.is_file():
        _fit_real(cfg, run, split, photos, parts, target)
    if bool(cfg["real"].get("adabn")):
        from maskprivacy.training.adabn import ensure_adapted

        train = np.flatnonzero(parts == "train")
        side = int(cfg["cache"]["size"])
        ensure_adapted(target, photos.resized(side)[train], "the real photos of the train part, labelled and blank")
    return target


@dataclass(frozen=True)
class MixedRows:
    """The rows of a real-mask fit: the bank's UTKFace rows first, then real photo ``i`` at ``n_utk + i``."""

    rows: dict[str, np.ndarray]  # train / val rows of the bank
    real_train: np.ndarray  # labelled real photos of the train part (photo numbers)
    real_val: np.ndarray
    blank_train: np.ndarray  # blank real photos of the train part: only with a domain head
    n_mix: int  # UTKFace faces drawn into the train rows


def mixed_rows(
    labelled: np.ndarray,
    parts: np.ndarray,
    utk_rows: dict[str, np.ndarray],
    n_utk: int,
    share: float,
    seed: int,
    blanks: bool,
) -> MixedRows:
    """Every labelled real photo of the train part plus UTKFace train faces drawn (``seed``) so that real
    photos are ``share`` of the labelled rows; validation: all UTKFace validation faces and the labelled
    real photos of the validation part. ``blanks`` (a domain head): the blank photos of the train part
    join the train rows as well (their task losses are masked, so only the domain head learns from them),
    without changing how many UTKFace faces are drawn."""
    real_train = np.flatnonzero(labelled & (parts == "train"))
    real_val = np.flatnonzero(labelled & (parts == "val"))
    n_mix = min(len(utk_rows["train"]), int(round(len(real_train) * (1.0 - share) / share)))
    rng = np.random.default_rng(seed)
    utk_train = np.sort(rng.choice(utk_rows["train"], size=n_mix, replace=False)) if n_mix else np.zeros(0, np.int64)
    blank_train = np.flatnonzero(~labelled & (parts == "train")) if blanks else np.zeros(0, np.int64)
    rows = {
        "train": np.concatenate([utk_train, n_utk + real_train, n_utk + blank_train]).astype(np.int64),
        "val": np.concatenate([utk_rows["val"], n_utk + real_val]).astype(np.int64),
    }
    return MixedRows(rows, real_train, real_val, blank_train, n_mix)


def _fit_real(cfg: dict, run: Path, split: str, photos: RealPhotos, parts: np.ndarray, target: Path) -> Path:
    from maskprivacy.training.bank import Bank
    from maskprivacy.training.robust import RandomMasker, distribution

    rc = cfg["real"]
    share = float(rc["share"])
    if not 0.0 < share <= 1.0:
        raise ValueError(f"real.share must be in (0, 1], got {share}")
    init, init_path = chosen_init(cfg, run, "real", "real-mask")
    faces = unmasked_faces(cfg, run, split)
    side = int(cfg["cache"]["size"])
    utk, points, utk_rows = faces.bank, faces.points, faces.rows
    n_utk = len(faces.names)

    domain = domain_weight(rc)
    labelled = photos.labelled()
    if not labelled[parts == "train"].any():
        raise ValueError(f"{photos.root}: no labelled real photo in the train part; nothing to learn from")
    mix = mixed_rows(
        labelled, parts, utk_rows, n_utk, share, seed_of(f"real-mix-{split}", int(cfg["seed"])), domain > 0
    )
    rows, real_train, real_val, blank_train, n_mix = mix.rows, mix.real_train, mix.real_val, mix.blank_train, mix.n_mix
    real_images = torch.from_numpy(photos.resized(side))
    missing = torch.full((len(photos),), MISSING, dtype=torch.int64)
    bank = Bank(
        torch.cat([utk.images, real_images]),
        torch.cat([utk.age, missing]),
        torch.cat([utk.sex, torch.from_numpy(photos.sex)]),
        torch.cat([utk.race, torch.from_numpy(photos.race)]),
        torch.cat([utk.age_bucket, missing]),
    )
    bs = batch_size(cfg, rc, len(rows["train"]))
    say(
        f"[finetune real/{split}] {len(real_train)} real masked photos + {n_mix} UTKFace faces with random masks "
        f"(real share {share:.2f}); validation {len(real_val)} real + {len(utk_rows['val'])} UTKFace; "
        f"{rc['epochs']} epochs from {init}, batch {bs}"
        + (f"; domain-adversarial head (weight {domain:g}) also on {len(blank_train)} blank photos" if domain else "")
    )
    module = started_module(cfg, run, rc, 3, init, init_path)
    if domain > 0:
        module.domain = DomainAdversary(module.model.feature_dim, n_utk, domain)
    paper = paper_masked_faces(cfg, run, faces.names)
    dist = distribution(cfg)
    module.attach(
        bank,
        resident=bool(cfg["data"].get("resident")),
        masker=RealRowsKeepTheirMasks(RandomMasker(utk.images, points, dist, int(cfg["seed"]) + 7, paper), n_utk),
    )
    info = {
        "condition": REAL,
        "split": split,
        "approach": "multitask",
        "profile": cfg.get("profile"),
        "init": init,
        "init_model": init_model_entry(run, init, init_path),
        "trained_on": "UTKFace faces with random masks + real photos of masked faces",
        "real_photos": {
            "source": photos.meta.get("source"),
            "train": int(len(real_train)),
            "val": int(len(real_val)),
            "share": share,
            "utk_faces": int(n_mix),
            "domain_adversarial": domain,
            "blank_train": int(len(blank_train)),
            "people": sorted({p for p, t in zip(photos.person, parts) if p and t == "train"}),
        },
        "mask_distribution": dist.to_dict(),
        "test_mask": {"style": "a", "color": "white", "cache": "masked"},
        "weight_mix": None,  # the fine-tuned weights as they are, unless the mix below replaces this
    }
    return fit_section(cfg, module, rows, target, rc, 2, bs, info, finish=_weight_mix(cfg, rc, init, module, rows))


def _weight_mix(cfg: dict, rc: dict, init: str, module: Any, rows: dict[str, np.ndarray]) -> Any:
    """The fit's last step when ``real.weight_mix`` lists alphas: the fine-tuned weights mixed with the start
    attacker's, the mix chosen on the validation rows (:mod:`maskprivacy.training.weight_mix`). None (no
    step) when off, without validation rows, or when the start is not an attacker (``pretrain``).

    Called before the fit, while ``module`` still holds the start attacker's weights (loaded from its
    bundle by ``started_module``): they are kept from there rather than read from disk again."""
    from maskprivacy.training.weight_mix import choose_mix, mix_grid

    grid = mix_grid(rc)
    if not grid or init in NO_BUNDLE or not len(rows["val"]):
        return None
    start = {k: v.detach().clone() for k, v in module.model.state_dict().items()}
    eval_bs = int(cfg["eval"]["batch_size"])

    def finish(module: Any) -> dict[str, Any]:
        record = choose_mix(module, start, rows["val"], eval_bs, grid)
        say(
            f"[finetune real] weight mix with the {init} attacker: alpha {record['alpha']:g} (validation loss {record['val_loss']})"
        )
        return {"weight_mix": {**record, "start": init}}

    return finish
