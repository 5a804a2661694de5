"""PVI: the formula's anchors (0 and 1), weights, the paired bootstrap, reading a run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from maskprivacy.data.labels import FaceLabels
from maskprivacy.layout import CONDITIONS
from maskprivacy.privacy.baselines import Baselines, baselines_from_labels, baselines_from_split
from maskprivacy.privacy.pvi import (
    ATTRIBUTES,
    compute_pvi,
    normalise_weights,
    pair_predictions,
    parse_weights,
    predictability,
    pvi_from_summary,
)
from maskprivacy.privacy.pvi_for_run import pvi_for_run
from maskprivacy.privacy.synthetic import synthetic_truth


def _perfect(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(**{f"{t}_pred": df[f"{t}_true"] for t in ("sex", "race", "age_bucket", "age")})


def _base_for(df: pd.DataFrame) -> Baselines:
    return baselines_from_labels(
        FaceLabels(int(a), int(s), int(r)) for a, s, r in zip(df.age_true, df.sex_true, df.race_true)
    )


def _noisy(df: pd.DataFrame, flip: float, noise: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = _perfect(df)
    for t, k in (("sex", 2), ("race", 5), ("age_bucket", 7)):
        m = rng.random(len(df)) < flip
        out.loc[m, f"{t}_pred"] = rng.integers(0, k, m.sum())
    out["age_pred"] = out["age_true"] + rng.normal(0, noise, len(df))
    return out


# ---------------------------------------------------------------- formula


def test_predictability_anchors_and_clipping():
    assert predictability(1.0, 0.6, "classification") == 1.0
    assert predictability(0.6, 0.6, "classification") == 0.0
    assert predictability(0.8, 0.6, "classification") == pytest.approx(0.5)
    assert predictability(0.3, 0.6, "classification") == 0.0  # worse than chance: clipped
    assert predictability(0.0, 12.0, "regression") == 1.0
    assert predictability(12.0, 12.0, "regression") == 0.0
    assert predictability(3.0, 12.0, "regression") == pytest.approx(0.75)
    assert predictability(20.0, 12.0, "regression") == 0.0
    assert np.isnan(predictability(1.0, 1.0, "classification"))
    np.testing.assert_allclose(
        predictability(np.array([0.6, 0.8, 1.0]), np.array([0.6, 0.6, 0.6]), "classification"), [0, 0.5, 1]
    )


def test_perfect_predictions_give_pvi_one_and_majority_baseline_gives_zero():
    df = synthetic_truth(400)
    base = _base_for(df)  # the baseline learned on the same faces: the majority answer scores exactly its share
    perfect = _perfect(df)
    trivial = df.assign(
        sex_pred=base.majority["sex"],
        race_pred=base.majority["race"],
        age_bucket_pred=base.majority["age_bucket"],
        age_pred=base.median_age,
    )
    r = compute_pvi({"masked": trivial, "unmasked": perfect}, base, n_boot=200)
    assert r.pvi("unmasked") == pytest.approx(1.0)
    assert r.pvi("masked") == pytest.approx(0.0)
    assert r.conditions["unmasked"]["pvi_ci"] == pytest.approx([1.0, 1.0])
    assert r.reduction == pytest.approx(1.0)
    for a in ("sex", "race", "age"):
        assert r.conditions["masked"]["attributes"][a]["predictability"] == pytest.approx(0.0)


def test_pvi_is_the_weighted_sum_of_hand_computed_predictabilities():
    df = synthetic_truth(500, seed=1)
    base = _base_for(df)
    pred = _noisy(df, 0.3, 6.0, seed=2)
    r = compute_pvi({"masked": pred}, base, weights={"sex": 2, "race": 1, "age": 1}, n_boot=50)
    acc_sex = np.mean(pred.sex_pred == df.sex_true)
    b_sex = np.mean(df.sex_true == base.majority["sex"])
    acc_race = np.mean(pred.race_pred == df.race_true)
    b_race = np.mean(df.race_true == base.majority["race"])
    mae = np.mean(np.abs(pred.age_pred - df.age_true))
    mae0 = np.mean(np.abs(base.median_age - df.age_true))
    p = [max(0, (acc_sex - b_sex) / (1 - b_sex)), max(0, (acc_race - b_race) / (1 - b_race)), max(0, 1 - mae / mae0)]
    assert r.pvi("masked") == pytest.approx(0.5 * p[0] + 0.25 * p[1] + 0.25 * p[2])
    assert r.reduction is None and r.reduction_ci == [None, None]


def test_prior_baseline_is_sum_of_squared_shares_when_train_matches_test():
    df = synthetic_truth(300, seed=3)
    base = _base_for(df)
    r = compute_pvi({"masked": _noisy(df, 0.2, 5, 4)}, base, baseline="prior", n_boot=20)
    shares = np.bincount(df.race_true, minlength=5) / len(df)
    assert r.conditions["masked"]["attributes"]["race"]["baseline"] == pytest.approx(np.sum(shares**2))


def test_age_bucket_measure_uses_bucket_accuracy():
    df = synthetic_truth(300, seed=5)
    base = _base_for(df)
    pred = _noisy(df, 0.4, 5, 6)
    r = compute_pvi({"masked": pred}, base, age_measure="bucket", n_boot=20)
    a = r.conditions["masked"]["attributes"]["age"]
    assert a["task"] == "age_bucket" and a["model"] == pytest.approx(
        np.mean(pred.age_bucket_pred == df.age_bucket_true)
    )


# ---------------------------------------------------------------- weights


def test_weights_parse_and_normalise():
    assert parse_weights("sex=2, race=1,age=1") == {"sex": 2.0, "race": 1.0, "age": 1.0}
    assert normalise_weights({"sex": 2, "race": 1, "age": 1}) == pytest.approx({"sex": 0.5, "race": 0.25, "age": 0.25})
    assert normalise_weights(None) == pytest.approx({"sex": 1 / 3, "race": 1 / 3, "age": 1 / 3})
    assert normalise_weights({"sex": 0, "race": 0, "age": 3}) == {"sex": 0.0, "race": 0.0, "age": 1.0}


@pytest.mark.parametrize(
    "weights, message",
    [
        ({"sex": 1, "race": 1}, "lack age"),
        ({"sex": 1, "race": 1, "age": 1, "eyes": 1}, "unknown attribute"),
        ({"sex": -1, "race": 1, "age": 1}, "weight of sex"),
        ({"sex": float("nan"), "race": 1, "age": 1}, "weight of sex"),
        ({"sex": 0, "race": 0, "age": 0}, "all 0"),
    ],
)
def test_bad_weights_are_clear_errors(weights, message):
    with pytest.raises(ValueError, match=message):
        normalise_weights(weights)


@pytest.mark.parametrize(
    "text, message", [("sex=a,race=1,age=1", "not a number"), ("sex", "NAME=NUMBER"), ("sex=1,sex=2", "twice")]
)
def test_bad_weight_strings(text, message):
    with pytest.raises(ValueError, match=message):
        parse_weights(text)


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_interval_contains_point_and_is_seeded():
    df = synthetic_truth(600, seed=8)
    base = _base_for(df)
    preds = {"masked": _noisy(df, 0.35, 8, 9), "unmasked": _noisy(df, 0.15, 5, 10)}
    r1 = compute_pvi(preds, base, n_boot=500, seed=3)
    r2 = compute_pvi(preds, base, n_boot=500, seed=3)
    r3 = compute_pvi(preds, base, n_boot=500, seed=4)
    for c in ("masked", "unmasked"):
        lo, hi = r1.conditions[c]["pvi_ci"]
        assert lo < r1.pvi(c) < hi
    assert r1.reduction_ci[0] < r1.reduction < r1.reduction_ci[1]
    assert r1.to_dict() == r2.to_dict()
    assert r1.conditions["masked"]["pvi_ci"] != r3.conditions["masked"]["pvi_ci"]
    assert r1.pvi("masked") < r1.pvi("unmasked")


def test_resampling_is_paired():
    """Identical masked and unmasked predictions: with shared indices every resample's reduction is 0."""
    df = synthetic_truth(300, seed=11)
    p = _noisy(df, 0.2, 5, 12)
    r = compute_pvi({"masked": p, "unmasked": p.copy()}, _base_for(df), n_boot=300)
    assert r.reduction == pytest.approx(0.0)
    assert r.reduction_ci == pytest.approx([0.0, 0.0], abs=1e-12)
    assert r.conditions["masked"]["pvi_ci"][1] > r.conditions["masked"]["pvi_ci"][0]


