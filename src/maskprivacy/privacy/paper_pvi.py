"""The paper's published numbers through our PVI formula, next to its reported 2.9% reduction.

The paper's PVI formula, its importance weights (from its survey) and the exact results it fed in
are not public, so 2.9% cannot be recomputed; this shows what *our* definition gives on the
paper's published accuracies and how much the answer depends on choices the paper does not state.
Baselines: UTKFace class shares for sex and race (counts in ``paper.py``, as quoted in
PAPER_NOTES) and, for age, the labels read from the archive's file names (median age, the MAE of
always answering it, and the 7-bucket shares) — nothing typed by hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from maskprivacy.data.labels import AGE_BUCKET_NAMES
from maskprivacy.paper import (
    PAPER_PVI_MASKED,
    PAPER_PVI_REDUCTION,
    PAPER_PVI_UNMASKED,
    UTKFACE_RACE_COUNTS,
    UTKFACE_SEX_COUNTS,
)
from maskprivacy.privacy.baselines import iter_names, labels_from_names, median_predictor_mae
from maskprivacy.privacy.pvi import ATTRIBUTES, normalise_weights, pvi_from_summary, relative_reduction

NEEDED_INPUTS = (
    "the formula itself: how predictability is scaled (raw accuracy, or chance-corrected against which "
    "baseline), and how age enters (MAE or 7-bucket accuracy)",
    "the importance weight of each attribute, derived from the paper's survey (its data are not public)",
    "which results were compared: masked random or uniform split, and whether the unmasked side was the "
    "quoted state of the art of other papers or the authors' own unmasked model",
    "for chance correction: the baselines on the paper's own test set (majority share, median-age MAE)",
)


@dataclass(frozen=True)
class UTKFaceBase:
    """Summary baselines of the whole UTKFace set (the paper's test set is not public)."""

    sex_shares: tuple[float, ...]
    race_shares: tuple[float, ...]
    bucket_shares: tuple[float, ...]
    median_age: float
    median_mae: float
    n_age: int

    def scores(self, kind: str) -> dict[str, float]:
        """Baseline accuracy/MAE per metric: ``majority`` (largest share) or ``prior`` (sum p_k^2)."""
        f = max if kind == "majority" else (lambda p: float(np.sum(np.square(p))))
        return {
            "sex_accuracy": float(f(self.sex_shares)),
            "race_accuracy": float(f(self.race_shares)),
            "age_bucket_accuracy": float(f(self.bucket_shares)),
            "age_mae": self.median_mae,
        }


def utkface_base(data: str | os.PathLike) -> UTKFaceBase:
    labels, _ = labels_from_names(iter_names(data))
    if not labels:
        raise ValueError(f"no UTKFace-named images in {data}")
    ages = np.array([l.age for l in labels], dtype=float)
    buckets = np.bincount([l.age_bucket for l in labels], minlength=len(AGE_BUCKET_NAMES)) / len(labels)
    sex = np.array(UTKFACE_SEX_COUNTS, float)
    race = np.array(UTKFACE_RACE_COUNTS, float)
    return UTKFaceBase(
        tuple(sex / sex.sum()),
        tuple(race / race.sum()),
        tuple(float(b) for b in buckets),
        float(np.median(ages)),
        median_predictor_mae(ages),
        len(labels),
    )


def paper_variants(base: UTKFaceBase, weights: dict[str, float] | None = None) -> list[dict]:
    """Reduction of the PVI from the paper's numbers under our formula and a few stated variants."""
    w = normalise_weights(weights)
    rows = []
    for kind in ("majority", "prior"):
        for age_measure in ("regression", "bucket"):
            b = base.scores(kind)
            pm, per_m = pvi_from_summary(PAPER_PVI_MASKED, b, w, age_measure)
            pu, per_u = pvi_from_summary(PAPER_PVI_UNMASKED, b, w, age_measure)
            per_red = {a: relative_reduction(per_m[a], per_u[a]) for a in ATTRIBUTES}
            rows.append(
                {
                    "variant": f"chance-corrected ({kind} baseline), age as "
                    f"{'MAE vs median' if age_measure == 'regression' else '7-bucket accuracy'}",
                    "baseline": kind,
                    "age_measure": age_measure,
                    "pvi_masked": pm,
                    "pvi_unmasked": pu,
                    "reduction": relative_reduction(pm, pu),
                    "predictability_masked": per_m,
                    "predictability_unmasked": per_u,
                    "per_attribute_reduction": per_red,
                    "reduction_range_over_weights": [min(per_red.values()), max(per_red.values())],
                }
            )
    # no chance correction: a plain weighted mean of accuracies (age as bucket accuracy)
    keys = {"sex": "sex_accuracy", "race": "race_accuracy", "age": "age_bucket_accuracy"}
    pm = sum(w[a] * PAPER_PVI_MASKED[k] for a, k in keys.items())
    pu = sum(w[a] * PAPER_PVI_UNMASKED[k] for a, k in keys.items())
    per_red = {a: relative_reduction(PAPER_PVI_MASKED[k], PAPER_PVI_UNMASKED[k]) for a, k in keys.items()}
    rows.append(
        {
            "variant": "no chance correction: weighted mean of raw accuracies (age as 7-bucket accuracy)",
            "baseline": None,
            "age_measure": "bucket",
            "pvi_masked": pm,
            "pvi_unmasked": pu,
            "reduction": relative_reduction(pm, pu),
            "predictability_masked": {a: PAPER_PVI_MASKED[k] for a, k in keys.items()},
            "predictability_unmasked": {a: PAPER_PVI_UNMASKED[k] for a, k in keys.items()},
            "per_attribute_reduction": per_red,
            "reduction_range_over_weights": [min(per_red.values()), max(per_red.values())],
        }
    )
    return rows


def paper_check(data: str | os.PathLike, weights: dict[str, float] | None = None) -> dict:
    """Everything ``maskprivacy privacy paper`` prints, as a dict."""
    base = utkface_base(data)
    return {
        "paper_reduction": PAPER_PVI_REDUCTION,
        "inputs_masked": PAPER_PVI_MASKED,
        "inputs_unmasked": PAPER_PVI_UNMASKED,
        "weights": normalise_weights(weights),
        "baselines": {
            "sex_shares": base.sex_shares,
            "race_shares": base.race_shares,
            "age_bucket_shares": base.bucket_shares,
            "median_age": base.median_age,
            "median_age_mae": base.median_mae,
            "n_age_labels": base.n_age,
            "majority": base.scores("majority"),
            "prior": base.scores("prior"),
            "source": f"sex/race: UTKFace counts in maskprivacy.paper; age: names in {data}",
        },
        "variants": paper_variants(base, weights),
        "needed_inputs": list(NEEDED_INPUTS),
    }


def format_paper_check(d: dict) -> str:
    pct = lambda x: "n/a" if x is None else f"{100 * x:.1f}%"  # noqa: E731
    b = d["baselines"]
    lines = [
        "The paper's published numbers through maskprivacy's PVI (docs/PRIVACY.md)",
        "",
        "inputs (accuracy as %, age MAE in years):",
        f"  masked   : sex {100 * d['inputs_masked']['sex_accuracy']:.2f}  race {100 * d['inputs_masked']['race_accuracy']:.2f}  "
        f"age bucket {100 * d['inputs_masked']['age_bucket_accuracy']:.2f}  age MAE {d['inputs_masked']['age_mae']:.2f}"
        "   (uniform split; MAE from the random split)",
        f"  unmasked : sex {100 * d['inputs_unmasked']['sex_accuracy']:.2f}  race {100 * d['inputs_unmasked']['race_accuracy']:.2f}  "
        f"age bucket {100 * d['inputs_unmasked']['age_bucket_accuracy']:.2f}  age MAE {d['inputs_unmasked']['age_mae']:.2f}"
        "   (state of the art quoted by the paper)",
        "",
        "baselines (whole UTKFace; the paper's test set is not public):",
        f"  majority share: sex {pct(b['majority']['sex_accuracy'])}, race {pct(b['majority']['race_accuracy'])}, "
        f"age bucket {pct(b['majority']['age_bucket_accuracy'])}",
        f"  prior-matching sum p_k^2: sex {pct(b['prior']['sex_accuracy'])}, race {pct(b['prior']['race_accuracy'])}, "
        f"age bucket {pct(b['prior']['age_bucket_accuracy'])}",
        f"  median age {b['median_age']:.0f}; MAE of always answering it {b['median_age_mae']:.2f} years "
        f"({b['n_age_labels']:,} labelled names)",
        f"  source: {b['source']}",
        "",
        "weights: " + ", ".join(f"{a} {w:.3f}" for a, w in d["weights"].items()),
        "",
        f"{'variant':<82} {'PVI masked':>10} {'unmasked':>9} {'reduction':>9}   per attribute (sex/race/age)   range over all weights",
    ]
    for v in d["variants"]:
        per = "/".join(pct(v["per_attribute_reduction"][a]) for a in ATTRIBUTES)
        lo, hi = v["reduction_range_over_weights"]
        lines.append(
            f"{v['variant']:<82} {v['pvi_masked']:>10.3f} {v['pvi_unmasked']:>9.3f} {pct(v['reduction']):>9}   "
            f"{per:<29}  {pct(lo)} to {pct(hi)}"
        )
    lines += [
        f"{'paper (reported)':<82} {'':>10} {'':>9} {pct(d['paper_reduction']):>9}",
        "",
        "Any choice of weights gives a reduction between the smallest and largest per-attribute reduction",
        "(last column); a reported figure outside that range cannot come from that variant with any weights.",
        "",
        "To recompute the paper's exact figure one would need:",
        *[f"  - {x}" for x in d["needed_inputs"]],
    ]
    return "\n".join(lines)
