"""A tiny training run with no ../shared: faces made from the portrait matplotlib ships (conftest.py).

Cache, splits, pretraining, fine-tuning and evaluation at smoke scale on 48 faces of one made-up
person: the figures mean nothing, the contract files and the split's promises are what is checked.
"""

from __future__ import annotations

import json

import numpy as np

from maskprivacy.models.predictor import load_run_predictors
from maskprivacy.training.config import apply_overrides, load_profile
from maskprivacy.training.pipeline import run_training
from maskprivacy.training.splits import read_split


def test_a_tiny_training_run_on_made_faces(made_faces, made_mask_run, tmp_path):
    cfg = apply_overrides(load_profile("smoke"), ["trainer.threads=1"])
    run = tmp_path / "RUN"
    run_training(cfg, made_faces, made_mask_run, run, conditions=("masked",), splits=("uniform",))
    d = run / "train" / "masked_uniform"
    m = json.loads((d / "metrics.json").read_text())
    split = read_split(run / "splits" / "uniform.csv")
    n_test = sum(v == "test" for v in split.values())
    assert m["n_test"] == n_test > 0 and len(split) == len(list(made_faces.iterdir()))
    for t, k in (("sex", 2), ("race", 5), ("age_bucket", 7)):
        confusion = np.asarray(m[t]["confusion"])
        assert confusion.shape == (k, k) and confusion.sum() == n_test
    lines = (d / "predictions.csv").read_text().splitlines()
    assert all(split[line.split(",")[0]] == "test" for line in lines[1:])  # scored on the test faces only
    # the bundle reads raw 200-px faces as the evaluation did
    p = load_run_predictors(run)[("masked", "uniform")]
    out = p.predict(np.zeros((2, 200, 200, 3), np.uint8))
    assert out["sex"].shape == (2, 2) and np.allclose(out["sex"].sum(1), 1, atol=1e-4)