def test_pairing_keeps_common_faces_and_rejects_mismatched_labels():
    df = synthetic_truth(100, seed=16)
    m, u = _perfect(df), _perfect(df).iloc[::-1].iloc[10:]  # other order, 10 faces fewer
    paired, warnings = pair_predictions({"masked": m, "unmasked": u}, ("sex",))
    assert len(paired["masked"]) == 90 and list(paired["masked"].name) == list(paired["unmasked"].name)
    assert any("10 test image(s)" in w for w in warnings)
    bad = u.copy()
    bad["sex_true"] = 1 - bad["sex_true"]
    with pytest.raises(ValueError, match="sex_true differs"):
        pair_predictions({"masked": m, "unmasked": bad}, ("sex",))
    with pytest.raises(ValueError, match="share no test image"):
        pair_predictions({"masked": m, "unmasked": u.assign(name="x" + u.name)}, ("sex",))


def test_summary_formula_matches_vector_formula():
    pvi, per = pvi_from_summary(
        {"sex_accuracy": 0.9, "race_accuracy": 0.7, "age_mae": 6.0},
        {"sex_accuracy": 0.5, "race_accuracy": 0.4, "age_mae": 15.0},
    )
    assert per == pytest.approx({"sex": 0.8, "race": 0.5, "age": 0.6})
    assert pvi == pytest.approx((0.8 + 0.5 + 0.6) / 3)


