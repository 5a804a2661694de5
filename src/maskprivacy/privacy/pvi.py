"""The Privacy Vulnerability Index (PVI): how much of a face's private attributes an attacker recovers.

The paper defines a PVI from (a) how predictable each private attribute is and (b) how important
it is to people, but its exact formula is not public. This is ours (docs/PRIVACY.md):

Predictability of an attribute, 0 = no better than a baseline that never looks at the face,
1 = perfect, negative values clipped to 0:

* classification (sex, race, and age buckets when ``age_measure="bucket"``)::

      P = max(0, (acc - base) / (1 - base))

  ``base`` is the accuracy, on the same test faces, of the training majority class
  (``baseline="majority"``, default) or of a guesser drawing from the training class shares
  (``baseline="prior"``; with equal train/test shares this is ``sum_k p_k^2``). It is Cohen's-kappa
  style chance correction: without it a coin-flip sex attacker would already score 0.5.
* age regression (default ``age_measure="regression"``)::

      P = max(0, 1 - MAE / MAE_median)

  ``MAE_median`` is the MAE, on the same test faces, of always answering the training median age.

Then ``PVI = sum_a w_a * P_a`` over a in (sex, race, age) with importance weights ``w`` >= 0 that
sum to 1 (equal by default; from a survey's importance ratings when given). The mask's effect is
the relative reduction ``1 - PVI_masked / PVI_unmasked``.

Uncertainty: 95% percentile bootstrap intervals over the test images. Masked and unmasked
attackers are tested on the same faces, so each resample draws one set of image indices and uses it
for both (paired), which is what makes the interval of the reduction meaningful. The resampling
is :mod:`maskprivacy.bootstrap`'s (one count matrix per block of resamples times the score matrix).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from maskprivacy.bootstrap import LEVEL, N_RESAMPLES, percentile_interval, resampled_means
from maskprivacy.data.labels import CLASS_NAMES
from maskprivacy.privacy.baselines import Baselines
from maskprivacy.tasks import AGE, AGE_BUCKET, TASKS

#: The private attributes the PVI weighs (tasks; age is read as a regression or by its buckets).
ATTRIBUTES: tuple[str, ...] = ("sex", "race", "age")
BASELINE_KINDS = ("majority", "prior")
AGE_MEASURES = ("regression", "bucket")


# ---------------------------------------------------------------- weights


def parse_weights(text: str) -> dict[str, float]:
    """``"sex=1,race=2,age=1"`` -> dict (not yet normalised; see :func:`normalise_weights`)."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"--weights: {part!r} is not NAME=NUMBER (e.g. sex=0.4,race=0.4,age=0.2)")
        if key in out:
            raise ValueError(f"--weights: {key!r} given twice")
        try:
            out[key] = float(value)
        except ValueError:
            raise ValueError(f"--weights: {value.strip()!r} for {key!r} is not a number") from None
    return out


