"""The paper's figures: the masking pipeline step by step, and the dataset's distributions."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: str | os.PathLike) -> Path:
    """Lay out, write as PNG (creating the folder) and free the figure; one place for every figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def pipeline_figure(
    image: str | os.PathLike | bytes | np.ndarray,
    out: str | os.PathLike,
    style: str = "a",
    color: str = "white",
    detector: str = "fast",
) -> Path:
    """Original -> localisation (box) -> 68 key points -> digital mask, side by side, as a PNG."""
    import cv2

    from maskprivacy.faces.landmarks import get_landmarker
    from maskprivacy.masking.api import NoFaceError, load_rgb
    from maskprivacy.masking.draw import draw_mask

    rgb = load_rgb(image)
    faces = get_landmarker(detector).faces(rgb)
    if not faces:
        raise NoFaceError("no face found in the image; the pipeline figure needs one")
    face = faces[0]
    lw = max(1, round(max(rgb.shape[:2]) / 150))
    boxed = rgb.copy()
    cv2.rectangle(boxed, face.box[:2], face.box[2:], (0, 200, 0), lw)
    pts = boxed.copy()
    for x, y in face.points:
        cv2.circle(pts, (int(x), int(y)), lw + 1, (255, 40, 40), -1, cv2.LINE_AA)
    masked = draw_mask(rgb, face.points, style, color)
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
    for ax, im, title in zip(
        axes,
        (rgb, boxed, pts, masked),
        ("(a) Original", "(b) Localization", "(c) Key points", f"(d) Digital mask ({style})"),
    ):
        ax.imshow(im)
        ax.set_title(title)
        ax.axis("off")
    return _save(fig, out)


def distributions_figure(rows: list[dict], out: str | os.PathLike) -> Path:
    """(a) age histogram, (b) race by sex bar chart, from manifest rows with labels."""
    from maskprivacy.data.labels import RACE_NAMES, SEX_NAMES

    ages = [int(r["age"]) for r in rows]
    by = Counter((int(r["race"]), int(r["sex"])) for r in rows)
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    a1.hist(ages, bins=np.arange(0, max(ages + [1]) + 2) - 0.5, color="#4c72b0")
    a1.set_xlabel("age (years)")
    a1.set_ylabel("images")
    a1.set_title(f"(a) Age distribution (n={len(ages):,})")
    x = np.arange(len(RACE_NAMES))
    for k, (sex, c) in enumerate(zip(SEX_NAMES, ("#4c72b0", "#dd8452"))):
        vals = [by.get((r, k), 0) for r in range(len(RACE_NAMES))]
        a2.bar(x + (k - 0.5) * 0.4, vals, 0.4, label=sex, color=c)
    a2.set_xticks(x, RACE_NAMES)
    a2.set_ylabel("images")
    a2.set_title("(b) Race and sex distribution")
    a2.legend()
    return _save(fig, out)


def pvi_figure(pvi: dict, out: str | os.PathLike) -> Path:
    """Predictability per attribute and the PVI, masked vs unmasked, with bootstrap intervals.

    ``pvi`` is the ``"pvi"`` entry of results.json (``PVIResult.to_dict()``).
    """
    conds = [c for c in ("unmasked", "masked") if c in (pvi.get("attributes") or {})]
    if not conds:
        raise ValueError("the PVI result holds no condition to plot")
    attrs = list(pvi["attributes"][conds[0]])
    labels = attrs + ["PVI"]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = np.arange(len(labels))
    colors = {"unmasked": "#4c72b0", "masked": "#dd8452"}
    width = 0.8 / len(conds)
    for k, c in enumerate(conds):
        vals, lo, hi = [], [], []
        for a in attrs:
            d = pvi["attributes"][c][a]
            v = d["predictability"] if d["predictability"] is not None else np.nan
            ci = d.get("predictability_ci") or [None, None]
            vals.append(v)
            lo.append(v - ci[0] if ci[0] is not None else 0)
            hi.append(ci[1] - v if ci[1] is not None else 0)
        ci = pvi.get(f"{c}_ci") or [None, None]
        v = pvi[c]
        vals.append(v)
        lo.append(v - ci[0] if ci[0] is not None else 0)
        hi.append(ci[1] - v if ci[1] is not None else 0)
        ax.bar(x + (k - (len(conds) - 1) / 2) * width, vals, width, yerr=[lo, hi], capsize=3, color=colors[c], label=c)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("predictability (0 = baseline, 1 = perfect)")
    title = "Privacy Vulnerability Index"
    if pvi.get("reduction") is not None:
        title += f": masks reduce it by {100 * pvi['reduction']:.1f}%"
    if pvi.get("attacker") == "strongest":
        title += "\n(the strongest attacker per attribute and side, chosen on validation)"
    elif pvi.get("attacker"):
        title += f"\n(attacker {pvi['attacker']})"
    ax.set_title(title, fontsize=10)
    ax.legend()
    return _save(fig, out)


def styles_figure(styles: dict, out: str | os.PathLike) -> Path:
    """PVI per mask style and attacker, with bootstrap intervals (``styles`` is styles.json's content).

    Styles are sorted by their strongest attacker's PVI, so the best-protecting mask is at the top,
    with ``bare`` (no mask) last; a dashed line marks the unmasked attacker on bare faces.
    """
    rows = styles.get("styles") or {}
    if not rows:
        raise ValueError("no style to plot")
    attackers = sorted({a for r in rows.values() for a in r["attackers"]})
    order = sorted((s for s in rows if s != "bare"), key=lambda s: rows[s]["attackers"][rows[s]["strongest"]]["pvi"])
    order += ["bare"] if "bare" in rows else []  # no mask: the reference, last
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.42 * len(order)))
    y = np.arange(len(order))
    h = 0.8 / len(attackers)
    colors = {"cnn_masked": "#dd8452", "cnn_unmasked": "#4c72b0", "cnn_robust": "#55a868"}
    for k, a in enumerate(attackers):
        vals, lo, hi = [], [], []
        for s in order:
            c = rows[s]["attackers"].get(a)
            v = c["pvi"] if c else np.nan
            ci = (c or {}).get("pvi_ci") or [None, None]
            vals.append(v)
            lo.append(v - ci[0] if ci[0] is not None else 0)
            hi.append(ci[1] - v if ci[1] is not None else 0)
        ax.barh(
            y + (k - (len(attackers) - 1) / 2) * h,
            vals,
            h,
            xerr=[lo, hi],
            capsize=2,
            color=colors.get(a, None),
            label=a,
        )
    ref = styles.get("reference") or {}
    bare = rows.get(ref.get("style", ""), {}).get("attackers", {}).get(ref.get("attacker", ""))
    if bare:
        ax.axvline(bare["pvi"], color="#333", ls="--", lw=1, label=f"{ref['attacker']} on bare faces")
    ax.set_yticks(y, order)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("PVI (0 = nothing readable beyond guessing, 1 = everything)")
    ax.set_title(
        f"What each mask style leaves readable ({styles.get('split', '')} split, n={styles.get('n_test', '?')}; "
        "best-protecting first)",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, out)
