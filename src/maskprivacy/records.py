"""The records one stage hands to the next, typed once (pydantic), with one writer and one reader.

An attacker folder's ``metrics.json`` *is* its record: who the attacker is (:class:`AttackerRecord`,
under the key ``attacker``) and what it scored on its split's test faces. Every stage that trains or
fits an attacker (the CNN families' evaluation, the dlib-descriptor attacker, the ensemble) writes it
with :func:`write_metrics`, and discovery (``privacy.discovery``) reads it back with
:func:`read_attacker_metrics`, so which attacker a folder holds is read from the folder, never guessed
from its name. The masked-or-bare detector's ``metrics.json`` is :class:`MaskDetectorMetrics`.

The words (docs/ARCHITECTURE.md, "Glossary"): ``trained_on`` is the faces a model was trained on,
``test_faces`` the faces it is scored on, an *attacker* is a family trained on some faces (its
``name``, e.g. ``cnn_robust``), ``approach`` is multitask or per_task.

>>> r = AttackerRecord(name=attacker_name("cnn", "robust"), family="cnn", trained_on="robust", split="uniform")
>>> r.name, r.test_faces
('cnn_robust', 'masked')
>>> AttackerRecord(name="cnn", family="cnn", trained_on="bare", split="uniform")
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for AttackerRecord
...
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from maskprivacy.atomic import write_json
from maskprivacy.layout import CONDITIONS, MASKED_FACE_CONDITIONS, SPLITS, AttackerFolder, scored_on

__all__ = [
    "APPROACHES",
    "DEFAULT_FAMILY",
    "DLIB",
    "ENSEMBLE",
    "TRAINED_ON",
    "AttackerRecord",
    "AttackerMetrics",
    "MaskDetectorMetrics",
    "OldRecordError",
    "attacker_name",
    "write_metrics",
    "read_metrics",
    "read_attacker_metrics",
]

#: The paper-style CNN: the family whose masked/unmasked attackers compare with the paper.
DEFAULT_FAMILY = "cnn"
#: The attackers that are not a trained network: dlib's fixed descriptor with fitted heads, and the
#: ensemble of every other attacker (their family is their name).
DLIB = "dlib"
ENSEMBLE = "ensemble"
#: What a model can be trained on: the paper's mask "a", bare faces, random masks (robust), real masks,
#: random occluders over random masks (adaptive).
TRAINED_ON: tuple[str, ...] = tuple(dict.fromkeys((*CONDITIONS, *MASKED_FACE_CONDITIONS)))
#: One network for every task, or one network per task (the paper's).
APPROACHES: tuple[str, ...] = ("multitask", "per_task")

Approach = Literal["multitask", "per_task"]


def attacker_name(family: str, trained_on: str, approach: str = "multitask") -> str:
    """The attacker's name in results.json and the report: the family, with what it was trained on
    when that is not the faces it is tested on (``cnn_robust``, ``facenet_real``), and ``_per_task``
    for the per-task networks.

    >>> attacker_name("cnn", "masked"), attacker_name("facenet", "real"), attacker_name("cnn", "unmasked", "per_task")
    ('cnn', 'facenet_real', 'cnn_per_task')
    """
    name = family if trained_on in CONDITIONS else f"{family}_{trained_on}"
    return name if approach == "multitask" else f"{name}_{approach}"


class AttackerRecord(BaseModel):
    """Who an attacker folder holds; ``metrics.json["attacker"]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: results.json's key: ``cnn``, ``cnn_robust``, ``cnn_per_task``, ``facenet_real``, ``dlib``, ``ensemble``.
    name: str
    #: ``cnn``, ``facenet``, ``agenet`` (``training.config.FAMILIES``), ``dlib``, ``ensemble``.
    family: str
    #: The faces it was trained on; None for the ensemble (fitted on its members' validation outputs).
    trained_on: str | None
    #: The faces it reads (is scored on): ``masked`` (the paper's mask "a") or ``unmasked``; given,
    #: or what a model trained on ``trained_on`` is tested on (``layout.scored_on``).
    test_faces: str
    split: str
    approach: Approach = "multitask"

    @model_validator(mode="before")
    @classmethod
    def _default_test_faces(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("test_faces") and data.get("trained_on") is not None:
            data = {**data, "test_faces": scored_on(str(data["trained_on"]))}
        return data

    @model_validator(mode="after")
    def _check(self) -> "AttackerRecord":
        if self.trained_on is not None and self.trained_on not in TRAINED_ON:
            raise ValueError(f"trained_on {self.trained_on!r}: choose from {', '.join(TRAINED_ON)}")
        if self.test_faces not in CONDITIONS:
            raise ValueError(f"test_faces {self.test_faces!r}: choose from {', '.join(CONDITIONS)}")
        if self.split not in SPLITS:
            raise ValueError(f"split {self.split!r}: choose from {', '.join(SPLITS)}")
        return self


class AttackerMetrics(BaseModel):
    """An attacker folder's ``metrics.json``: its record, and its test metrics per task (``sex``,
    ``race``, ``age_bucket``: accuracy, balanced accuracy, per class, confusion; ``age``: MAE, RMSE;
    ``breakdown``), kept as the stage computed them."""

    model_config = ConfigDict(extra="allow")

    attacker: AttackerRecord
    n_test: int
    config: dict[str, Any] = Field(default_factory=dict)
    commit: str | None = None
    machine: dict[str, Any] | str | None = None
    wall_s: dict[str, float] = Field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON object, as the readers of metrics (results.json, the report) take it."""
        return self.model_dump(mode="python")


class MaskDetectorMetrics(BaseModel):
    """``RUN/mask_detector/metrics.json``: its uniform-split test faces' rates and how it was trained."""

    model_config = ConfigDict(extra="forbid")

    test: dict[str, Any]
    train_wall_s: float
    info: dict[str, Any]


class OldRecordError(ValueError):
    """A metrics.json written before attacker records: says what to rerun."""


def write_metrics(folder: str | os.PathLike, metrics: AttackerMetrics | MaskDetectorMetrics) -> Path:
    """Write ``folder``'s metrics.json (the one writer of that file); returns its path."""
    return write_json(AttackerFolder(Path(folder)).metrics, metrics.model_dump(mode="python"))


def read_metrics(path: str | os.PathLike) -> dict[str, Any]:
    """A metrics.json as a JSON object, with a clear error when it is missing or not JSON."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metrics file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return data


def read_attacker_metrics(path: str | os.PathLike) -> AttackerMetrics:
    """An attacker's metrics.json, checked; :class:`OldRecordError` when it has no record (written
    before records existed), ValueError when it is not an attacker's."""
    data = read_metrics(path)
    if not isinstance(data.get("attacker"), dict):
        raise OldRecordError(
            f"{path} was written before attacker records (it does not say which attacker it holds): "
            "rerun the stage that wrote it (maskprivacy reproduce --out RUN --force STAGE), or move it "
            "where reproduce writes that attacker"
        )
    try:
        return AttackerMetrics.model_validate(data)
    except ValidationError as e:
        raise ValueError(f"{path} is not an attacker's metrics: {e}") from None