def normalise_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Validate importance weights and scale them to sum to 1; ``None`` gives equal weights.

    Every attribute of :data:`ATTRIBUTES` must be present (use 0 to leave one out), each weight a
    finite number >= 0, not all 0. Proportions are what matter, so ``sex=2,race=1,age=1`` is fine.
    """
    if weights is None:
        return {a: 1.0 / len(ATTRIBUTES) for a in ATTRIBUTES}
    unknown = sorted(set(weights) - set(ATTRIBUTES))
    if unknown:
        raise ValueError(f"unknown attribute(s) in weights: {', '.join(unknown)}; expected {', '.join(ATTRIBUTES)}")
    missing = [a for a in ATTRIBUTES if a not in weights]
    if missing:
        raise ValueError(f"weights lack {', '.join(missing)}: give all of {', '.join(ATTRIBUTES)} (0 leaves one out)")
    for a in ATTRIBUTES:
        w = weights[a]
        if not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise ValueError(f"weight of {a} must be a finite number >= 0, got {w!r}")
    total = float(sum(weights[a] for a in ATTRIBUTES))
    if total <= 0:
        raise ValueError("weights are all 0: at least one attribute must matter")
    return {a: float(weights[a]) / total for a in ATTRIBUTES}


# ---------------------------------------------------------------- predictability


def predictability(model_score, base_score, kind: str):
    """Normalised predictability (vectorised). ``kind``: ``classification`` (scores are accuracies)
    or ``regression`` (scores are MAEs). NaN where the baseline leaves nothing to beat."""
    m = np.asarray(model_score, dtype=float)
    b = np.asarray(base_score, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "classification":
            p = np.where(b < 1.0, (m - b) / (1.0 - b), np.nan)
        elif kind == "regression":
            p = np.where(b > 0.0, 1.0 - m / b, np.nan)
        else:
            raise ValueError(f"kind must be classification or regression, got {kind!r}")
    p = np.maximum(p, 0.0)  # NaN stays NaN
    return p if p.ndim else float(p)


def measure_of(attribute: str, age_measure: str = "regression") -> tuple[str, str]:
    """(task column in predictions.csv, kind) that measures ``attribute``."""
    if attribute == "age":
        if age_measure not in AGE_MEASURES:
            raise ValueError(f"age_measure must be one of {AGE_MEASURES}, got {age_measure!r}")
        task = AGE if age_measure == "regression" else AGE_BUCKET
        return task.name, task.kind
    if attribute in ATTRIBUTES:
        return attribute, TASKS[attribute].kind
    raise ValueError(f"unknown attribute {attribute!r}")


def image_scores(
    df: pd.DataFrame, task: str, kind: str, baselines: Baselines, baseline: str = "majority"
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image (model score, baseline score): correctness (or expected correctness of the prior
    guesser) for classification, absolute error for regression. Their means are accuracy or MAE."""
    y = df[f"{task}_true"].to_numpy(dtype=float)
    yhat = df[f"{task}_pred"].to_numpy(dtype=float)
    if kind == "regression":
        return np.abs(yhat - y), np.abs(baselines.median_age - y)
    if baseline not in BASELINE_KINDS:
        raise ValueError(f"baseline must be one of {BASELINE_KINDS}, got {baseline!r}")
    n_classes = len(CLASS_NAMES[task])
    yi = y.astype(int)
    if (yi != y).any() or (yi < 0).any() or (yi >= n_classes).any():
        raise ValueError(f"{task}_true must hold class indices 0-{n_classes - 1}")
    model = (np.rint(yhat) == y).astype(float)
    if baseline == "majority":
        base = (yi == baselines.majority[task]).astype(float)
    else:  # P(guess == y_i) for a guess drawn from the training shares
        base = np.asarray(baselines.prior[task], dtype=float)[yi]
    return model, base


# ---------------------------------------------------------------- PVI


@dataclass
class PVIResult:
    """Everything the PVI computation decided and measured; ``to_dict`` is what results.json stores."""

    weights: dict[str, float]
    baselines: Baselines
    baseline: str
    age_measure: str
    n_test: int
    n_boot: int
    seed: int
    level: float
    conditions: dict[str, dict] = field(default_factory=dict)  # condition -> {"pvi", "pvi_ci", "attributes"}
    reduction: float | None = None
    reduction_ci: list[float | None] = field(default_factory=lambda: [None, None])
    warnings: list[str] = field(default_factory=list)
    attacker: str | None = None
    split: str | None = None
    # condition -> attribute -> {"attacker": name, "chosen_on": ...}: who read each attribute
    attackers: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    rule: str | None = None  # how the attackers were chosen, when the run's answer chose them

    def pvi(self, condition: str) -> float | None:
        c = self.conditions.get(condition)
        return None if c is None else c["pvi"]

    def to_dict(self) -> dict:
        d = {
            "masked": self.pvi("masked"),
            "unmasked": self.pvi("unmasked"),
            "reduction": self.reduction,
            "masked_ci": self.conditions.get("masked", {}).get("pvi_ci"),
            "unmasked_ci": self.conditions.get("unmasked", {}).get("pvi_ci"),
            "reduction_ci": self.reduction_ci if self.reduction is not None else None,
            "ci_level": self.level,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "n_test": self.n_test,
            "weights": self.weights,
            "baseline": self.baseline,
            "age_measure": self.age_measure,
            "baselines": self.baselines.to_dict(),
            "attributes": {c: v["attributes"] for c, v in self.conditions.items()},
            "attacker": self.attacker,
            "attackers": self.attackers or None,
            "rule": self.rule,
            "paired": len(self.conditions) > 1,
            "split": self.split,
            "warnings": self.warnings,
            "definition": "predictability P_a = max(0,(acc-base)/(1-base)) for classes, max(0,1-MAE/MAE_median) for age; "
            "PVI = sum_a w_a P_a; reduction = 1 - PVI_masked/PVI_unmasked (docs/PRIVACY.md)",
        }
        return d


