"""One cell of a table of occluders (or mask styles) by attacker: what the attacker reads, and its PVI.

``privacy/occlusions.py`` and ``privacy/by_style.py`` both bootstrap every cell's per-face scores
together (one column per task, in ``tasks.TASKS`` order) and report each cell the same way; the
cell is written once here so that the two tables keep one shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from maskprivacy.bootstrap import percentile_interval
from maskprivacy.privacy.pvi import PVIResult
from maskprivacy.tasks import TASKS


def face_scores(df: pd.DataFrame) -> list[np.ndarray]:
    """Per face and task (``tasks.TASKS`` order): a hit (1/0) of a class task, the absolute error of
    age in years; their means are the accuracies and the MAE."""
    out = []
    for task in TASKS.values():
        true, pred = (df[c].to_numpy(float) for c in task.columns)
        out.append((true == pred).astype(float) if task.is_classification else np.abs(pred - true))
    return out


def reading_cell(point: np.ndarray, boot: np.ndarray, start: int, level: float, pvi: PVIResult) -> dict[str, Any]:
    """Per task, its metric (the mean of score column ``start + n``) with its bootstrap interval, then
    the masked condition's PVI, and the reduction from the unmasked one when ``pvi`` has it."""
    cell: dict[str, Any] = {
        t: {task.metric: float(point[start + n]), "ci": percentile_interval(boot[:, start + n], level)}
        for n, (t, task) in enumerate(TASKS.items())
    }
    cell.update(
        pvi=pvi.pvi("masked"),
        pvi_ci=pvi.conditions["masked"]["pvi_ci"],
        reduction=pvi.reduction,
        reduction_ci=pvi.reduction_ci if pvi.reduction is not None else None,
    )
    return cell


__all__ = ["face_scores", "reading_cell"]
