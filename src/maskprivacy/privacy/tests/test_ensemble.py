"""The ensemble attacker on a FAKE run: two noisy members whose errors are independent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from maskprivacy.privacy.discovery import discover
from maskprivacy.privacy.ensemble import ensemble_dir, ensemble_val_score, fit_ensemble, fit_ensembles, members
from maskprivacy.records import AttackerMetrics, AttackerRecord, write_metrics


def _member(rng: np.random.Generator, truth: pd.DataFrame, noise: float) -> pd.DataFrame:
    """Predictions with independent noise on the logits / ages of one fake attacker."""
    df = truth.copy()
    n = len(df)
    logit = 1.5 * (2 * df["sex_true"].to_numpy() - 1) + rng.normal(0, noise, n)
    df["sex_prob_1"] = 1 / (1 + np.exp(-logit))
    df["sex_pred"] = (logit > 0).astype(int)
    for task, k in (("race", 5), ("age_bucket", 7)):
        scores = 1.5 * (df[f"{task}_true"].to_numpy()[:, None] == np.arange(k)) + rng.normal(0, noise, (n, k))
        p = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
        df[f"{task}_pred"] = p.argmax(1)
        for j in range(k):
            df[f"{task}_prob_{j}"] = p[:, j]
    df["age_pred"] = np.clip(df["age_true"] + rng.normal(0, 4 * noise, n), 0, None)
    return df


def _truth(rng: np.random.Generator, n: int, prefix: str) -> pd.DataFrame:
    age = rng.integers(1, 90, n)
    return pd.DataFrame(
        {
            "name": [f"{prefix}{i:05d}.jpg" for i in range(n)],
            "sex_true": rng.integers(0, 2, n),
            "race_true": rng.integers(0, 5, n),
            "age_bucket_true": np.digitize(age, [3, 10, 20, 30, 45, 60]),
            "age_true": age.astype(float),
        }
    )


def _fake_run(
    root: Path, attackers: tuple[str, ...] = ("cnn", "dlib"), seed: int = 0, noises: tuple[float, ...] | None = None
) -> Path:
    rng = np.random.default_rng(seed)
    val, test = _truth(rng, 600, "v"), _truth(rng, 2000, "t")
    for a, noise in zip(attackers, noises or (1.5,) * len(attackers)):
        d = root / "train" / ("masked_uniform" if a == "cnn" else f"{a}_masked_uniform")
        d.mkdir(parents=True)
        _member(rng, test, noise).to_csv(d / "predictions.csv", index=False)
        _member(rng, val, noise).to_csv(d / "val_predictions.csv", index=False)
        record = AttackerRecord(name=a, family=a, trained_on="masked", split="uniform")
        write_metrics(d, AttackerMetrics(attacker=record, n_test=len(test)))
    return root


def _acc(df: pd.DataFrame, task: str) -> float:
    return float((df[f"{task}_pred"] == df[f"{task}_true"]).mean())


def test_the_ensemble_beats_members_with_independent_errors(tmp_path):
    run = _fake_run(tmp_path / "run")
    assert [a.attacker for a in members(run, "masked", "uniform")] == ["cnn", "dlib"]
    m = fit_ensemble(run, "masked", "uniform")
    d = ensemble_dir(run, "masked", "uniform")
    assert m == json.loads((d / "metrics.json").read_text())
    assert m["config"]["members"] == ["cnn", "dlib"] and m["n_val"] == 600 and m["n_test"] == 2000
    cnn = pd.read_csv(run / "train" / "masked_uniform" / "predictions.csv")
    dlib = pd.read_csv(run / "train" / "dlib_masked_uniform" / "predictions.csv")
    for task in ("sex", "race", "age_bucket"):
        assert m[task]["accuracy"] > max(_acc(cnn, task), _acc(dlib, task)) + 0.01
    mae = [float((f["age_pred"] - f["age_true"]).abs().mean()) for f in (cnn, dlib)]
    assert m["age"]["mae"] < min(mae) - 0.3
    # an ordinary attacker folder: the PVI and the report discover it
    assert ("ensemble", "masked", "uniform") in {a.key for a in discover(run)}
    assert "ensemble" not in [a.attacker for a in members(run, "masked", "uniform")]


def test_a_weak_member_is_weighed_down_not_averaged_in(tmp_path):
    """A strong and a near-random member: the mean is dragged down, so the stacker is chosen and
    weighs the strong member's ages above the weak one's."""
    run = _fake_run(tmp_path / "run", noises=(0.8, 6.0))
    m = fit_ensemble(run, "masked", "uniform")
    cnn = pd.read_csv(run / "train" / "masked_uniform" / "predictions.csv")
    tasks = m["config"]["tasks"]
    for task in ("sex", "race", "age_bucket", "age"):
        assert tasks[task]["combiner"] == "stacker", (task, tasks[task])
    for task in ("sex", "race", "age_bucket"):
        assert m[task]["accuracy"] > _acc(cnn, task) - 0.02
    w = tasks["age"]["weights"]
    assert set(w) == {"cnn", "dlib"} and w["cnn"] > 5 * w["dlib"] >= 0


def test_the_ensemble_never_reads_the_test_labels(tmp_path):
    run = _fake_run(tmp_path / "run")
    fit_ensemble(run, "masked", "uniform")
    before = pd.read_csv(ensemble_dir(run, "masked", "uniform") / "predictions.csv")
    for d in ("masked_uniform", "dlib_masked_uniform"):  # scramble the test truths the members carry
        p = run / "train" / d / "predictions.csv"
        df = pd.read_csv(p)
        df["sex_true"] = 1 - df["sex_true"]
        df["age_true"] = 50.0
        df.to_csv(p, index=False)
    fit_ensemble(run, "masked", "uniform", force=True)
    after = pd.read_csv(ensemble_dir(run, "masked", "uniform") / "predictions.csv")
    for c in ("sex_pred", "race_pred", "age_bucket_pred", "age_pred"):
        np.testing.assert_allclose(before[c], after[c])


def test_one_member_is_not_an_ensemble(tmp_path):
    run = _fake_run(tmp_path / "run", attackers=("cnn",))
    assert fit_ensemble(run, "masked", "uniform") is None
    assert not ensemble_dir(run, "masked", "uniform").exists()
    assert fit_ensembles(run) == {}


@pytest.mark.parametrize("stacker_is", ["perfect", "useless"])
def test_the_validation_faces_choose_the_combiner(tmp_path, monkeypatch, stacker_is):
    """A stacker whose cross-validated score is perfect (accuracy 1, MAE 0) must be chosen for every
    attribute; one that is never right (accuracy 0, an MAE of 1000 years) never."""
    from maskprivacy.privacy import ensemble

    perfect = stacker_is == "perfect"
    monkeypatch.setattr(
        ensemble,
        "_cv_score",
        lambda task, X, y, seed: (0.0 if task == "age" else 1.0) if perfect else (1000.0 if task == "age" else 0.0),
    )
    m = fit_ensemble(_fake_run(tmp_path / "run"), "masked", "uniform")
    for task, rec in m["config"]["tasks"].items():
        assert rec["combiner"] == ("stacker" if perfect else "mean"), (task, rec)
        assert ensemble_val_score(m, task) == (rec["ensemble_val_cv"] if perfect else rec["mean_val"])


def test_the_ensembles_validation_score_is_its_chosen_combiners():
    tasks = {
        "sex": {"combiner": "stacker", "ensemble_val_cv": 0.9, "mean_val": 0.8},
        "race": {"combiner": "mean", "ensemble_val_cv": 0.6, "mean_val": 0.7},
        "age": {"combiner": "mean", "mean_val": 6.5},
    }
    m = {"config": {"tasks": tasks}}
    assert ensemble_val_score(m, "sex") == 0.9  # the stacker's cross-validated score, never its fit
    assert ensemble_val_score(m, "race") == 0.7
    assert ensemble_val_score(m, "age") == 6.5
    assert ensemble_val_score(m, "age_bucket") is None
    assert ensemble_val_score({"config": {"tasks": {}}}, "sex") is None
