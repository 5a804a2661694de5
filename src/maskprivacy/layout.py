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
    "METRICS",
    "MODEL",
    "PREDICTIONS",
    "VAL_PREDICTIONS",
    "AttackerFolder",
    "RunLayout",
    "scored_on",
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
#: The files of an attacker folder (:class:`AttackerFolder`): its record and test metrics
#: (``maskprivacy.records``), its trained bundle, its predictions on its split's test faces, and on
#: its validation faces (what an ensemble of attackers is fitted on; never the test faces).
METRICS = "metrics.json"
MODEL = "model.pt"
PREDICTIONS = "predictions.csv"
VAL_PREDICTIONS = "val_predictions.csv"


def scored_on(trained_on: str) -> str:
    """The faces a model trained on ``trained_on`` is tested on: the mask-robust, real-mask and
    adaptive attackers read the paper's mask "a" exactly like the masked one (same faces, same pixels)."""
    return "masked" if trained_on in MASKED_FACE_CONDITIONS else trained_on


@dataclass(frozen=True)
class AttackerFolder:
    """The files of one attacker folder; each name is spelled here once."""

    path: Path

    @property
    def metrics(self) -> Path:
        """The attacker's record and test metrics (``maskprivacy.records.write_metrics``)."""
        return self.path / METRICS

    @property
    def model(self) -> Path:
        """The multi-task bundle (``models.predictor.Predictor``)."""
        return self.path / MODEL

    def task_model(self, task: str) -> Path:
        """One task's bundle of the per-task approach."""
        return self.path / f"{Path(MODEL).stem}_{task}{Path(MODEL).suffix}"

    @property
    def predictions(self) -> Path:
        return self.path / PREDICTIONS

    @property
    def val_predictions(self) -> Path:
        return self.path / VAL_PREDICTIONS

    def confusion_png(self, task: str) -> Path:
        return self.path / f"confusion_{task}.png"


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
    def data(self) -> Path:
        """What ``reproduce`` found in the data: manifest.csv, counts.json."""
        return self.root / "data"

    @property
    def manifest_csv(self) -> Path:
        return self.data / "manifest.csv"

    @property
    def counts_json(self) -> Path:
        return self.data / "counts.json"

    @property
    def reproduce_json(self) -> Path:
        """The settings ``reproduce`` made the run with (a resumed run must use the same)."""
        return self.root / "reproduce.json"

    @property
    def mask(self) -> Path:
        """The masking run (``maskprivacy mask --out``) that reproduce makes."""
        return self.root / "mask"

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
    def real_dev(self) -> Path:
        """realmask-dev's masked photos (``--real-masks``), aligned once when the real-mask training
        learns from its people under person folds (``real.dev_folds``; ``training.dev_folds``)."""
        return self.real_photos("dev")

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

    def train_dir(self, trained_on: str, split: str) -> Path:
        """One CNN attacker: metrics.json, predictions.csv, confusion PNGs, model.pt."""
        return self.train / f"{trained_on}_{split}"

    def attacker(self, trained_on: str, split: str, approach: str = "multitask") -> AttackerFolder:
        """A trained network's folder: the multi-task one, or its per-task networks in ``per_task/``."""
        d = self.train_dir(trained_on, split)
        return AttackerFolder(d if approach == "multitask" else d / approach)

    @property
    def real_folds(self) -> Path:
        """A family's real-mask fold models, each trained without one fold of realmask-dev's people
        (``training.dev_folds``), with folds.json and their out-of-fold readings."""
        return self.root / "real_folds"

    def real_fold(self, fold: int) -> AttackerFolder:
        """The fold model that never saw the people of ``fold``."""
        return AttackerFolder(self.real_folds / f"fold_{int(fold)}")

    @property
    def folds_json(self) -> Path:
        """Each realmask-dev photo's person and fold, and the fold models (``training.dev_folds``)."""
        return self.real_folds / "folds.json"

    @property
    def oof_predictions(self) -> Path:
        """Every realmask-dev photo read by the fold model that never saw its person (``analysis.dev_cv``)."""
        return self.real_folds / "oof_predictions.csv"

    def ensemble(self, test_faces: str, split: str) -> AttackerFolder:
        """The ensemble attacker of one kind of test faces and split (``privacy.ensemble``)."""
        return AttackerFolder(self.train / f"ensemble_{test_faces}_{split}")

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

    @property
    def dlib_cache(self) -> Path:
        """The dlib-descriptor attacker's face descriptors, computed once for every split."""
        return self.root / "dlib_cache"

    def dlib_dir(self, trained_on: str, split: str) -> Path:
        """One dlib-descriptor attacker (``training.dlib_attacker``)."""
        return self.root / f"dlib_{trained_on}_{split}"

    @property
    def mask_detector_dir(self) -> Path:
        """The masked-or-bare detector (``training.mask_detector``): model.pt, metrics.json."""
        return self.root / "mask_detector"

    @property
    def mask_detector(self) -> Path:
        return AttackerFolder(self.mask_detector_dir).model

    @property
    def mask_detector_metrics(self) -> Path:
        return AttackerFolder(self.mask_detector_dir).metrics

    # analysis and report ---------------------------------------------------------------------
    @property
    def figures(self) -> Path:
        return self.root / "figures"

    def figure(self, name: str) -> Path:
        """One of the run's figures: ``pipeline``, ``distributions``, ``styles``."""
        return self.figures / f"{name}.png"

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

    def occluded_val_json(self, split: str) -> Path:
        """Every masked-face attacker's score on ``split``'s occluded validation faces
        (privacy/occluded_readers.py), with the models it came from."""
        return self.occlusions_dir / f"val_{split}.json"

    @property
    def pvi_json(self) -> Path:
        return self.root / "pvi.json"

    @property
    def results_json(self) -> Path:
        return self.root / "results.json"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"