# ---------------------------------------------------------------- baselines and runs


def test_baselines_from_labels_and_split(tmp_path, make_fake_run):
    labs = [FaceLabels(20, 1, 2), FaceLabels(30, 1, 0), FaceLabels(40, 0, 2), FaceLabels(61, 1, 2)]
    b = baselines_from_labels(labs)
    assert b.majority == {"sex": 1, "race": 2, "age_bucket": 3} and b.median_age == 35.0
    assert b.prior["race"] == pytest.approx((0.25, 0, 0.75, 0, 0))
    assert Baselines.from_dict(b.to_dict()) == b
    run = make_fake_run(tmp_path / "run", n_train=50, n_test=20, attackers={})
    bs = baselines_from_split(run / "splits" / "uniform.csv")
    assert bs.n_train == 50
    with pytest.raises(FileNotFoundError, match="split file not found"):
        baselines_from_split(run / "splits" / "random.csv")


def test_pvi_for_fake_run(tmp_path, make_fake_run):
    run = make_fake_run(tmp_path / "run")
    r = pvi_for_run(run, attacker="cnn", n_boot=300)
    assert r.n_test == 300 and r.attacker == "cnn" and r.split == "uniform"
    assert 0 < r.pvi("masked") < r.pvi("unmasked") < 1
    assert 0 < r.reduction < 1
    d = pvi_for_run(run, attacker="dlib", n_boot=100)
    assert d.pvi("masked") < r.pvi("masked")  # the fixture's dlib flips more answers
    # by default the run's answer: with a cnn far better than dlib on every attribute (no validation
    # predictions here, so ranked on the test figures), the answer is the cnn pair's PVI
    far = {("cnn", "masked"): (0.1, 3.0), ("cnn", "unmasked"): (0.05, 2.0), ("dlib", "masked"): (0.7, 20.0)}
    run = make_fake_run(tmp_path / "far", attackers={**far, ("dlib", "unmasked"): (0.6, 15.0)})
    r = pvi_for_run(run, attacker="cnn", n_boot=300)
    s = pvi_for_run(run, n_boot=300)
    assert s.attacker == "strongest" and s.to_dict()["paired"]
    assert s.attackers == {c: {a: {"attacker": "cnn", "chosen_on": "test"} for a in ATTRIBUTES} for c in CONDITIONS}
    assert (s.pvi("masked"), s.pvi("unmasked"), s.reduction, s.reduction_ci) == (
        r.pvi("masked"),
        r.pvi("unmasked"),
        r.reduction,
        r.reduction_ci,
    )
    sex = s.conditions["masked"]["attributes"]["sex"]
    assert sex["attacker"] == "cnn" and sex["model_ci"][0] <= sex["model"] <= sex["model_ci"][1]


