"""The ensemble attacker on a FAKE run: two noisy members whose errors are independent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from maskprivacy.privacy.ensemble import (
    VAL_SCORE_KEY,
    _choose,
    _outputs,
    _select,
    _selection_cv_score,
    ensemble_dir,
    ensemble_val_score,
    fit_ensemble,
    fit_ensembles,
    members,
)
from maskprivacy.privacy.runs import discover


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
        (d / "metrics.json").write_text("{}")
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
    for task, rec in m["config"]["tasks"].items():  # the combiner the validation faces scored best
        scores = {c: rec[key] for c, key in VAL_SCORE_KEY.items()}
        best = min(scores.values()) if task == "age" else max(scores.values())
        assert scores[rec["combiner"]] == best, (task, rec)
    # an ordinary attacker folder: the PVI and the report discover it
    assert ("ensemble", "masked", "uniform") in {(a.attacker, a.condition, a.split) for a in discover(run)}
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


def test_the_ensembles_validation_score_is_its_chosen_combiners(tmp_path):
    run = _fake_run(tmp_path / "run", noises=(0.5, 3.0))
    m = fit_ensemble(run, "masked", "uniform")
    for task, rec in m["config"]["tasks"].items():
        assert ensemble_val_score(m, task) == rec[VAL_SCORE_KEY[rec["combiner"]]]
    assert ensemble_val_score({"config": {"tasks": {}}}, "sex") is None


def _three_members(tmp_path: Path) -> tuple[Path, list[pd.DataFrame], list[pd.DataFrame]]:
    run = _fake_run(tmp_path / "run", attackers=("cnn", "dlib", "facenet"), noises=(1.0, 1.0, 40.0))
    dirs = ("masked_uniform", "dlib_masked_uniform", "facenet_masked_uniform")
    val = [pd.read_csv(run / "train" / d / "val_predictions.csv") for d in dirs]
    test = [pd.read_csv(run / "train" / d / "predictions.csv") for d in dirs]
    return run, val, test


def test_the_selection_leaves_out_a_near_chance_member(tmp_path):
    """Two good members and one that guesses: the greedy bag holds the good ones only, and the bag's
    cross-validated score beats the plain mean that the guesser drags down."""
    _, val, _ = _three_members(tmp_path)
    for task in ("sex", "race", "age_bucket", "age"):
        y = val[0][f"{task}_true"].to_numpy(float if task == "age" else int)
        outs = _outputs(task, val)
        bag = _select(task, outs, y)
        assert 2 not in bag and len(bag) >= 2, (task, bag)
        mean = (
            float(np.abs(np.mean(outs, 0) - y).mean())
            if task == "age"
            else float((np.mean(outs, 0).argmax(1) == y).mean())
        )
        cv = _selection_cv_score(task, outs, y, seed=0)
        assert (cv < mean) if task == "age" else (cv > mean), (task, cv, mean)


def test_a_selected_bag_is_applied_to_the_test_faces_as_recorded(tmp_path):
    run, _, test = _three_members(tmp_path)
    m = fit_ensemble(run, "masked", "uniform")
    out = pd.read_csv(ensemble_dir(run, "masked", "uniform") / "predictions.csv")
    chosen = {t: r["combiner"] for t, r in m["config"]["tasks"].items()}
    assert "mean" not in chosen.values(), chosen  # the guesser drags the plain mean below both others
    for task, rec in m["config"]["tasks"].items():
        if rec["combiner"] != "selected":
            continue
        assert set(rec["selection"]) <= {"cnn", "dlib"}, rec
        names = ("cnn", "dlib", "facenet")
        bag = [names.index(a) for a, n in rec["selection"].items() for _ in range(n)]
        want = np.mean([_outputs(task, test)[i] for i in bag], axis=0)
        got = out["age_pred"].to_numpy() if task == "age" else want.argmax(1)
        np.testing.assert_allclose(got, want if task == "age" else out[f"{task}_pred"].to_numpy(), atol=1e-3)


def test_a_fitted_combiner_must_be_strictly_better():
    assert _choose("sex", {"mean": 0.9, "selected": 0.9, "stacker": 0.9}) == "mean"
    assert _choose("sex", {"mean": 0.9, "selected": 0.91, "stacker": 0.91}) == "selected"
    assert _choose("sex", {"mean": 0.9, "selected": None, "stacker": 0.92}) == "stacker"
    assert _choose("age", {"mean": 5.0, "selected": 4.9, "stacker": 5.1}) == "selected"
    assert _choose("age", {"mean": 5.0, "selected": None, "stacker": None}) == "mean"
