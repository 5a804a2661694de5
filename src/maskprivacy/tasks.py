"""What an attacker reads from a face, defined once: sex, race, age bucket and age.

Each task has a name (the key in metrics.json, results.json and the predictions' ``<task>_true`` /
``<task>_pred`` columns), a kind (classification or regression), its classes in the order the
models output them, and the metric its figures are read by (accuracy or the mean absolute error).
Every stage that loops over tasks takes them from here, so a task's name, classes or metric is
changed in one place.

>>> [t.name for t in TASKS.values()]
['sex', 'race', 'age_bucket', 'age']
>>> CLASS_TASKS, AGE.metric, len(RACE.classes)
(('sex', 'race', 'age_bucket'), 'mae', 5)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SEX_NAMES: tuple[str, ...] = ("male", "female")
RACE_NAMES: tuple[str, ...] = ("White", "Black", "Asian", "Indian", "Others")
#: The paper's seven age buckets (inclusive bounds); the last one is open-ended.
AGE_BUCKETS: tuple[tuple[int, int], ...] = ((0, 3), (4, 12), (13, 19), (20, 30), (31, 45), (46, 60), (61, 200))
AGE_BUCKET_NAMES: tuple[str, ...] = ("0-3", "4-12", "13-19", "20-30", "31-45", "46-60", "61+")
#: The oldest age UTKFace labels (years): a label above it is refused, a predicted age is clamped to it.
MAX_AGE = 116


@dataclass(frozen=True)
class Task:
    """One thing an attacker reads: its name, kind, classes (none for a regression) and metric."""

    name: str
    kind: Literal["classification", "regression"]
    classes: tuple[str, ...]
    metric: Literal["accuracy", "mae"]

    @property
    def is_classification(self) -> bool:
        return self.kind == "classification"

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger value of its metric is a better reading (accuracy; not an error)."""
        return self.metric == "accuracy"

    @property
    def outputs(self) -> int:
        """How many numbers a network's head for this task outputs."""
        return len(self.classes) if self.is_classification else 1

    @property
    def columns(self) -> tuple[str, str]:
        """Its (truth, prediction) columns in predictions.csv."""
        return f"{self.name}_true", f"{self.name}_pred"


SEX = Task("sex", "classification", SEX_NAMES, "accuracy")
RACE = Task("race", "classification", RACE_NAMES, "accuracy")
AGE_BUCKET = Task("age_bucket", "classification", AGE_BUCKET_NAMES, "accuracy")
AGE = Task("age", "regression", (), "mae")

#: Every task by name, in the order tables and JSON list them.
TASKS: dict[str, Task] = {t.name: t for t in (SEX, RACE, AGE_BUCKET, AGE)}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)
#: The class tasks (every task but age), in the same order.
CLASS_TASKS: tuple[str, ...] = tuple(n for n, t in TASKS.items() if t.is_classification)
#: The class tasks and their class names, in the order the models output them.
CLASS_NAMES: dict[str, tuple[str, ...]] = {n: TASKS[n].classes for n in CLASS_TASKS}
#: The order a network creates its heads in (and per-task training runs): the order trained models
#: were built with, kept because it fixes which random numbers initialise which head.
HEAD_ORDER: tuple[str, ...] = ("sex", "race", "age", "age_bucket")
