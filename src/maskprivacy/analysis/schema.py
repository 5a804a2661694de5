"""What an analysis returns, typed once: the analyzer builds these, ``analyze --json`` dumps them and the
web API publishes them as its response schema.

The module sits below both the analyzer and the plain-language summary, so neither imports the other
for its types. Keys a model cannot fill (a task it was not trained for, a confidence change without
probabilities) are left out of the dump rather than written as null, as the JSON output has always done.
"""

from __future__ import annotations

import base64
from typing import Any, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from maskprivacy.data.imageio import encode_jpeg
from maskprivacy.tasks import CLASS_TASKS


def _absent(v: Any) -> bool:
    return v is None


class ClassReading(BaseModel):
    """One class task as a model read it."""

    label: str
    index: int
    confidence: Optional[float] = Field(None, description="probability of the label (0-1)")
    probabilities: Optional[dict[str, float]] = None


class AgeReading(BaseModel):
    years: float


class Reading(BaseModel):
    """What one model read from one face; a task the model lacks is left out."""

    model: str = Field(description="which model read the face, e.g. unmasked_uniform")
    sex: Optional[ClassReading] = Field(None, exclude_if=_absent)
    race: Optional[ClassReading] = Field(None, exclude_if=_absent)
    age_bucket: Optional[ClassReading] = Field(None, exclude_if=_absent)
    age: Optional[AgeReading] = Field(None, exclude_if=_absent)


class ClassChange(BaseModel):
    """What the mask did to a class task: the label before and after, and the bare label's probability."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: str = Field(alias="from")
    to: str
    changed: bool
    confidence_change: Optional[float] = Field(
        None,
        exclude_if=_absent,
        description="change in the probability of the bare reading's label (absent without probabilities)",
    )


class AgeChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: float = Field(alias="from")
    to: float
    delta_years: float


class Change(BaseModel):
    """What the mask changed, per attribute both readings have."""

    sex: Optional[ClassChange] = Field(None, exclude_if=_absent)
    race: Optional[ClassChange] = Field(None, exclude_if=_absent)
    age_bucket: Optional[ClassChange] = Field(None, exclude_if=_absent)
    age: Optional[AgeChange] = Field(None, exclude_if=_absent)

    def class_changes(self) -> dict[str, ClassChange]:
        """The class tasks that both readings have, in task order."""
        return {t: c for t in CLASS_TASKS if (c := getattr(self, t)) is not None}


class Images(BaseModel):
    face: str = Field(description="the aligned face, a JPEG data URL")
    masked: Optional[str] = Field(None, description="the same face with the digital mask, a JPEG data URL")


class Face(BaseModel):
    """One face: where it is, whether it already wore a mask, and the two readings."""

    box: list[int] = Field(description="left, top, right, bottom in photo pixels")
    detector: str
    detector_score: float
    already_masked: bool
    masked_reason: str
    mask_probability: Optional[float] = Field(
        None, description="the run's mask detector's P(masked) when it decided (null: told, or the colour check)"
    )
    alignment: str
    beyond_frame: Optional[float] = Field(
        None,
        description="share of the aligned face crop that lies beyond the photo (0: all in frame; a close-up: more)",
    )
    as_is: Optional[Reading] = Field(None, description="the face as photographed")
    masked: Optional[Reading] = Field(None, description="the face with the digital mask")
    change: Optional[Change] = Field(None, description="what the mask changed, per attribute")
    notes: list[str] = []
    images: Optional[Images] = Field(None, description="the aligned and masked faces, when asked for")


class Photo(BaseModel):
    """All faces of one photo (largest first), plus a plain-language summary."""

    width: int
    height: int
    model: str
    mask_style: Optional[str]
    mask_color: str
    n_faces: int
    faces: list[Face]
    summary: str = Field("", description="a short plain-language summary")
    notes: list[str] = []


class FaceResult(Face):
    """A :class:`Face` as the analyzer hands it to Python callers: with the pixels it read (never dumped)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    crop: np.ndarray = Field(exclude=True, repr=False)  # the aligned face (200x200 RGB)
    # The same face with the digital mask (or, for a real mask painted over, as the attacker read it).
    masked_crop: Optional[np.ndarray] = Field(None, exclude=True, repr=False)

    def to_dict(self, images: bool = False) -> dict[str, Any]:
        """The face as JSON data; ``images`` adds the crops as JPEG data URLs."""
        d = self.model_dump(mode="json", exclude={"images"})
        if images:
            d["images"] = Images(
                face=data_url(self.crop),
                masked=data_url(self.masked_crop) if self.masked_crop is not None else None,
            ).model_dump()
        return d


class PhotoResult(Photo):
    """A :class:`Photo` whose faces carry their crops; iterable and indexable over its faces."""

    faces: list[FaceResult]

    def __len__(self) -> int:
        return len(self.faces)

    def __iter__(self):  # type: ignore[override]  # over the faces, not pydantic's (field, value) pairs
        return iter(self.faces)

    def __getitem__(self, i: int) -> FaceResult:
        return self.faces[i]

    def to_dict(self, images: bool = False) -> dict[str, Any]:
        d = self.model_dump(mode="json", exclude={"faces"})
        d = {k: d[k] for k in ("width", "height", "model", "mask_style", "mask_color", "n_faces")}
        d["faces"] = [f.to_dict(images) for f in self.faces]
        d["summary"] = self.summary
        d["notes"] = list(self.notes)
        return d


def data_url(rgb: np.ndarray) -> str:
    """An RGB array as a JPEG data URL (the page shows it without a second request)."""
    return "data:image/jpeg;base64," + base64.b64encode(encode_jpeg(rgb, quality=90)).decode("ascii")
