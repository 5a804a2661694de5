"""What would protect me? Every occlusion against the naive and the adaptive attackers, same faces.

The mask hides little (protection by style, privacy/by_style.py). This table asks the same of
sunglasses, caps, hoods, scarves, blur and pixelation, alone and with a mask (masking/occluders),
and of two adversaries:

* **naive**: the paper-style masked attacker (``naive_paper``) and the strongest attacker as trained
  before occluders existed (``naive``: the non-adaptive masked-face attacker that reads occluded
  validation faces best, privacy/occluded_readers.py);
* **adaptive**: the adaptive attacker (training/stage_adaptive.py) that reads occluded validation
  faces best. Its figures are the answer; the gap to the naive one is how much of an occlusion's
  apparent protection is only the attacker's surprise.

Rows: ``bare`` (nothing), ``mask`` (the paper's mask alone, exactly as the masked attacker is tested on
it: the masked cache) and every registered occlusion, drawn once per face from the face's key points
with a seed that depends only on (seed, face name), on a fixed subset of the split's test
faces (``occlusions.test_faces``; the same faces for every row and attacker). Each attacker reads its
own family's cache of those faces (same names, its own size).

Per (row, attacker): accuracy of sex, race and age bucket and age MAE, each with a 95% percentile
bootstrap interval (one set of resamples for every cell: paired), the PVI and its reduction against
the best bare-face reader (chosen on validation) on the bare faces, paired too (compute_pvi). Per
row: the fraction of the face's area hidden (masking/occluders' face region), and the adaptive
attacker against the naive one on the same faces (McNemar / Wilcoxon). ``best``: the occlusion with
the largest PVI reduction against the adaptive attacker.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from maskprivacy.atomic import write_json
from maskprivacy.bootstrap import LEVEL, N_RESAMPLES, percentile_interval, resampled_means
from maskprivacy.layout import ADAPTIVE, RunLayout
from maskprivacy.privacy.cell import face_scores, reading_cell
from maskprivacy.privacy.occluded_readers import (
    Reader,
    best_reader,
    device,
    family_cfg,
    occluded_val_scores,
    readers,
)
from maskprivacy.privacy.pvi import compute_pvi
from maskprivacy.privacy.significance import paired_tests
from maskprivacy.records import DEFAULT_FAMILY
from maskprivacy.tasks import CLASS_TASKS, TASKS

BARE, MASK = "bare", "mask"
#: The attackers of the table, in the order the report shows them.
ROLES = ("naive_paper", "naive", "adaptive")
ROLE_WORDS = {
    "naive_paper": "the paper-style attacker, trained on the white mask a",
    "naive": "the strongest attacker as trained before occluders, chosen on occluded validation faces",
    "adaptive": "the adaptive attacker, trained on occluders, chosen on occluded validation faces",
}


def fixed_test_faces(names: list[str], n: int | None, seed: int) -> list[str]:
    """A fixed subset of ``n`` test faces (all when ``n`` is null or larger), in name order."""
    if n is None or int(n) >= len(names):
        return sorted(names)
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(sorted(names), size=int(n), replace=False).tolist())


def _describe(name: str) -> str:
    from maskprivacy.masking.occluders import OCCLUSIONS

    if name == BARE:
        return "nothing: the face as photographed"
    if name == MASK:
        return "the paper's mask alone (white, type a), exactly as the masked attacker is tested on it"
    occ = OCCLUSIONS[name]
    return str(getattr(occ, "description", "") or name)


class FamilyFaces:
    """One family's cached test faces (its own size), and each row of the table drawn on them."""

    def __init__(self, root: Path, cfg: dict, names: list[str], seed: int):
        from maskprivacy.training import cache as cache_mod
        from maskprivacy.training.runtime import cache_path

        udir = cache_path(root, cfg, "unmasked")
        u = cache_mod.load_cache(udir)
        index = {n: i for i, n in enumerate(u.names)}
        missing = [n for n in names if n not in index]
        if missing:
            raise ValueError(f"{udir} lacks {len(missing)} test face(s) of the split, e.g. {missing[0]}")
        self.rows = np.array([index[n] for n in names], dtype=np.int64)
        self.names = names
        self.faces = np.ascontiguousarray(u.images[self.rows])
        self.points = cache_mod.ensure_points(udir)[self.rows]
        self.truth = {t: getattr(u, t)[self.rows] for t in TASKS}
        mdir = cache_path(root, cfg, "masked")
        self.masked = None
        if cache_mod.is_complete(mdir):
            m = cache_mod.load_cache(mdir)
            if m.names != u.names:
                raise ValueError(f"{mdir} and {udir} hold different faces; rebuild the caches")
            self.masked = np.ascontiguousarray(m.images[self.rows])
        self.seed = seed
        self._regions: list[np.ndarray] | None = None

    @property
    def regions(self) -> list[np.ndarray]:
        """Each face's region (masking/occluders), against which the area hidden is measured."""
        from maskprivacy.masking.occluders import face_region

        if self._regions is None:
            side = self.faces.shape[1]
            self._regions = [face_region(p, (side, side)) for p in self.points]
        return self._regions

    def row(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The faces wearing row ``name`` and the fraction of each face's area hidden (drawn afresh:
        a row of every face at every size would not fit in memory together)."""
        from maskprivacy.masking.occluders import occlusion_batch

        n, regions = len(self.faces), self.regions
        if name == BARE:
            return self.faces, np.zeros(n)
        if name == MASK:
            if self.masked is None:
                raise FileNotFoundError("the masked cache is not built: the paper's mask row needs it")
            changed = (np.abs(self.masked.astype(np.int16) - self.faces) > 8).any(-1)
            return self.masked, np.array([_fraction(c, r) for c, r in zip(changed, regions)])
        out, hidden = occlusion_batch(self.faces, self.points, name, self.seed, keys=self.names)
        return out, np.array([_fraction(h, r) for h, r in zip(hidden, regions)])


def _fraction(hidden: np.ndarray, region: np.ndarray) -> float:
    area = int(region.sum())
    return float((hidden & region).sum() / area) if area else 0.0


def _choose(run: Path, cfg: dict, split: str, seed: int, names: list[str]) -> tuple[dict[str, Reader], dict, Reader]:
    """The table's attackers (by role), the validation scores they were chosen by, and the reference."""
    from maskprivacy.privacy.discovery import read_predictions, task_score

    cands = readers(run, split)
    val = occluded_val_scores(run, cfg, split, names, seed, int(cfg["eval"]["batch_size"]))
    chosen: dict[str, Reader] = {}
    paper = next((r for r in cands if r.family == DEFAULT_FAMILY and r.trained_on == "masked"), None)
    if paper is not None:
        chosen["naive_paper"] = paper
    naive = best_reader([r for r in cands if not r.adaptive], val["scores"])
    if naive is not None:
        chosen["naive"] = naive
    adaptive = best_reader([r for r in cands if r.adaptive], val["scores"])
    if adaptive is None:
        raise FileNotFoundError(
            f"no adaptive attacker under {run} for the {split} split: run the stage train_{ADAPTIVE}_{split} first"
        )
    chosen["adaptive"] = adaptive
    bare = readers(run, split, ("unmasked",))
    if not bare:
        raise FileNotFoundError(f"no bare-face attacker under {run} for the {split} split: nothing to measure against")

    def bare_val(r: Reader) -> float:
        if not r.val_predictions.is_file():
            return float("nan")
        df, _ = read_predictions(r.val_predictions, CLASS_TASKS)
        return float(np.mean([task_score(t, df) for t in CLASS_TASKS]))

    ref = best_reader(bare, {r.attacker: bare_val(r) for r in bare}) or bare[0]
    return chosen, val, ref


