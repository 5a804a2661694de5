"""The words every stage shares and the one map of a run folder.

A run folder (``RUN/``) is the contract between stages: the masking run is read by the cache, the
cache by training, ``train/`` by the privacy analysis, the analyzer and the report. Each path is
spelled here once, so a stage that writes a file and the stages that read it cannot drift apart.

>>> from pathlib import Path
>>> r = RunLayout(Path("RUN"))
>>> r.split_csv("uniform").as_posix(), r.train_dir("masked", "random").as_posix()
('RUN/splits/uniform.csv', 'RUN/train/masked_random')
>>> check_choice("split", "paper", SPLITS)
Traceback (most recent call last):
...
ValueError: split 'paper': choose from uniform, random
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

__all__ = [
    "CONDITIONS",
    "ROBUST",
    "REAL",
    "ADAPTIVE",
    "MASKED_FACE_CONDITIONS",
    "TRAIN_CONDITIONS",
    "SPLITS",
    "PARTS",
    "PREDICTIONS",
    "VAL_PREDICTIONS",
    "RunLayout",
    "check_choice",
]

#: The two kinds of test faces: with the paper's digital mask ("a", white) and bare.
CONDITIONS: tuple[str, ...] = ("masked", "unmasked")
#: The mask-robust attacker: trained on random masks of every style, tested on the masked faces.
ROBUST = "robust"
#: The real-mask attacker: the mask-robust attacker also trained on real photos of masked faces
#: (``reproduce --real-masks-train DIR``); tested on the masked faces like the other two.
REAL = "real"
#: The adaptive attacker: the mask-robust one trained further on random occluders (sunglasses, caps,
#: hoods, blur...) over random masks (training/stage_adaptive.py); tested on the masked faces too.
ADAPTIVE = "adaptive"
#: The attackers that read masked faces (all tested on the paper's mask "a").
MASKED_FACE_CONDITIONS: tuple[str, ...] = ("masked", ROBUST, REAL, ADAPTIVE)
#: What ``train --condition`` accepts (one attacker per entry).
TRAIN_CONDITIONS: tuple[str, ...] = (*CONDITIONS, ROBUST)
#: The paper's uniform split (its headline) and a seeded random one.
SPLITS: tuple[str, ...] = ("uniform", "random")
#: The parts of a split.
PARTS: tuple[str, ...] = ("train", "val", "test")
#: An attacker folder's predictions on its split's test faces, and on its validation faces (what an
#: ensemble of attackers is fitted on; never the test faces).
PREDICTIONS = "predictions.csv"
VAL_PREDICTIONS = "val_predictions.csv"


def check_choice(what: str, value: str, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``, else a ValueError that lists them (CLI and API alike)."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{what} {value!r}: choose from {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class RunLayout:
    """Where each stage's outputs live inside one run folder."""

    root: Path

    @classmethod
    def of(cls, run: str | os.PathLike) -> "RunLayout":
        return cls(Path(run))

    # masking, data and splits ----------------------------------------------------------------
    @property
    def masks(self) -> Path:
        """The masking run (``maskprivacy mask --out``) that reproduce makes."""
        return self.root / "masks"

    @property
    def splits(self) -> Path:
        return self.root / "splits"

    def split_csv(self, split: str) -> Path:
        return self.splits / f"{split}.csv"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def cache_dir(self, condition: str, size: int) -> Path:
        """The decoded images of one condition at ``size`` pixels (``training.cache``)."""
        return self.cache / f"{condition}_s{int(size)}"

    @property
    def real(self) -> Path:
        return self.root / "real"

    def real_photos(self, name: str) -> Path:
        """A folder of real photos found and aligned once (``training.real_photos``): ``train`` is
        ``--real-masks-train``."""
        return self.real / name

    @property
    def readers_json(self) -> Path:
        """Which model reads which face in ``analyze``/``evaluate``/``serve``, chosen on validation."""
        return self.root / "readers.json"

    def pretrain_dir(self, condition: str) -> Path:
        """MoCo v2 of one condition: backbone.pt, pretrain.json, checkpoints/, logs/."""
        return self.root / "pretrain" / condition

    # attackers -------------------------------------------------------------------------------
    @property
    def train(self) -> Path:
        return self.root / "train"

    def train_dir(self, condition: str, split: str) -> Path:
        """One CNN attacker: metrics.json, predictions.csv, confusion PNGs, model.pt."""
        return self.train / f"{condition}_{split}"

    def family_run(self, family: str) -> "RunLayout":
        """Another attacker family's own run folder (e.g. RUN/facenet/), laid out like this one."""
        return RunLayout(self.root / family)

    def seed_run(self, seed: int) -> "RunLayout":
        """The training stages repeated with another training seed (``reproduce --seeds N``): a run
        folder that links this one's masks, caches and splits, so it is tested on the same faces."""
        return RunLayout(self.root / "seeds" / f"seed_{seed}")

    def seed_runs(self) -> list["RunLayout"]:
        """Every repeat made by ``reproduce --seeds N``, in seed order."""
        d = self.root / "seeds"
        found = [p for p in d.glob("seed_*") if p.is_dir() and p.name[5:].isdigit()] if d.is_dir() else []
        return [RunLayout(p) for p in sorted(found, key=lambda p: int(p.name[5:]))]

    def dlib_dir(self, condition: str, split: str) -> Path:
        """One dlib-descriptor attacker (``training.dlib_attacker``)."""
        return self.root / f"dlib_{condition}_{split}"

    @property
    def mask_detector_dir(self) -> Path:
        """The masked-or-bare detector (``training.mask_detector``): model.pt, metrics.json."""
        return self.root / "mask_detector"

    @property
    def mask_detector(self) -> Path:
        return self.mask_detector_dir / "model.pt"

    # analysis and report ---------------------------------------------------------------------
    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def stages_json(self) -> Path:
        return self.root / "stages.json"

    @property
    def styles_json(self) -> Path:
        return self.root / "styles.json"

    @property
    def realmask_json(self) -> Path:
        return self.root / "realmask.json"

    @property
    def occlusions_json(self) -> Path:
        """What each occluder hides from the naive and the adaptive attackers (privacy/occlusions.py)."""
        return self.root / "occlusions.json"

    @property
    def occlusions_dir(self) -> Path:
        """The protection stage's reusable work: validation scores of the readers of occluded faces."""
        return self.root / "occlusions"

    @property
    def pvi_json(self) -> Path:
        return self.root / "pvi.json"

    @property
    def results_json(self) -> Path:
        return self.root / "results.json"