def test_pvi_reads_each_attribute_from_its_strongest_attacker(tmp_path, make_fake_run):
    """dlib wins sex on the validation faces, cnn every other attribute: the PVI's sex figure is dlib's
    test accuracy, its race figure cnn's, on both sides, paired on the same faces."""
    run = make_fake_run(tmp_path / "run")
    for name in ("masked_uniform", "unmasked_uniform", "dlib_masked_uniform", "dlib_unmasked_uniform"):
        d = run / "train" / name
        df = pd.read_csv(d / "predictions.csv")
        is_dlib = name.startswith("dlib")
        for t in ("sex", "race", "age_bucket"):
            right = is_dlib == (t == "sex")
            df[f"{t}_pred"] = df[f"{t}_true"] if right else (df[f"{t}_true"] + 1) % (2 if t == "sex" else 5)
        df["age_pred"] = df["age_true"] + (30 if is_dlib else 0)
        df.to_csv(d / "val_predictions.csv", index=False)
    r = pvi_for_run(run, n_boot=100)
    metrics = {
        (a, c): json.loads(
            (run / "train" / f"{'dlib_' if a == 'dlib' else ''}{c}_uniform" / "metrics.json").read_text()
        )
        for a in ("cnn", "dlib")
        for c in CONDITIONS
    }
    for c in CONDITIONS:
        attrs = r.conditions[c]["attributes"]
        assert {a: attrs[a]["attacker"] for a in ATTRIBUTES} == {"sex": "dlib", "race": "cnn", "age": "cnn"}
        assert attrs["sex"]["chosen_on"] == "validation"
        assert attrs["sex"]["model"] == pytest.approx(metrics[("dlib", c)]["sex"]["accuracy"])
        assert attrs["race"]["model"] == pytest.approx(metrics[("cnn", c)]["race"]["accuracy"])
        assert attrs["age"]["model"] == pytest.approx(metrics[("cnn", c)]["age"]["mae"])
    assert r.n_test == 300 and r.reduction is not None and r.reduction_ci[0] is not None


def test_pvi_for_run_errors_and_partial_runs(tmp_path, make_fake_run):
    with pytest.raises(FileNotFoundError, match="run folder not found"):
        pvi_for_run(tmp_path / "nope")
    run = make_fake_run(tmp_path / "run", attackers={("cnn", "masked"): (0.2, 5.0)})
    with pytest.raises(FileNotFoundError, match=r"train/masked_random/predictions.csv"):
        pvi_for_run(run, attacker="cnn", split="random")
    with pytest.raises(FileNotFoundError, match=r"no attacker of split 'random'"):
        pvi_for_run(run, split="random")
    r = pvi_for_run(run, n_boot=50)  # only masked: its PVI, no reduction
    assert r.pvi("masked") > 0 and r.pvi("unmasked") is None and r.reduction is None
    assert any("unmasked: no predictions" in w for w in r.warnings)
    pred = run / "train" / "masked_uniform" / "predictions.csv"
    df = pd.read_csv(pred, dtype=str)
    df.loc[3, "age_pred"] = "oops"
    df.to_csv(pred, index=False)
    r = pvi_for_run(run, n_boot=50)
    assert r.n_test == 299 and any("1 row(s)" in w for w in r.warnings)
    df.drop(columns=["race_pred"]).to_csv(pred, index=False)
    with pytest.raises(ValueError, match="lacks the column.*race_pred"):
        pvi_for_run(run, n_boot=50)
    (run / "splits" / "uniform.csv").unlink()
    df.to_csv(pred, index=False)
    with pytest.raises(FileNotFoundError, match="uniform.csv"):
        pvi_for_run(run, n_boot=50)


