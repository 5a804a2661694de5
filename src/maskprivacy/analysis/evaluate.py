"""Figures with intervals over the rows a labelled-folder evaluation wrote (:mod:`.labelled_folder`):
accuracy, balanced accuracy and ROC AUC, people resampled when the photos' names say who is who."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from maskprivacy.bootstrap import (
    LEVEL,
    N_RESAMPLES,
    cluster_totals,
    percentile_interval,
    resample_counts,
    resampled_means,
)
from maskprivacy.data.labels import CLASS_NAMES
from maskprivacy.data.photo_labels import person_of


def resampling_units(read: list[dict[str, Any]]) -> tuple[list[str], dict[str, int], bool]:
    """What a bootstrap of these rows resamples: people when every path names its person
    (:func:`person_of`; photos of one person are not independent), else photos. Returns each row's
    unit, the units' indices in first-seen order, and whether the units are people."""
    persons = [person_of(r["path"]) for r in read]
    by_person = all(persons)
    keys = [p for p in persons if p] if by_person else [r["path"] for r in read]
    return keys, {k: i for i, k in enumerate(dict.fromkeys(keys))}, by_person


def accuracy_with_ci(
    rows: list[dict[str, Any]], task: str, n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, Any]:
    """Accuracy and balanced accuracy of ``task`` over the read rows, with bootstrap intervals.

    Photos of one person are not independent (realmask-dev has 2-3 photos per person and condition),
    so when every path names its person (:func:`person_of`) people are resampled, not photos: the
    interval then reflects how many people were seen. Each resample uses the same people for both
    figures (:func:`maskprivacy.bootstrap.cluster_totals` per person, then
    :func:`~maskprivacy.bootstrap.resampled_means` of the totals; a ratio of means is a ratio of sums). Percentile intervals at ``level``; ``ci`` is the accuracy's, ``balanced_ci`` the
    balanced accuracy's.
    """
    names = CLASS_NAMES[task]
    truth = f"{task}_true"
    read = [r for r in rows if r["found"] == 1 and r[truth] is not None and r[f"{task}_pred"] is not None]
    if not read:
        return {
            "accuracy": None,
            "balanced_accuracy": None,
            "ci": [None, None],
            "balanced_ci": [None, None],
            "n": 0,
            "resampled": None,
        }
    keys, index, by_person = resampling_units(read)
    k = len(names)
    y = np.array([int(r[truth]) for r in read])
    hit = np.array([float(r[truth] == r[f"{task}_pred"]) for r in read])
    onehot = (y[:, None] == np.arange(k)[None, :]).astype(float)
    # per unit (first-seen order, as ``index``): photos, hits, then per class: photos, hits
    sums, _ = cluster_totals(np.column_stack([np.ones(len(read)), hit, onehot, hit[:, None] * onehot]), keys)

    present = sums[:, 2 : 2 + k].sum(0) > 0  # classes with photos; a resample that lacks one skips it

    def figures(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Accuracy and balanced accuracy from (summed or mean) columns; works on one row or many."""
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = m[..., 1] / m[..., 0]
            recall = m[..., 2 + k :][..., present] / m[..., 2 : 2 + k][..., present]
            return acc, np.nanmean(recall, axis=-1)

    total = sums.sum(0)
    acc, bal = figures(total)
    b_acc, b_bal = figures(resampled_means(sums, n_boot=n_boot, seed=seed))
    # Per class: how many photos (and, when names say who is who, people) it has and its accuracy;
    # on a skewed set (realmask-dev: 5 women behind masks) balanced accuracy hangs on a few people.
    per_class: dict[str, dict[str, Any]] = {}
    for c, name in enumerate(names):
        if total[2 + c] > 0:
            per_class[name] = {"accuracy": float(total[2 + k + c] / total[2 + c]), "photos": int(total[2 + c])}
            if by_person:
                per_class[name]["people"] = int((sums[:, 2 + c] > 0).sum())
    return {
        "accuracy": float(acc),
        "balanced_accuracy": float(bal),
        "ci": percentile_interval(b_acc, level),
        "balanced_ci": percentile_interval(b_bal, level),
        "per_class": per_class,
        "n": len(read),
        "resampled": f"{len(index)} {'people' if by_person else 'photos'}",
    }


def weighted_auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC of two-class labels ``y`` (1 positive) and ``score``, once per row of ``weights``
    (resamples x photos: how often each photo was drawn). Ties count half, as in scikit-learn's
    ``roc_auc_score``; NaN where a resample has no positive or no negative photo.

    The Mann-Whitney count with weights, all resamples at once: per distinct score, the negatives'
    weight below it (a cumulative sum) and at it, summed over the positives (O(resamples x photos)).
    """
    y = np.asarray(y).astype(bool)
    w = np.atleast_2d(np.asarray(weights, float))
    levels, level = np.unique(np.asarray(score, float), return_inverse=True)
    neg = np.zeros((w.shape[0], len(levels)))
    np.add.at(neg.T, level[~y], w[:, ~y].T)  # negatives' weight per score level
    below = np.cumsum(neg, axis=1) - neg
    wins = below[:, level[y]] + 0.5 * neg[:, level[y]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w[:, y] * wins).sum(1) / (w[:, y].sum(1) * w[:, ~y].sum(1))


def auc_with_ci(
    rows: list[dict[str, Any]], task: str = "sex", n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, Any]:
    """ROC AUC of a two-class ``task`` from the rows' probability of its second class, with a
    bootstrap interval (people resampled when every path names its person, as :func:`accuracy_with_ci`).

    Why beside accuracy: accuracy and balanced accuracy read the attacker at its 0.5 threshold, so a
    reading that separates women from men but shifts every real-mask photo towards "male" scores low
    there. AUC says how well it ranks them whatever the threshold, i.e. what an adversary who moves
    the threshold with a few labelled photos of its own would read. ``auc`` is None when the read rows
    lack either class or the probabilities.
    """
    names = CLASS_NAMES[task]
    if len(names) != 2:
        raise ValueError(f"AUC needs a two-class task, {task!r} has {len(names)} classes")
    truth, col = f"{task}_true", f"{task}_prob_{names[1]}"
    read = [r for r in rows if r["found"] == 1 and r[truth] is not None and r.get(col) is not None]
    y = np.array([int(r[truth]) for r in read], np.int64)
    if len(set(y.tolist())) < 2:
        return {"auc": None, "auc_ci": [None, None]}
    score = np.array([float(r[col]) for r in read])
    keys, index, _ = resampling_units(read)
    group = np.array([index[k] for k in keys])
    auc = float(weighted_auc(y, score, np.ones((1, len(y))))[0])
    if n_boot <= 0:
        return {"auc": auc, "auc_ci": [None, None]}
    # the resamples of accuracy_with_ci (the same seed draws the same people), as counts per person
    boot = np.concatenate([weighted_auc(y, score, c[:, group]) for _, c in resample_counts(len(index), n_boot, seed)])
    return {"auc": auc, "auc_ci": percentile_interval(boot, level)}


def per_class_text(per_class: dict[str, dict[str, Any]], fmt: Callable[[float], str]) -> str:
    """``per_class`` of :func:`accuracy_with_ci` in words, e.g. ``male 87.3% of 142 photos / 50 people;
    female 63.6% of 11 photos / 5 people``: on a skewed set, how few people a balanced figure rests on."""

    def one(name: str, pc: dict[str, Any]) -> str:
        n = pc.get("people")
        who = f" / {n} {'person' if n == 1 else 'people'}" if n is not None else ""
        return f"{name} {fmt(pc['accuracy'])} of {pc['photos']} photos{who}"

    return "; ".join(one(name, pc) for name, pc in per_class.items())
