"""The one bootstrap: percentile intervals of means over test items, people or clusters, paired.

Every interval the project reports (the PVI, an attacker's figures, the per-style table, the real
photos' accuracies and AUC) resamples with these functions, so one seed draws the same resamples
everywhere and the defaults live here once (:data:`N_RESAMPLES`, :data:`LEVEL`).

* per item: :func:`resampled_means` draws the items with replacement, the same draw for every column
  of ``scores``, so figures computed from several columns (two systems on the same faces, a hit and
  its class) stay paired;
* per cluster (a person's several photos, near-duplicates): :func:`cluster_totals` sums the columns
  over each cluster and the clusters are resampled; a mean over items is then a ratio of two totals
  (:func:`resampled_cluster_means`), since copies of one face are not independent;
* paired: :func:`paired_differences`, the difference of two systems' means on the same resamples.

Each block of resamples is a count matrix (how often each item was drawn), so the means are one
matrix product; a statistic that is not a mean (a weighted AUC) reads the counts
(:func:`resample_counts`). Deterministic in ``seed``: a block's size depends only on the number of
items, so ``max_cells`` changes memory, never the numbers.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

#: Resamples of every interval unless a caller says otherwise.
N_RESAMPLES = 2000
#: Two-sided coverage of every interval unless a caller says otherwise.
LEVEL = 0.95
#: At most this many cells (resamples x items) in one count matrix.
MAX_CELLS = 4_000_000


def resample_counts(
    n: int, n_boot: int = N_RESAMPLES, seed: int = 0, max_cells: int = MAX_CELLS
) -> Iterator[tuple[int, np.ndarray]]:
    """Resamples of ``n`` items as blocks ``(first resample, (b, n) counts of each item drawn)``."""
    if n == 0:  # raised here, not at the first block: with n_boot 0 there is none
        raise ValueError("no test items to resample")
    rng = np.random.default_rng(seed)
    block = max(1, min(n_boot, max_cells // n))

    def blocks() -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, n_boot, block):
            b = min(block, n_boot - start)
            idx = rng.integers(0, n, size=(b, n))
            yield start, np.bincount((idx + n * np.arange(b)[:, None]).ravel(), minlength=b * n).reshape(b, n)

    return blocks()


def resampled_means(
    scores: np.ndarray, n_boot: int = N_RESAMPLES, seed: int = 0, max_cells: int = MAX_CELLS
) -> np.ndarray:
    """Column means of ``scores`` (n items x k columns) over ``n_boot`` resamples of the items:
    ``(n_boot, k)``, every column of a resample drawn from the same items."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        scores = scores[:, None]
    n = scores.shape[0]
    out = np.empty((n_boot, scores.shape[1]))
    for start, counts in resample_counts(n, n_boot, seed, max_cells):
        out[start : start + len(counts)] = counts @ scores / n
    return out


def cluster_ids(clusters: np.ndarray | list) -> np.ndarray:
    """Each item's cluster as 0..g-1, numbered in the order the clusters first appear (so a seed
    draws the same clusters whatever their labels sort to)."""
    _, first, inverse = np.unique(np.asarray(clusters), return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()]


def cluster_totals(scores: np.ndarray, clusters: np.ndarray | list) -> tuple[np.ndarray, np.ndarray]:
    """``(totals, sizes)``: each cluster's column sums of ``scores`` ((g, k), clusters in first-seen
    order, :func:`cluster_ids`) and its number of items ((g,))."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        scores = scores[:, None]
    ids = cluster_ids(clusters)
    if len(ids) != scores.shape[0]:
        raise ValueError(f"{len(ids)} cluster labels for {scores.shape[0]} items")
    g = int(ids.max()) + 1 if len(ids) else 0
    totals = np.zeros((g, scores.shape[1]))
    np.add.at(totals, ids, scores)
    return totals, np.bincount(ids, minlength=g).astype(float)


def resampled_cluster_means(
    scores: np.ndarray, clusters: np.ndarray | list, n_boot: int = N_RESAMPLES, seed: int = 0
) -> np.ndarray:
    """Column means over items of ``scores`` when whole clusters are resampled: ``(n_boot, k)``, each
    the drawn clusters' totals over their number of items."""
    totals, sizes = cluster_totals(scores, clusters)
    boot = resampled_means(np.column_stack([sizes, totals]), n_boot, seed)
    return boot[:, 1:] / boot[:, :1]


def paired_differences(
    a: np.ndarray,
    b: np.ndarray,
    n_boot: int = N_RESAMPLES,
    seed: int = 0,
    clusters: np.ndarray | list | None = None,
) -> np.ndarray:
    """``mean(a) - mean(b)`` of two systems' scores on the same items, over resamples that draw the
    same items (or clusters) for both: ``(n_boot,)``."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"paired scores need the same items: {a.shape} and {b.shape}")
    both = np.column_stack([a, b])
    boot = (
        resampled_means(both, n_boot, seed)
        if clusters is None
        else resampled_cluster_means(both, clusters, n_boot, seed)
    )
    return boot[:, 0] - boot[:, 1]


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> list[float | None]:
    """``[lo, hi]`` holding ``level`` of the finite resampled values (``[None, None]`` when none is)."""
    s = np.asarray(samples, float)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return [None, None]
    lo, hi = np.percentile(s, [50 * (1 - level), 50 * (1 + level)])
    return [float(lo), float(hi)]