def pair_predictions(
    preds: Mapping[str, pd.DataFrame], tasks: tuple[str, ...]
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Restrict every condition to the test faces they all share, in the same row order.

    Masked and unmasked attackers are meant to be tested on the same faces (the split is built from
    names); if they are not, the PVI is computed on the common faces and a warning says how many
    were left out. True labels that disagree between conditions mean the files do not belong
    together: an error.
    """
    if not preds:
        raise ValueError("no predictions given")
    warnings: list[str] = []
    common = None
    for df in preds.values():
        names = set(df["name"].astype(str))
        common = names if common is None else common & names
    assert common is not None
    if not common:
        raise ValueError("the masked and unmasked predictions share no test image; were they made on the same split?")
    order = sorted(common)
    out = {}
    for cond, df in preds.items():
        left = len(df) - len(common)
        if left:
            warnings.append(f"{cond}: {left} test image(s) not predicted under every condition were left out")
        out[cond] = df.assign(name=df["name"].astype(str)).set_index("name").loc[order].reset_index()
    first, *rest = list(out)
    for cond in rest:
        for task in tasks:
            a, b = out[first][f"{task}_true"].to_numpy(), out[cond][f"{task}_true"].to_numpy()
            diff = np.flatnonzero(a != b)
            if diff.size:
                ex = ", ".join(out[first]["name"].iloc[diff[:3]])
                raise ValueError(
                    f"{task}_true differs between {first} and {cond} for {diff.size} image(s) "
                    f"(e.g. {ex}): the files do not describe the same test faces"
                )
    return out, warnings


def compute_pvi(
    preds: Mapping[str, pd.DataFrame],
    baselines: Baselines,
    weights: Mapping[str, float] | None = None,
    baseline: str = "majority",
    age_measure: str = "regression",
    n_boot: int = N_RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
) -> PVIResult:
    """PVI per condition (``{"masked": df, "unmasked": df}``, either may be absent), its bootstrap
    interval, and the reduction when both are given. ``df`` has predictions.csv's columns."""
    if baseline not in BASELINE_KINDS:
        raise ValueError(f"baseline must be one of {BASELINE_KINDS}, got {baseline!r}")
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    w = normalise_weights(weights)
    measures = {a: measure_of(a, age_measure) for a in ATTRIBUTES}
    tasks = tuple(dict.fromkeys(t for t, _ in measures.values()))
    paired, warnings = pair_predictions(preds, tasks)
    conditions = list(paired)
    n = len(next(iter(paired.values())))

    # score matrix: per attribute one baseline column (same for all conditions: same faces, same
    # labels) and one model column per condition
    cols: list[np.ndarray] = []
    where: dict[tuple[str, str], int] = {}
    for a, (task, kind) in measures.items():
        for cond in conditions:
            model, base = image_scores(paired[cond], task, kind, baselines, baseline)
            if ("base", a) not in where:
                where[("base", a)] = len(cols)
                cols.append(base)
            where[(cond, a)] = len(cols)
            cols.append(model)
    scores = np.column_stack(cols)
    point = scores.mean(axis=0)
    boot = resampled_means(scores, n_boot, seed)

    result = PVIResult(w, baselines, baseline, age_measure, n, n_boot, seed, level, warnings=warnings)
    pvi_boot: dict[str, np.ndarray] = {}
    for cond in conditions:
        attrs: dict[str, dict] = {}
        pvi_point = 0.0
        pvi_samples = np.zeros(n_boot)
        for a, (task, kind) in measures.items():
            m, b = where[(cond, a)], where[("base", a)]
            p = predictability(point[m], point[b], kind)
            ps = predictability(boot[:, m], boot[:, b], kind)
            if not np.isfinite(p) and w[a] > 0:
                raise ValueError(
                    f"predictability of {a} is undefined: every test face has the baseline's answer "
                    f"({task}); give {a} weight 0 or use a larger test set"
                )
            attrs[a] = {
                "task": task,
                "kind": kind,
                "metric": "accuracy" if kind == "classification" else "mae",
                "model": float(point[m]),
                "model_ci": percentile_interval(boot[:, m], level),
                "baseline": float(point[b]),
                "predictability": float(p) if np.isfinite(p) else None,
                "predictability_ci": percentile_interval(ps, level),
                "weight": w[a],
            }
            if w[a] > 0:
                pvi_point += w[a] * p
                pvi_samples = pvi_samples + w[a] * ps
        pvi_boot[cond] = pvi_samples
        result.conditions[cond] = {
            "pvi": float(pvi_point),
            "pvi_ci": percentile_interval(pvi_samples, level),
            "attributes": attrs,
        }
    if "masked" in result.conditions and "unmasked" in result.conditions:
        result.reduction = relative_reduction(result.pvi("masked"), result.pvi("unmasked"))
        with np.errstate(divide="ignore", invalid="ignore"):
            red = np.where(pvi_boot["unmasked"] > 0, 1.0 - pvi_boot["masked"] / pvi_boot["unmasked"], np.nan)
        result.reduction_ci = percentile_interval(red, level)
    return result


def relative_reduction(pvi_masked: float, pvi_unmasked: float) -> float | None:
    """``1 - PVI_masked / PVI_unmasked``; None when the unmasked PVI is 0 (nothing to reduce)."""
    if pvi_unmasked <= 0:
        return None
    return 1.0 - pvi_masked / pvi_unmasked


def pvi_from_summary(
    scores: Mapping[str, float],
    base: Mapping[str, float],
    weights: Mapping[str, float] | None = None,
    age_measure: str = "regression",
) -> tuple[float, dict[str, float]]:
    """PVI from summary numbers (no per-image predictions, so no interval): ``scores`` and ``base``
    hold ``sex_accuracy``, ``race_accuracy`` and ``age_mae`` (or ``age_bucket_accuracy``). Used to
    put published numbers through the same formula.

    Each attribute's predictability is how far the attacker gets from the majority baseline towards
    perfect (age: towards zero error); the PVI weights them (equal weights by default).

    >>> pvi, per = pvi_from_summary({"sex_accuracy": 0.9, "race_accuracy": 0.8, "age_mae": 6.0},
    ...                             {"sex_accuracy": 0.5, "race_accuracy": 0.4, "age_mae": 12.0})
    >>> round(pvi, 3), {a: round(p, 3) for a, p in per.items()}
    (0.656, {'sex': 0.8, 'race': 0.667, 'age': 0.5})
    """
    w = normalise_weights(weights)
    keys = {
        "sex": ("sex_accuracy", "classification"),
        "race": ("race_accuracy", "classification"),
        "age": ("age_mae", "regression") if age_measure == "regression" else ("age_bucket_accuracy", "classification"),
    }
    per = {a: float(predictability(scores[k], base[k], kind)) for a, (k, kind) in keys.items()}
    return float(sum(w[a] * per[a] for a in ATTRIBUTES)), per
