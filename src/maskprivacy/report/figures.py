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


def pipeline_figure(image: str | os.PathLike | bytes | np.ndarray, out: str | os.PathLike, style: str = "a",
                    color: str = "white", detector: str = "fast") -> Path:
    """Original -> localisation (box) -> 68 key points -> digital mask, side by side, as a PNG."""
    import cv2

    from ..masking.api import NoFaceError, load_rgb
    from ..masking.draw import draw_mask
    from ..masking.landmarks import get_landmarker

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
    for ax, im, title in zip(axes, (rgb, boxed, pts, masked),
                             ("(a) Original", "(b) Localization", "(c) Key points", f"(d) Digital mask ({style})")):
        ax.imshow(im)
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def distributions_figure(rows: list[dict], out: str | os.PathLike) -> Path:
    """(a) age histogram, (b) race by sex bar chart, from manifest rows with labels."""
    from ..data.labels import RACE_NAMES, SEX_NAMES

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
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
