"""Protection by mask style: what each CNN attacker still reads behind each mask, with intervals.

"Which mask protects best?" is answered on the same test faces for every style: the cached
(72-px) unmasked test faces of one split wear each style of the table (masking/styles/*.yaml),
drawn from their key points with a seeded generator per (style, face), and every CNN attacker of the
run (``cnn_masked``: the paper-style attacker trained on mask "a"; ``cnn_unmasked``; ``cnn_robust``:
the mask-robust attacker) predicts sex, race, age bucket and age. Rows:

* ``bare``: the unmasked faces (the threat without a mask);
* ``a``: the paper's mask exactly as the masked attacker is tested on it (the masked cache: drawn at
  full resolution, then shrunk), so this row repeats the paper-style table's numbers;
* ``b``-``f``: the paper's other shapes, flat white, drawn at the cache size;
* every realistic style, its colour, print, lighting and placement drawn from the mask distribution
  (masking/random_masks.py) restricted to that style.

Intervals: 95% percentile bootstrap over the test faces, one set of resamples shared by every
(style, attacker) cell (paired: the faces are the same), computed with the PVI's vectorised
:func:`maskprivacy.bootstrap.resampled_means`. PVI per cell with :func:`compute_pvi`; its
reduction is against the unmasked attacker on bare faces (what an attacker reads without a mask),
paired too. The *strongest* attacker of a style is the one with the highest PVI: the worst case for
the wearer, and the figure the style's protection is judged by.

Real masks (``RUN/realmask.json``, written by the real-photo evaluation when it is run) are a different
population and only carry sex/race accuracies; they are copied as is under ``realmask``. Expected
shape::

    {"population": "realmask-dev: 55 people, real masks, ...",
     "attackers": {"cnn_robust": {"sex": {"accuracy": 0.9, "balanced_accuracy": 0.88, "ci": [0.85, 0.94]},
                                  "race": {"accuracy": ..., "balanced_accuracy": ..., "ci": [lo, hi]},
                                  "n": 120}, ...}}
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from maskprivacy.atomic import write_json
from maskprivacy.bootstrap import LEVEL, N_RESAMPLES, resampled_means
from maskprivacy.layout import RunLayout
from maskprivacy.privacy.cell import face_scores, reading_cell
from maskprivacy.privacy.pvi import compute_pvi
from maskprivacy.tasks import TASK_NAMES, TASKS

ATTACKERS = {"cnn_masked": "masked", "cnn_unmasked": "unmasked", "cnn_robust": "robust"}
REFERENCE = ("cnn_unmasked", "bare")  # (attacker, style): the threat without a mask


def style_rows() -> list[str]:
    from maskprivacy.masking.styles.table import style_names

    return ["bare", *style_names()]


def _describe(style: str) -> str:
    from maskprivacy.masking.styles.table import get_style

    if style == "bare":
        return "no mask"
    if style == "a":
        return "the paper's mask, white (the masked test faces themselves)"
    spec = get_style(style)
    return ("the paper's shape, flat white: " if spec.family == "flat" else "") + spec.description


def read_realmask(run: str | os.PathLike) -> dict | None:
    """RUN/realmask.json if present and of the expected shape (else None, with no error: it is optional)."""
    p = RunLayout.of(run).realmask_json
    if not p.is_file():
        return None
    try:
        d = json.loads(p.read_text())
    except json.JSONDecodeError:
        return {"error": f"{p} is not valid JSON"}
    if not isinstance(d, dict) or not isinstance(d.get("attackers"), dict):
        return {"error": f"{p} lacks an 'attackers' mapping (see privacy/by_style.py for its shape)"}
    return d


def protection_by_style(
    run: str | os.PathLike,
    cfg: dict,
    split: str = "uniform",
    seed: int = 0,
    n_boot: int = N_RESAMPLES,
    tta: bool = True,
    level: float = LEVEL,
    styles: list[str] | None = None,
    batch_size: int = 512,
) -> dict[str, Any]:
    """Compute the per-style table of a trained run (see the module docstring); returns styles.json's content."""
    from maskprivacy.masking.random_masks import mask_style_batch
    from maskprivacy.models.predictor import load_run_predictors
    from maskprivacy.privacy.baselines import baselines_from_split
    from maskprivacy.training import cache as cache_mod
    from maskprivacy.training import pipeline as tp
    from maskprivacy.training.metrics import predictions_table

    t0 = time.perf_counter()
    run = Path(run)
    udir, mdir = tp.cache_path(run, cfg, "unmasked"), tp.cache_path(run, cfg, "masked")
    u = cache_mod.load_cache(udir)
    points = cache_mod.ensure_points(udir)
    rows = tp.split_rows(u.names, RunLayout(run).split_csv(split))["test"]
    if len(rows) == 0:
        raise ValueError(f"no test faces in {run / 'splits' / (split + '.csv')}")
    names = [u.names[i] for i in rows]
    truth = {t: getattr(u, t)[rows] for t in TASK_NAMES}
    preds = load_run_predictors(run)
    attackers = {a: preds[(c, split)] for a, c in ATTACKERS.items() if (c, split) in preds}
    if not attackers:
        raise FileNotFoundError(f"no trained CNN attacker under {run / 'train'} for the {split} split")
    masked_images = None
    if mdir.is_dir():
        m = cache_mod.load_cache(mdir)
        if m.names != u.names:
            raise ValueError(f"{mdir} and {udir} hold different faces; rebuild the caches")
        masked_images = m.images
    styles = styles or style_rows()
    faces = np.ascontiguousarray(u.images[rows])
    pts = points[rows]
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    for style in styles:
        if style == "a" and masked_images is not None:
            imgs = np.ascontiguousarray(masked_images[rows])
        else:
            imgs = mask_style_batch(faces, pts, style, seed, keys=names)
        for a, p in attackers.items():
            p.tta = bool(tta)
            probs = p.predict(imgs, batch_size=batch_size)
            frames[(style, a)] = pd.DataFrame(predictions_table(names, truth, probs))
    # paired bootstrap of every cell's accuracies and MAE: one score column per (cell, measure)
    keys = list(frames)
    cols = []
    for k in keys:
        cols += face_scores(frames[k])
    scores = np.column_stack(cols)
    point = scores.mean(axis=0)
    boot = resampled_means(scores, n_boot, seed)
    base = baselines_from_split(RunLayout(run).split_csv(split))
    ref = frames.get((REFERENCE[1], REFERENCE[0]))
    out_styles: dict[str, Any] = {}
    for i, (style, a) in enumerate(keys):
        given = {"masked": frames[(style, a)]}
        if ref is not None:
            given["unmasked"] = ref
        r = compute_pvi(given, base, n_boot=n_boot, seed=seed, level=level)
        cell = reading_cell(point, boot, len(TASKS) * i, level, r)
        entry = out_styles.setdefault(style, {"description": _describe(style), "attackers": {}})
        entry["attackers"][a] = cell
    for style, entry in out_styles.items():
        cells = entry["attackers"]
        entry["strongest"] = max(cells, key=lambda a: cells[a]["pvi"])
    masked_styles = [s for s in out_styles if s != "bare"]
    strongest_pvi = {s: out_styles[s]["attackers"][out_styles[s]["strongest"]]["pvi"] for s in masked_styles}
    res: dict[str, Any] = {
        "split": split,
        "n_test": int(len(rows)),
        "seed": seed,
        "n_boot": n_boot,
        "ci_level": level,
        "tta": bool(tta),
        "attackers": {
            a: {"condition": ATTACKERS[a], "model": f"train/{ATTACKERS[a]}_{split}/model.pt"} for a in attackers
        },
        "reference": {"attacker": REFERENCE[0], "style": REFERENCE[1]} if ref is not None else None,
        "styles": out_styles,
        "best": min(strongest_pvi, key=strongest_pvi.get) if strongest_pvi else None,
        "worst": max(strongest_pvi, key=strongest_pvi.get) if strongest_pvi else None,
        "realmask": read_realmask(run),
        "definition": "each cell: the attacker's accuracy/MAE on the split's test faces wearing the style; PVI as in "
        "docs/PRIVACY.md; reduction = 1 - PVI(cell) / PVI(cnn_unmasked on bare faces), paired bootstrap; "
        "strongest = the attacker with the highest PVI on that style; best/worst: lowest/highest "
        "strongest PVI among the masks",
        "wall_s": round(time.perf_counter() - t0, 2),
    }
    return res


def write_styles(run: str | os.PathLike, data: dict) -> Path:
    path = RunLayout.of(run).styles_json
    write_json(path, data)
    return path
