"""The report's "What would protect me?" section, from results.json's ``occlusions`` block.

Every figure of the section, the one-sentence answer included, is read from the block
(privacy/occlusions.py); nothing is typed, so the sentence changes with the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from maskprivacy.layout import RunLayout
from maskprivacy.report.blocks import (
    NOT_RUN,
    Block,
    fmt_ci,
    fmt_num,
    fmt_pct,
    fmt_pct_ci,
    heading,
    image_block,
    paragraph,
    table_block,
)

COLUMNS = (
    "occlusion",
    "face hidden",
    "attacker",
    "sex",
    "race",
    "age buckets",
    "age MAE",
    "PVI",
    "PVI reduction",
)
ROLE_LABELS = {"naive_paper": "naive (paper-style)", "naive": "naive (strongest)", "adaptive": "adaptive"}


def _adaptive_reduction(occ: Mapping[str, Any], name: str) -> float:
    r = occ["occlusions"][name]["attackers"]["adaptive"].get("reduction")
    return float("-inf") if r is None else float(r)


def answer_sentence(occ: Mapping[str, Any]) -> str:
    """One plain sentence: what protects best against the adaptive attacker, by how much, at what cost
    in face hidden, and what the same occlusion seemed to do against the naive attacker."""
    best = occ.get("best")
    if not best:
        ref = occ.get("reference") or {}
        return (
            f"No occlusion's protection could be measured: {ref.get('attacker')} reads nothing beyond guessing on "
            f"these bare faces (PVI {fmt_num(ref.get('pvi'), 3)}), so there is no PVI to reduce."
        )
    row = occ["occlusions"][best["occlusion"]]
    lvl = f"{100 * float(occ.get('ci_level', 0.95)):.0f}%"
    text = (
        f"Against the adaptive attacker ({best['attacker']}), {best['occlusion']} protects best: it cuts the PVI by "
        f"{fmt_pct(best['reduction'], 1)} ({lvl} interval{fmt_ci(best.get('reduction_ci'), True)}) while hiding "
        f"{fmt_pct(best['hidden'], 0)} of the face"
    )
    naive = row["attackers"].get("naive")
    if naive and naive.get("reduction") is not None:
        text += f", where the naive attacker made it look like {fmt_pct(naive['reduction'], 1)}"
    mask = (occ["occlusions"].get("mask") or {}).get("attackers", {}).get("adaptive")
    if mask and mask.get("reduction") is not None and best["occlusion"] != "mask":
        text += f"; the paper's mask alone cuts it by {fmt_pct(mask['reduction'], 1)}"
    return text + "."


def protection_blocks(run: Path, res: Mapping[str, Any]) -> list[Block]:
    out = [heading(2, "What would protect me? Occlusions against a naive and an adaptive attacker")]
    occ = res.get("occlusions")
    if not occ:
        return out + [paragraph(f"{NOT_RUN} (reproduce stage `protection`).")]
    lvl = f"{100 * float(occ.get('ci_level', 0.95)):.0f}%"
    who = "; ".join(
        f"{ROLE_LABELS[r]}: {a['attacker']} ({a['words']})" for r, a in (occ.get("attackers") or {}).items()
    )
    ref = occ.get("reference") or {}
    out.append(paragraph(answer_sentence(occ)))
    out.append(
        paragraph(
            f"Each occlusion drawn once on the same {occ.get('n_test')} test faces ({occ.get('split')} split, a fixed "
            f"subset of {occ.get('n_test_split')}) from their key points, read by {who}. Accuracy [{lvl} bootstrap "
            f"interval, {occ.get('n_boot')} paired resamples]; PVI reduction against {ref.get('attacker')} on bare "
            f"faces; face hidden: the share of the face region (jaw line closed over the forehead) covered. Sorted "
            f"from the best protection against the adaptive attacker to the worst."
        )
    )
    rows_ = occ["occlusions"]
    order = sorted((n for n in rows_ if n != "bare"), key=lambda n: -_adaptive_reduction(occ, n))
    order += ["bare"] if "bare" in rows_ else []
    rows = []
    for n in order:
        e = rows_[n]
        for role in ROLE_LABELS:
            c = e["attackers"].get(role)
            if c is None:
                continue
            rows.append(
                [
                    n,
                    fmt_pct(e.get("hidden"), 0),
                    ROLE_LABELS[role],
                    fmt_pct_ci(c["sex"]["accuracy"], c["sex"]["ci"]),
                    fmt_pct_ci(c["race"]["accuracy"], c["race"]["ci"]),
                    fmt_pct_ci(c["age_bucket"]["accuracy"], c["age_bucket"]["ci"]),
                    f"{c['age']['mae']:.2f}{fmt_ci(c['age']['ci'])}",
                    f"{c['pvi']:.3f}{fmt_ci(c.get('pvi_ci'))}",
                    "undefined" if c.get("reduction") is None else fmt_pct_ci(c["reduction"], c.get("reduction_ci")),
                ]
            )
    out.append(table_block(list(COLUMNS), rows))
    desc = [[n, rows_[n].get("description", "")] for n in order]
    out.append(Block("details", "what each occlusion is", children=(table_block(["occlusion", "description"], desc),)))
    fig = RunLayout.of(run).figure("occlusions")  # written by the protection stage (report/frontier.py)
    if fig.is_file():
        out.append(
            image_block(
                fig,
                "PVI reduction against the fraction of the face hidden: hollow = naive attacker, filled = adaptive; "
                "the line between them is protection that was only the attacker's surprise",
            )
        )
    return out
