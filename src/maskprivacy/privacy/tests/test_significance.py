"""Bootstrap intervals and paired tests of the attackers' figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from maskprivacy.privacy.significance import figure_intervals, mcnemar_exact, paired_tests, wilcoxon_errors
from maskprivacy.training.metrics import classification_metrics


def _rows(n: int, flip: float, noise: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"name": [f"f{i}.jpg" for i in range(n)]})
    for task, k in (("sex", 2), ("race", 5), ("age_bucket", 7)):
        y = rng.integers(0, k, n)
        wrong = rng.random(n) < flip
        df[f"{task}_true"] = y
        df[f"{task}_pred"] = np.where(wrong, (y + 1) % k, y)
    df["age_true"] = rng.integers(1, 90, n).astype(float)
    df["age_pred"] = df["age_true"] + rng.normal(0, noise, n)
    return df


def test_intervals_hold_the_point_estimates_and_shrink_with_more_faces():
    small, large = _rows(200, 0.2, 6.0, 1), _rows(3000, 0.2, 6.0, 1)
    for df in (small, large):
        iv = figure_intervals(df, n_boot=500, seed=3)
        for task in ("sex", "race", "age_bucket"):
            m = classification_metrics(
                df[f"{task}_true"].to_numpy(),
                df[f"{task}_pred"].to_numpy(),
                tuple("abcdefg"[: {"sex": 2, "race": 5, "age_bucket": 7}[task]]),
            )
            lo, hi = iv[task]["accuracy"]
            assert lo < m["accuracy"] < hi
            lo, hi = iv[task]["balanced_accuracy"]
            assert lo < m["balanced_accuracy"] < hi
        mae = float(np.abs(df["age_pred"] - df["age_true"]).mean())
        assert iv["age"]["mae"][0] < mae < iv["age"]["mae"][1]
        assert iv["age"]["rmse"][0] < iv["age"]["rmse"][1]
    width = lambda df: np.diff(figure_intervals(df, n_boot=500, seed=3)["sex"]["accuracy"])[0]  # noqa: E731
    assert width(large) < 0.5 * width(small)  # ~1/sqrt(15) of it


def test_intervals_are_deterministic_in_the_seed_and_skip_missing_tasks():
    df = _rows(300, 0.3, 5.0, 2)
    assert figure_intervals(df, n_boot=200, seed=5) == figure_intervals(df, n_boot=200, seed=5)
    assert figure_intervals(df, n_boot=200, seed=5) != figure_intervals(df, n_boot=200, seed=6)
    only_age = figure_intervals(df[["name", "age_true", "age_pred"]], n_boot=100)
    assert set(only_age) == {"age"}
    assert figure_intervals(df[["name"]], n_boot=100) == {}


def test_balanced_accuracy_interval_sees_a_minority_class_failing():
    # 95% of faces class 0 always right, class 1 always wrong: accuracy ~0.95, balanced 0.5
    n = 1000
    y = np.r_[np.zeros(950, int), np.ones(50, int)]
    df = pd.DataFrame({"name": [f"{i}" for i in range(n)], "sex_true": y, "sex_pred": np.zeros(n, int)})
    iv = figure_intervals(df, n_boot=300)["sex"]
    assert iv["accuracy"][0] > 0.93
    assert iv["balanced_accuracy"] == pytest.approx([0.5, 0.5])


def test_mcnemar_exact_matches_the_binomial_test():
    a = np.r_[np.ones(10, bool), np.ones(80, bool), np.zeros(10, bool)]
    b = np.r_[np.zeros(10, bool), np.ones(80, bool), np.zeros(10, bool)]
    t = mcnemar_exact(a, b)
    assert (t["a_only"], t["b_only"], t["n"]) == (10, 0, 100)
    assert t["p"] == pytest.approx(2 * 0.5**10)
    assert mcnemar_exact(a, a)["p"] == 1.0
    assert mcnemar_exact(np.r_[a[:3], ~a[3:6]], np.r_[~a[:3], a[3:6]])["p"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        mcnemar_exact(a, b[:5])


def test_wilcoxon_on_absolute_errors():
    rng = np.random.default_rng(0)
    ea = rng.uniform(0, 5, 200)
    t = wilcoxon_errors(ea, ea + 1.0)
    assert t["p"] < 1e-10 and t["median_difference"] == pytest.approx(-1.0)
    assert t["p"] == pytest.approx(stats.wilcoxon(ea, ea + 1.0).pvalue)
    assert wilcoxon_errors(ea, ea)["p"] == 1.0


def test_paired_tests_pair_by_name_whatever_the_row_order():
    good, bad = _rows(800, 0.05, 3.0, 4), _rows(800, 0.35, 9.0, 4)
    bad[["sex_true", "race_true", "age_bucket_true", "age_true"]] = good[
        ["sex_true", "race_true", "age_bucket_true", "age_true"]
    ]
    shuffled = bad.sample(frac=1.0, random_state=0)
    t = paired_tests(good, shuffled)
    assert t["n"] == 800
    for task in ("sex", "race", "age_bucket", "age"):
        assert t[task]["significant"] and t[task]["better"] == "a"
    same = paired_tests(good, good.sample(frac=1.0, random_state=1))
    assert all(not same[k]["significant"] and same[k]["better"] is None for k in ("sex", "race", "age_bucket", "age"))
    assert paired_tests(good, good.assign(name=good["name"] + "x")) == {"n": 0}
