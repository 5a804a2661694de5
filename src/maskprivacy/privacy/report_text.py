"""Plain-text rendering of a PVI result for the terminal."""

from __future__ import annotations

from maskprivacy.data.labels import AGE_BUCKET_NAMES, CLASS_NAMES
from maskprivacy.privacy.pvi import ATTRIBUTES, PVIResult
from maskprivacy.tasks import CLASS_TASKS


def _ci(ci: list | None, fmt: str = "{:.3f}") -> str:
    if not ci or ci[0] is None:
        return "[n/a]"
    return "[" + fmt.format(ci[0]) + ", " + fmt.format(ci[1]) + "]"


def _metric(a: dict) -> str:
    return f"acc {100 * a['model']:.2f}%" if a["kind"] == "classification" else f"MAE {a['model']:.2f}"


def format_pvi(r: PVIResult) -> str:
    d = r.to_dict()
    b = r.baselines
    lvl = f"{100 * r.level:.0f}%"
    lines = [
        f"Privacy Vulnerability Index   attacker {r.attacker or '-'}, split {r.split or '-'}, "
        f"{r.n_test:,} paired test faces, {r.n_boot:,} bootstrap resamples (seed {r.seed}), {lvl} intervals",
        "",
        f"baselines from the training labels (n={b.n_train:,}): majority class "
        + ", ".join(f"{t} {CLASS_NAMES[t][b.majority[t]]}" for t in CLASS_TASKS)
        + f"; median age {b.median_age:g}; chance level: "
        + ("majority class" if r.baseline == "majority" else "guessing from the training class shares"),
        "weights: " + ", ".join(f"{a} {r.weights[a]:.3f}" for a in ATTRIBUTES),
        "",
    ]
    if r.rule and r.attackers:
        lines[1:1] = [
            f"attackers ({c}): "
            + ", ".join(f"{a} {d['attacker']} (chosen on {d.get('chosen_on', '?')})" for a, d in v.items())
            for c, v in r.attackers.items()
        ]
    head = f"{'attribute':<10} {'baseline on test':<22}"
    conds = list(r.conditions)
    for c in conds:
        head += f" {c + ': model':>16} {'predictability ' + lvl + ' CI':>30}"
    lines += [head]
    for a in ATTRIBUTES:
        first = r.conditions[conds[0]]["attributes"][a]
        base = (
            f"acc {100 * first['baseline']:.2f}%"
            if first["kind"] == "classification"
            else f"MAE {first['baseline']:.2f}"
        )
        row = f"{a:<10} {base:<22}"
        for c in conds:
            x = r.conditions[c]["attributes"][a]
            p = "n/a" if x["predictability"] is None else f"{x['predictability']:.3f}"
            row += f" {_metric(x):>16} {p + ' ' + _ci(x['predictability_ci']):>30}"
        lines.append(row)
    lines.append("")
    for c in ("masked", "unmasked"):
        if c in r.conditions:
            lines.append(f"PVI {c:<9} {d[c]:.3f} {_ci(d[c + '_ci'])}")
        else:
            lines.append(f"PVI {c:<9} not run")
    if r.reduction is not None:
        lines.append(
            f"reduction     {100 * r.reduction:.1f}% {_ci(d['reduction_ci'], '{:.1%}')}  "
            "(1 - PVI masked / PVI unmasked)"
        )
    else:
        lines.append("reduction     not run (needs both masked and unmasked predictions)")
    if r.age_measure == "bucket":
        lines.append(f"age measured as 7-bucket accuracy ({', '.join(AGE_BUCKET_NAMES)})")
    for w in r.warnings:
        lines.append(f"note: {w}")
    return "\n".join(lines)
