"""The attackers that read faces for one run and split, loaded once: the bare-face, digital-mask and
real-mask readers, either the ones the run chose on validation (``RUN/readers.json``) or the folder's own."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from maskprivacy.analysis.routing import READER_WORDS, READERS, ROLES, check_real_mask, reader_for
from maskprivacy.layout import SPLITS, RunLayout
from maskprivacy.models.predictor import Predictor, load_run_predictors

DEFAULT_MODEL = os.environ.get("MASKPRIVACY_MODEL", "runs/cpu")


class NoModelsError(FileNotFoundError):
    """The run directory has no trained models to analyse with."""


def _no_models_message(run: Path, split: str) -> str:
    return (
        f"no trained models in {run}: expected {run}/train/<unmasked|masked|robust>_{split}/model.pt. "
        f"Train them with `maskprivacy reproduce --profile cpu --out {run}`, or pass --model RUN_DIR "
        f"(a run directory of the attacker stage; default: $MASKPRIVACY_MODEL or runs/cpu)."
    )


def chosen_roles(run: Path, split: str) -> dict[str, dict[str, Any]] | None:
    """The readers chosen on validation for ``split`` (``RUN/readers.json``), when the run has them and
    every chosen model is still there (a run copied without them reads with its own models)."""
    path = RunLayout(run).readers_json
    if not path.is_file():
        return None
    try:
        roles = json.loads(path.read_text())["splits"][split]
    except (ValueError, KeyError, TypeError):
        return None
    if not roles or not all((run / r["model"]).is_file() for r in roles.values()):
        return None
    return roles


def training_side(run: Path, condition: str, pred: Predictor | None) -> int | None:
    """The side (px) of the faces the model was trained on, when the run says so.

    The attacker stage trains on a cache of UTKFace crops resized once with area averaging
    (``RUN/cache/<condition>_s<S>``). Resizing an aligned crop the same way before the model gives
    it the pixels it was trained on, and is cheaper than handing it 200-px crops.
    """
    if pred is None:
        return None
    if pred.info.get("cache_size"):
        return int(pred.info["cache_size"])
    sizes = {
        int(m.group(1))
        for d in RunLayout(run).cache.glob(f"{condition}_s*")
        if (m := re.fullmatch(rf"{condition}_s(\d+)", d.name)) and d.is_dir()
    }
    return sizes.pop() if len(sizes) == 1 else None


class ModelSet:
    """The attackers that read faces for one run and split: bare-face, digital-mask and real-mask readers.

    ``chosen`` (default): when the run has ``readers.json`` (the reproduce stage ``readers``,
    :mod:`maskprivacy.analysis.reader_choice`) and ``real_mask`` is ``auto``, each slot holds the model
    chosen on validation for that role, whatever its family: ``unmasked`` the bare-face reader,
    ``masked`` the digital-mask reader, ``robust`` the real-mask reader. Otherwise (no readers.json,
    ``chosen=False``, or a forced ``real_mask``) the slots hold this folder's own conditions.
    """

    def __init__(
        self,
        run: str | os.PathLike,
        split: str = "uniform",
        device: str | None = None,
        real_mask: str = "auto",
        chosen: bool = True,
    ):
        """``real_mask``: which attacker reads faces that already wear a mask (:func:`.routing.reader_for`)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        self.real_mask = check_real_mask(real_mask)
        self.run = Path(run)
        if not self.run.is_dir():
            raise NoModelsError(_no_models_message(self.run, split))
        self.split = split
        self.labels: dict[str, str] = {}  # slot -> the chosen model's name (chosen readers only)
        self.words: dict[str, str] = dict(READER_WORDS)
        roles = chosen_roles(self.run, split) if chosen and real_mask == "auto" else None
        self.predictors: dict[str, Predictor] = {}
        if roles:
            loaded: dict[str, Predictor] = {}  # one model may be chosen for two roles: load it once
            for role, r in roles.items():
                if role not in ROLES:  # a role this version does not route faces to (a newer run's)
                    continue
                slot, what = ROLES[role]
                if r["model"] not in loaded:
                    loaded[r["model"]] = Predictor.load(self.run / r["model"], device)
                self.predictors[slot] = loaded[r["model"]]
                self.labels[slot] = str(r["name"])
                self.words[slot] = f"{r['attacker']}, chosen on validation to read {what}"
        else:
            preds = load_run_predictors(self.run, device=device)
            self.predictors = {c: preds[(c, split)] for c in READERS if (c, split) in preds}
        if not self.predictors:
            raise NoModelsError(_no_models_message(self.run, split))
        if real_mask != "auto" and real_mask not in self.predictors:
            raise NoModelsError(
                f"{self.run} has no {real_mask}_{split} model to read faces that wear a mask "
                f"(it has: {', '.join(self.names()) or 'none'})"
            )
        self.untrained = any(p.info.get("untrained") for p in self.predictors.values())
        self.side = {c: training_side(self.run, c, p) for c, p in self.predictors.items()}

    @property
    def unmasked(self) -> Predictor | None:
        return self.predictors.get("unmasked")

    @property
    def masked(self) -> Predictor | None:
        return self.predictors.get("masked")

    @property
    def robust(self) -> Predictor | None:
        return self.predictors.get("robust")

    def condition(self, which: bool | str) -> str:
        """A condition name; ``False``/``True`` (bare/masked, the older interface) read as unmasked/masked."""
        if isinstance(which, str):
            if which not in READERS:
                raise ValueError(f"condition must be one of {', '.join(READERS)}, got {which!r}")
            return which
        return "masked" if which else "unmasked"

    def name(self, which: bool | str) -> str:
        c = self.condition(which)
        return self.labels.get(c, f"{c}_{self.split}")

    def get(self, which: bool | str) -> Predictor | None:
        return self.predictors.get(self.condition(which))

    def names(self) -> list[str]:
        """The models this run has, e.g. ``["unmasked_uniform", "masked_uniform", "robust_uniform"]``."""
        return [self.name(c) for c in READERS if c in self.predictors]

    def reader(self, already_masked: bool, digital: bool = False, covered: bool = False) -> str:
        """The condition whose model reads this face (:func:`.routing.reader_for` with this run's models)."""
        return reader_for(already_masked, digital, tuple(self.predictors), self.real_mask, covered)
