"""Out-of-fold figures on realmask-dev: the entry realmask.json gets, and paired differences."""

from __future__ import annotations

import numpy as np
import pytest

from maskprivacy.analysis.dev_cv import cv_entry, paired_difference


def _rows(truth: list[int], prob_female: list[float]) -> list[dict]:
    return [
        {
            "path": f"images/p{i // 2:03d}_{i}.jpg",  # two photos per person
            "found": 1,
            "model": "fold_0",
            "beyond_frame": 0.5,
            "sex_true": t,
            "sex_pred": int(p > 0.5),
            "sex_prob_female": p,
            "sex_prob_male": 1 - p,
            "race_true": None,
            "race_pred": 3,
        }
        for i, (t, p) in enumerate(zip(truth, prob_female))
    ]


TRUTH = [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]


def test_the_same_reading_differs_by_nothing() -> None:
    a = _rows(TRUTH, list(np.linspace(0.1, 0.9, len(TRUTH))))
    d = paired_difference(a, a, n_boot=200)
    assert d["balanced_accuracy"] == 0.0 and d["auc"] == 0.0
    assert d["balanced_ci"] == [0.0, 0.0] and d["units"] == 6


def test_a_perfect_reading_against_a_reversed_one_known_answer() -> None:
    wrong = _rows(TRUTH, [0.9 if t == 0 else 0.1 for t in TRUTH])
    right = _rows(TRUTH, [0.1 if t == 0 else 0.9 for t in TRUTH])
    d = paired_difference(wrong, right, n_boot=200)
    assert d["balanced_accuracy"] == pytest.approx(1.0) and d["auc"] == pytest.approx(1.0)
    assert d["balanced_p"] == 0.0
    with pytest.raises(ValueError, match="same photos in the same order"):
        paired_difference(wrong, right[::-1])


def test_the_cross_validated_entry_says_so_and_resamples_people() -> None:
    rows = _rows(TRUTH, [0.2 if t == 0 else 0.7 for t in TRUTH])
    folds = {"k": 3, "photos": [{"path": r["path"], "person": r["path"][7:11], "fold": 0} for r in rows]}
    e = cv_entry(rows, folds, n_boot=100)
    assert e["cross_validated"]["k"] == 3 and e["cross_validated"]["people"] == 6
    assert e["sex"]["balanced_accuracy"] == 1.0 and e["sex"]["auc"] == 1.0
    assert e["sex"]["resampled"] == "6 people" and e["n"] == len(rows)
    assert e["framing"]["some"]["n"] + e["framing"]["most"]["n"] + e["framing"]["none"]["n"] == len(rows)