def test_discover_reads_each_folders_record_not_its_name(tmp_path):
    from maskprivacy.privacy.discovery import discover, discover_with_problems
    from maskprivacy.records import AttackerMetrics, AttackerRecord, write_metrics

    run = tmp_path / "run"

    def write(d: str, **record) -> None:
        write_metrics(run / d, AttackerMetrics(attacker=AttackerRecord(**record), n_test=3))

    write("train/masked_uniform", name="cnn", family="cnn", trained_on="masked", split="uniform")
    write(
        "train/masked_uniform/per_task",
        name="cnn_per_task",
        family="cnn",
        trained_on="masked",
        split="uniform",
        approach="per_task",
    )
    # a folder whose name says nothing: its record says which attacker it holds
    write("train/an-experiment", name="cnn-pertask", family="cnn", trained_on="unmasked", split="random")
    write("dlib_masked_uniform", name="dlib", family="dlib", trained_on="masked", split="uniform")
    (run / "train/masked_uniform/checkpoints").mkdir()
    found = [a.key for a in discover(run)]
    assert found == [
        ("cnn", "masked", "uniform"),
        ("cnn-pertask", "unmasked", "random"),
        ("cnn_per_task", "masked", "uniform"),
        ("dlib", "masked", "uniform"),
    ]
    # an old metrics.json (no record) where reproduce writes no attacker: a problem that says what to rerun
    (run / "train/empty_masked_uniform").mkdir()
    (run / "train/empty_masked_uniform/metrics.json").write_text('{"n_test": 3}')
    attackers, problems = discover_with_problems(run)
    assert [a.key for a in attackers] == found
    assert len(problems) == 1 and "empty_masked_uniform" in problems[0] and "rerun" in problems[0]


def test_discover_reads_an_old_run_folder_by_where_reproduce_writes(tmp_path):
    """A run written before attacker records: each metrics.json has no record, and gets the one its
    place in the layout says (an attacker family in its own run folder included)."""
    from maskprivacy.privacy.discovery import discover_with_problems

    for d in (
        "train/masked_uniform",
        "train/robust_uniform",
        "train/unmasked_random/per_task",
        "facenet/train/masked_uniform",
        "facenet/train/robust_random",
        "facenet/train/unmasked_random",
        "dlib_unmasked_uniform",
        "train/ensemble_masked_uniform",
        "facenet/cache/masked_s112",
    ):
        (tmp_path / d).mkdir(parents=True)
        if "cache" not in d:
            (tmp_path / d / "metrics.json").write_text('{"n_test": 3, "condition": "masked"}')
    attackers, problems = discover_with_problems(tmp_path)
    assert problems == []
    assert {(a.key, a.record.family, a.record.trained_on) for a in attackers} == {
        (("cnn", "masked", "uniform"), "cnn", "masked"),
        (("cnn_robust", "masked", "uniform"), "cnn", "robust"),
        (("cnn_per_task", "unmasked", "random"), "cnn", "unmasked"),
        (("facenet", "masked", "uniform"), "facenet", "masked"),
        (("facenet_robust", "masked", "random"), "facenet", "robust"),
        (("facenet", "unmasked", "random"), "facenet", "unmasked"),
        (("dlib", "unmasked", "uniform"), "dlib", "unmasked"),
        (("ensemble", "masked", "uniform"), "ensemble", None),
    }
