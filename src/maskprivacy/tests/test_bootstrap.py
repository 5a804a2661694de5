"""The one bootstrap against scipy's, explicit resampling, and known answers for clusters and pairs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from maskprivacy.bootstrap import (
    cluster_ids,
    cluster_totals,
    paired_differences,
    percentile_interval,
    resample_counts,
    resampled_cluster_means,
    resampled_means,
)


def test_resampled_means_equal_explicit_resampling_whatever_the_block_size():
    scores = np.random.default_rng(0).random((50, 3))
    got = resampled_means(scores, n_boot=40, seed=7)
    idx = np.random.default_rng(7).integers(0, 50, size=(40, 50))  # one block: the same draws
    np.testing.assert_allclose(got, scores[idx].mean(axis=1))
    np.testing.assert_allclose(resampled_means(scores, 40, 7, max_cells=50 * 7), got)  # blocks of 7


def _scipy_interval(*data: np.ndarray, statistic, paired: bool = False) -> list[float]:
    res = stats.bootstrap(
        data, statistic, n_resamples=4000, method="percentile", paired=paired, vectorized=False, random_state=1
    )
    return [res.confidence_interval.low, res.confidence_interval.high]


@pytest.mark.parametrize("kind", ["normal", "binary"])
def test_a_mean_s_percentile_interval_matches_scipy(kind):
    rng = np.random.default_rng(3)
    x = rng.normal(10, 3, 300) if kind == "normal" else (rng.random(300) < 0.7).astype(float)
    ours = percentile_interval(resampled_means(x, n_boot=4000, seed=2)[:, 0])
    theirs = _scipy_interval(x, statistic=np.mean)
    se = x.std() / np.sqrt(len(x))  # the interval's own scale; the two differ only by resampling noise
    assert ours == pytest.approx(theirs, abs=0.25 * se)


def test_a_paired_difference_matches_scipy_s_paired_bootstrap():
    rng = np.random.default_rng(4)
    a = (rng.random(400) < 0.8).astype(float)
    b = np.where(rng.random(400) < 0.9, a, 1 - a)  # the same faces: b mostly agrees with a
    ours = percentile_interval(paired_differences(a, b, n_boot=4000, seed=5))
    theirs = _scipy_interval(a, b, statistic=lambda u, v: np.mean(u) - np.mean(v), paired=True)
    se = np.std(a - b) / np.sqrt(len(a))
    assert ours == pytest.approx(theirs, abs=0.25 * se)
    # unpaired resampling of the same two systems: a much wider interval
    unpaired = percentile_interval(
        resampled_means(a, 4000, 5)[:, 0] - resampled_means(b, 4000, 6)[:, 0]  # independent draws
    )
    assert unpaired[1] - unpaired[0] > 1.5 * (ours[1] - ours[0])


def test_clusters_are_numbered_in_first_seen_order_and_summed():
    assert cluster_ids(["p9", "p2", "p9", "p5", "p2"]).tolist() == [0, 1, 0, 2, 1]
    totals, sizes = cluster_totals(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), ["b", "a", "b"])
    assert totals.tolist() == [[6.0, 8.0], [3.0, 4.0]] and sizes.tolist() == [2.0, 1.0]
    with pytest.raises(ValueError, match="cluster labels"):
        cluster_totals(np.zeros(3), ["a", "b"])


def test_one_item_per_cluster_is_the_per_item_bootstrap():
    x = np.random.default_rng(1).random(80)
    np.testing.assert_allclose(resampled_cluster_means(x, np.arange(80), 300, 9), resampled_means(x, 300, 9))


def test_identical_copies_within_a_cluster_widen_the_interval_to_the_clusters_own():
    # 40 people, 5 identical photos each: there are 40 independent values, not 200
    person = np.random.default_rng(2).normal(0, 1, 40)
    photos, clusters = np.repeat(person, 5), np.repeat(np.arange(40), 5)
    per_photo = percentile_interval(resampled_means(photos, 2000, 0)[:, 0])
    per_person = percentile_interval(resampled_cluster_means(photos, clusters, 2000, 0)[:, 0])
    assert per_person[1] - per_person[0] > 2 * (per_photo[1] - per_photo[0])  # ~sqrt(5) wider
    # equal cluster sizes: resampling people is the per-item bootstrap of the people's values
    assert per_person == pytest.approx(percentile_interval(resampled_means(person, 2000, 0)[:, 0]), abs=1e-12)


def test_edges():
    with pytest.raises(ValueError, match="no test items"):
        resample_counts(0, 10)
    assert list(resample_counts(5, 0)) == []
    assert percentile_interval(np.array([np.nan, np.inf])) == [None, None]
    with pytest.raises(ValueError, match="same items"):
        paired_differences(np.zeros(3), np.zeros(4))
