"""Test faces without any photo: the truth columns of a predictions.csv, drawn at random.

The PVI's unit tests and its benchmark (``scripts/bench_pvi.py``) need the same thing, a table of
labelled faces with UTKFace-like class shares to put predictions beside; it is drawn once here so
both measure the computation on the same kind of faces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from maskprivacy.data.labels import FaceLabels


def synthetic_truth(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` faces named ``f0``.. with random sex, race (half White), age (1-79) and its bucket:
    the ``name`` and ``<task>_true`` columns of a predictions.csv, the same for the same ``seed``."""
    rng = np.random.default_rng(seed)
    age = rng.integers(1, 80, n)
    return pd.DataFrame(
        {
            "name": [f"f{i}" for i in range(n)],
            "sex_true": rng.integers(0, 2, n),
            "race_true": rng.choice(5, n, p=[0.5, 0.2, 0.1, 0.1, 0.1]),
            "age_true": age,
            "age_bucket_true": [FaceLabels(int(a), 0, 0).age_bucket for a in age],
        }
    )


__all__ = ["synthetic_truth"]
