"""UTKFace labels, parsed from file names.

UTKFace encodes its labels in the name: ``[age]_[sex]_[race]_[datetime].jpg.chip.jpg``.
A few public files lack a field (e.g. ``61_1_20170109150557335.jpg.chip.jpg``); those must
be reported with a reason rather than dropped or, worse, silently mislabelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

# The tasks' class names and the age range are defined once, in maskprivacy.tasks; re-exported here,
# where the labels are parsed.
from maskprivacy.tasks import (  # noqa: F401
    AGE_BUCKET_NAMES,
    AGE_BUCKETS,
    CLASS_NAMES,
    MAX_AGE,
    RACE_NAMES,
    SEX_NAMES,
)

_NAME_RE = re.compile(r"^(?P<age>\d+)_(?P<sex>\d+)_(?P<race>\d+)_(?P<stamp>\d+)")


class LabelError(ValueError):
    """A file name that does not follow UTKFace's convention; the message says why."""


@dataclass(frozen=True)
class FaceLabels:
    """The labels of one UTKFace image, as numbers (never as sorted strings)."""

    age: int
    sex: int
    race: int

    @property
    def age_bucket(self) -> int:
        return age_to_bucket(self.age)


def age_to_bucket(age: int | float) -> int:
    """Index of the paper's 7-bucket age class (0-3, 4-12, 13-19, 20-30, 31-45, 46-60, 61+)."""
    if age < 0:
        raise ValueError(f"age must be >= 0, got {age}")
    for i, (lo, hi) in enumerate(AGE_BUCKETS):
        if age <= hi:
            return i
    return len(AGE_BUCKETS) - 1


def parse_name(name: str) -> FaceLabels:
    """Parse the labels from a UTKFace file name (a path is fine: only the base name is read).

    Raises :class:`LabelError` with a human-readable reason for malformed names.
    """
    base = PurePath(name).name
    fields = base.split(".")[0].split("_")
    m = _NAME_RE.match(base)
    if m is None:
        if len(fields) == 3 and all(f.isdigit() for f in fields):
            raise LabelError(
                f"name has 3 fields, expected age_sex_race_datetime (a field, likely race, is missing): {base}"
            )
        raise LabelError(f"name does not follow age_sex_race_datetime: {base}")
    age, sex, race = int(m["age"]), int(m["sex"]), int(m["race"])
    if not 0 <= age <= MAX_AGE:
        raise LabelError(f"age {age} outside 0-{MAX_AGE}: {base}")
    if sex not in (0, 1):
        raise LabelError(f"sex code {sex} is not 0 (male) or 1 (female): {base}")
    if not 0 <= race < len(RACE_NAMES):
        raise LabelError(f"race code {race} is not in 0-4: {base}")
    return FaceLabels(age=age, sex=sex, race=race)