def protection_by_occlusion(
    run: str | os.PathLike,
    cfg: dict,
    split: str = "uniform",
    seed: int = 0,
    n_boot: int = N_RESAMPLES,
    level: float = LEVEL,
    occlusions: list[str] | None = None,
) -> dict[str, Any]:
    """The table of the module docstring for a trained run; returns occlusions.json's content."""
    from maskprivacy.masking.occluders import OCCLUSIONS
    from maskprivacy.models.predictor import Predictor
    from maskprivacy.privacy.baselines import baselines_from_split
    from maskprivacy.training import cache as cache_mod
    from maskprivacy.training.metrics import predictions_table
    from maskprivacy.training.rows import split_rows
    from maskprivacy.training.runtime import cache_path

    t0 = time.perf_counter()
    run = Path(run)
    oc = cfg.get("occlusions") or {}
    unknown = [n for n in occlusions or () if n not in OCCLUSIONS]
    if unknown:
        raise ValueError(f"unknown occlusion(s) {', '.join(unknown)}: choose from {', '.join(OCCLUSIONS)}")
    names = [n for n in (occlusions or OCCLUSIONS) if n != MASK]  # the paper's mask: its own row, as tested
    chosen, val, ref = _choose(run, cfg, split, seed, list(OCCLUSIONS))
    u = cache_mod.load_cache(cache_path(run, cfg, "unmasked"))
    test = [u.names[i] for i in split_rows(u.names, RunLayout(run).split_csv(split))["test"]]
    if not test:
        raise ValueError(f"no test faces in {RunLayout(run).split_csv(split)}")
    subset = fixed_test_faces(test, oc.get("test_faces"), seed)
    tta = bool(oc.get("tta", False))
    bs = int(cfg["eval"]["batch_size"])
    rows = [BARE, MASK, *names]
    families: dict[str, FamilyFaces] = {}
    for r in (*chosen.values(), ref):
        if r.family not in families:
            fcfg = family_cfg(cfg, r.family)
            if fcfg is None:
                raise ValueError(
                    f"the profile has no enabled section {r.family!r} with a cache size, but the run holds its models"
                )
            families[r.family] = FamilyFaces(r.root, fcfg, subset, seed)
    models = {}
    for role, r in (*chosen.items(), ("reference", ref)):
        models[role] = Predictor.load(r.model, device=device(cfg))
        models[role].tta = tta

    def read(role: str, imgs: np.ndarray, ff: FamilyFaces) -> pd.DataFrame:
        return pd.DataFrame(predictions_table(subset, ff.truth, models[role].predict(imgs, batch_size=bs)))

    # row by row, each family's faces drawn once and read by every attacker of that family, then dropped
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    hidden: dict[str, np.ndarray] = {}
    for name in rows:
        for family, ff in families.items():
            imgs, frac = ff.row(name)
            for role, r in chosen.items():
                if r.family == family:
                    frames[(name, role)] = read(role, imgs, ff)
            if family == chosen["adaptive"].family:  # the area hidden, measured where the answer reads
                hidden[name] = frac
            if name == BARE and family == ref.family:
                ref_frame = read("reference", imgs, ff)
    # one score column per (cell, measure), and the hidden fractions: all resampled together (paired)
    keys = list(frames)
    cols: list[np.ndarray] = []
    for k in keys:
        cols += face_scores(frames[k])
    cols += [hidden[name] for name in rows]
    scores = np.column_stack(cols)
    point = scores.mean(axis=0)
    boot = resampled_means(scores, n_boot, seed)
    base = baselines_from_split(RunLayout(run).split_csv(split))
    out_rows: dict[str, Any] = {}
    for i, (name, role) in enumerate(keys):
        p = compute_pvi(
            {"masked": frames[(name, role)], "unmasked": ref_frame}, base, n_boot=n_boot, seed=seed, level=level
        )
        cell = reading_cell(point, boot, len(TASKS) * i, level, p)
        entry = out_rows.setdefault(name, {"description": _describe(name), "attackers": {}})
        entry["attackers"][role] = cell
    h0 = len(TASKS) * len(keys)
    for k, name in enumerate(rows):
        e = out_rows[name]
        e["hidden"] = float(point[h0 + k])
        e["hidden_ci"] = percentile_interval(boot[:, h0 + k], level)
        a = e["attackers"]
        if "naive" in a and a["naive"]["reduction"] is not None and a["adaptive"]["reduction"] is not None:
            e["surprise"] = a["naive"]["reduction"] - a["adaptive"]["reduction"]
        if "naive" in chosen:
            e["adaptive_vs_naive"] = paired_tests(frames[(name, "adaptive")], frames[(name, "naive")])
    ranked = [n for n in rows if n != BARE and out_rows[n]["attackers"]["adaptive"]["reduction"] is not None]
    # ties (e.g. several rows that leave nothing readable) go to the one that hides the least face
    best = (
        max(ranked, key=lambda n: (out_rows[n]["attackers"]["adaptive"]["reduction"], -out_rows[n]["hidden"]))
        if ranked
        else None
    )
    ref_pvi = compute_pvi({"unmasked": ref_frame}, base, n_boot=n_boot, seed=seed, level=level)
    return {
        "split": split,
        "n_test": len(subset),
        "n_test_split": len(test),
        "seed": seed,
        "n_boot": n_boot,
        "ci_level": level,
        "tta": tta,
        "attackers": {
            role: {**r.describe(run), "words": ROLE_WORDS[role], "val_occluded": val["scores"].get(r.attacker)}
            for role, r in chosen.items()
        },
        "reference": {**ref.describe(run), "face": BARE, "pvi": ref_pvi.pvi("unmasked")},
        "validation": {"n": val["n"], "scores": val["scores"]},
        "occlusions": out_rows,
        "best": None
        if best is None
        else {
            "occlusion": best,
            "attacker": chosen["adaptive"].attacker,
            "reduction": out_rows[best]["attackers"]["adaptive"]["reduction"],
            "reduction_ci": out_rows[best]["attackers"]["adaptive"]["reduction_ci"],
            "hidden": out_rows[best]["hidden"],
        },
        "definition": "each cell: the attacker's accuracy/MAE on the same test faces wearing the occlusion; PVI as in "
        "docs/PRIVACY.md; reduction = 1 - PVI(cell) / PVI(best bare-face reader on bare faces), paired bootstrap; "
        "hidden = the share of the face region (jaw line closed over the forehead) the occlusion covers; "
        "surprise = naive reduction - adaptive reduction; best = largest reduction against the adaptive attacker",
        "wall_s": round(time.perf_counter() - t0, 2),
    }


def write_occlusions(run: str | os.PathLike, data: dict) -> Path:
    path = RunLayout.of(run).occlusions_json
    write_json(path, data)
    return path
