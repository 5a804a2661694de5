"""The protection frontier: how much each occlusion cuts the PVI against how much of the face it hides.

One labelled point per occlusion and attacker (occlusions.json, privacy/occlusions.py): hollow for
the naive attacker, filled for the adaptive one, a thin line joining the two readings of the same
occlusion, so the distance between them is the protection that was only the attacker's surprise.
Up and to the left is better: more protection for less face hidden.
"""

from __future__ import annotations

import os
from pathlib import Path

from maskprivacy.report.figures import _plt, _save

#: How each attacker of the table is drawn: (label, marker face, colour).
MARKS = {
    "naive": ("naive (strongest as trained before occluders)", "none", "#dd8452"),
    "adaptive": ("adaptive (trained on occluders)", "full", "#4c72b0"),
}


def frontier_points(res: dict) -> dict[str, list[tuple[str, float, float]]]:
    """``{role: [(occlusion, area hidden, PVI reduction)]}`` for the naive and adaptive attackers,
    every row but ``bare`` with a reduction (the naive side falls back to the paper-style attacker
    when the run has no other naive one)."""
    rows = res.get("occlusions") or {}
    out: dict[str, list[tuple[str, float, float]]] = {}
    for role in MARKS:
        for name, e in rows.items():
            a = e["attackers"]
            cell = a.get(role) or (a.get("naive_paper") if role == "naive" else None)
            if name == "bare" or cell is None or cell.get("reduction") is None:
                continue
            out.setdefault(role, []).append((name, float(e["hidden"]), float(cell["reduction"])))
    return out


def frontier_figure(res: dict, out: str | os.PathLike) -> Path:
    """Draw the frontier of occlusions.json's content ``res`` to ``out`` (PNG). When the bare-face
    reader reads nothing beyond guessing (its PVI is 0, e.g. a tiny run), there is no reduction to
    plot and the figure says so instead of failing the stage."""
    if not res.get("occlusions"):
        raise ValueError("occlusions.json holds no occlusion to plot")
    pts = frontier_points(res)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.5, 6.0))
    if not pts.get("adaptive"):
        ref = res.get("reference") or {}
        ax.text(
            0.5,
            0.5,
            f"{ref.get('attacker', 'the bare-face reader')} reads nothing beyond guessing on bare faces "
            f"(PVI {ref.get('pvi')}):\nno PVI reduction to plot",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    naive = {n: (x, y) for n, x, y in pts.get("naive", [])}
    for n, x, y in pts.get("adaptive", []):
        if n in naive:
            ax.plot([naive[n][0], x], [naive[n][1], y], color="#999", lw=0.7, zorder=1)
    for role, (label, face, color) in MARKS.items():
        p = pts.get(role) or []
        if not p:
            continue
        ax.scatter(
            [x for _, x, _ in p],
            [y for _, _, y in p],
            s=36,
            marker="o",
            facecolors=color if face == "full" else "none",
            edgecolors=color,
            label=label,
            zorder=2,
        )
    for n, x, y in pts.get("adaptive", []):
        ax.annotate(n, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7, color="#223")
    ax.axhline(0, color="#333", lw=0.8, ls="--")
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("fraction of the face's area hidden")
    ax.set_ylabel("PVI reduction against the best bare-face reader (1 = nothing readable)")
    ax.set_title(
        f"What protects, and what only surprises the attacker ({res.get('split', '')} split, n={res.get('n_test', '?')})"
    )
    if pts:
        ax.legend(loc="best", fontsize=8)
    return _save(fig, out)
