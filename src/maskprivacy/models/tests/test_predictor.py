"""The Predictor bundle: save an untrained model, load it back, predict the contract's shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from maskprivacy.models.factory import age_to_target, create_model, target_to_age
from maskprivacy.models.predictor import Predictor, load_run_predictors


def _predictor(tasks=("sex", "race", "age", "age_bucket"), masked=True, tta=True) -> Predictor:
    torch.manual_seed(0)
    net = create_model("resnet18", tasks, stem="imagenet")
    return Predictor(
        net,
        arch="resnet18",
        stem="imagenet",
        input_size=48,
        crop=(0.05, 0.05, 0.95, 0.95),
        masked=masked,
        tta=tta,
        device="cpu",
    )


def test_save_load_predict_roundtrip(tmp_path):
    p = _predictor()
    faces = np.random.default_rng(0).integers(0, 256, size=(5, 200, 200, 3), dtype=np.uint8)
    before = p.predict(faces, batch_size=2)
    run = tmp_path / "RUN"
    p.save(run / "train" / "masked_uniform" / "model.pt")
    q = Predictor.load(run / "train" / "masked_uniform" / "model.pt")
    assert q.tasks == ("sex", "race", "age", "age_bucket") and q.masked and q.input_size == 48
    after = q.predict(faces)
    assert after["sex"].shape == (5, 2) and after["race"].shape == (5, 5)
    assert after["age_bucket"].shape == (5, 7) and after["age"].shape == (5,)
    for t in before:
        np.testing.assert_allclose(before[t], after[t], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(after["race"].sum(1), 1.0, atol=1e-5)
    assert np.all((after["age"] >= 0) & (after["age"] <= 116))
    assert set(load_run_predictors(run)) == {("masked", "uniform")}


def test_predict_any_size_and_single_image():
    p = _predictor(tasks=("sex",), tta=False)
    one = p.predict(np.full((64, 64, 3), 128, np.uint8))
    assert set(one) == {"sex"} and one["sex"].shape == (1, 2)
    mixed = p.predict(
        [np.zeros((100, 100, 3), np.uint8), np.zeros((64, 64, 3), np.uint8), np.zeros((100, 100, 3), np.uint8)]
    )
    assert mixed["sex"].shape == (3, 2)
    np.testing.assert_allclose(mixed["sex"][0], mixed["sex"][2], atol=1e-6)
    with pytest.raises(ValueError):
        p.predict(np.zeros((2, 64, 64, 3), np.float32))


def test_bad_bundle_is_refused(tmp_path):
    torch.save({"format": "other"}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a maskprivacy predictor"):
        Predictor.load(tmp_path / "x.pt")
    with pytest.raises(FileNotFoundError):
        Predictor.load(tmp_path / "missing.pt")


def test_age_target_roundtrip():
    ages = torch.tensor([0.0, 1.0, 30.0, 60.0, 116.0])
    assert torch.allclose(target_to_age(age_to_target(ages)), ages)
    assert torch.allclose(age_to_target(torch.tensor([60.0, 120.0])), torch.tensor([0.0, 1.0]))
