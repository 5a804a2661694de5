"""Metrics against hand-computed values; predictions.csv follows the contract."""

from __future__ import annotations

import csv

import numpy as np

from maskprivacy.training.metrics import (
    age_metrics,
    classification_metrics,
    compute_metrics,
    predictions_table,
    write_predictions,
)


def test_classification_metrics_by_hand():
    true = np.array([0, 0, 0, 1])
    pred = np.array([0, 0, 1, 1])
    m = classification_metrics(true, pred, ("male", "female"))
    assert m["accuracy"] == 0.75
    assert m["per_class"] == {"male": 2 / 3, "female": 1.0}
    assert abs(m["balanced_accuracy"] - (2 / 3 + 1) / 2) < 1e-12
    assert m["confusion"] == [[2, 1], [0, 1]]


def test_age_metrics_by_hand():
    m = age_metrics(np.array([10, 20, 30]), np.array([12.0, 20.0, 26.0]))
    assert abs(m["mae"] - 2.0) < 1e-12 and abs(m["rmse"] - np.sqrt(20 / 3)) < 1e-12


def test_predictions_and_breakdown(tmp_path):
    truth = {
        "sex": np.array([0, 1]),
        "race": np.array([2, 2]),
        "age_bucket": np.array([3, 6]),
        "age": np.array([25, 70]),
    }
    probs = {
        "sex": np.array([[0.9, 0.1], [0.2, 0.8]]),
        "race": np.eye(5)[[2, 0]],
        "age_bucket": np.eye(7)[[3, 3]],
        "age": np.array([27.0, 60.0]),
    }
    cols = predictions_table(["a.jpg", "b.jpg"], truth, probs)
    write_predictions(tmp_path / "p.csv", cols)
    with (tmp_path / "p.csv").open() as f:
        rows = list(csv.DictReader(f))
    head = list(rows[0])
    assert head[:9] == [
        "name",
        "sex_true",
        "sex_pred",
        "race_true",
        "race_pred",
        "age_bucket_true",
        "age_bucket_pred",
        "age_true",
        "age_pred",
    ]
    assert "sex_prob_1" in head and "race_prob_4" in head and "age_bucket_prob_6" in head
    assert rows[1]["race_pred"] == "0" and float(rows[1]["age_pred"]) == 60.0
    m = compute_metrics(cols)
    assert m["sex"]["accuracy"] == 1.0 and m["race"]["accuracy"] == 0.5 and m["age"]["mae"] == 6.0
    cells = {(b["sex"], b["age_bucket"]): b for b in m["breakdown"]}
    assert cells[("female", "61+")]["race_acc"] == 0.0 and cells[("female", "61+")]["age_mae"] == 10.0
    assert m["n_test"] == 2
