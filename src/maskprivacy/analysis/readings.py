"""A model's output for one face as a typed :class:`~.schema.Reading`, and what a mask changed between two."""

from __future__ import annotations

import numpy as np

from maskprivacy.analysis.schema import AgeChange, AgeReading, Change, ClassChange, ClassReading, Reading
from maskprivacy.data.labels import AGE_BUCKET_NAMES, CLASS_NAMES, age_to_bucket
from maskprivacy.tasks import CLASS_TASKS


def reading_of(out: dict[str, np.ndarray], i: int, model: str) -> Reading:
    """Row ``i`` of a predictor's output as labels, confidences and probabilities."""
    r: dict[str, object] = {"model": model}
    for t in CLASS_TASKS:
        if t in out:
            p = out[t][i].astype(float)
            k = int(np.argmax(p))
            r[t] = ClassReading(
                label=CLASS_NAMES[t][k],
                index=k,
                confidence=round(float(p[k]), 4),
                probabilities={n: round(float(v), 4) for n, v in zip(CLASS_NAMES[t], p)},
            )
    if "age" in out:
        years = float(out["age"][i])
        r["age"] = AgeReading(years=round(years, 1))
        if "age_bucket" not in r:  # a regression-only model still places the face in a bucket
            k = age_to_bucket(years)
            r["age_bucket"] = ClassReading(label=AGE_BUCKET_NAMES[k], index=k, confidence=None, probabilities=None)
    return Reading(**r)


def change_of(before: Reading | None, after: Reading | None) -> Change | None:
    """What the mask changed: per class task, the label and the probability of the bare reading."""
    if before is None or after is None:
        return None
    ch: dict[str, object] = {}
    for t in CLASS_TASKS:
        b, a = getattr(before, t), getattr(after, t)
        if b is None or a is None:
            continue
        delta = None
        if b.probabilities and a.probabilities:
            delta = round(a.probabilities[b.label] - b.probabilities[b.label], 4)
        ch[t] = ClassChange(from_=b.label, to=a.label, changed=b.label != a.label, confidence_change=delta)
    if before.age is not None and after.age is not None:
        ch["age"] = AgeChange(
            from_=before.age.years, to=after.age.years, delta_years=round(after.age.years - before.age.years, 1)
        )
    return Change(**ch)
