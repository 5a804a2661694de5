"""Which model reads which face, chosen on validation faces and recorded in ``RUN/readers.json``.

A run holds several single-network attackers (the paper-style CNN, the mask-robust and real-mask
ones, and the same conditions of each other family, e.g. the face network). ``analyze``, ``evaluate``
and ``serve`` read one face with one model, and the user should get the best one the run measured,
not a fixed family. Three roles, each chosen among the models that could fill it:

* ``bare``: a face as photographed, without a mask: the bare-face attackers, scored on the split's
  UTKFace validation faces (mean of sex, race and age-bucket accuracy, ``val_predictions.csv``);
* ``digital``: a bare face wearing the mask the tool draws: every masked-face attacker, scored the
  same way on the validation faces wearing the paper's mask;
* ``real_mask``: a face that already wears a real mask: every masked-face attacker, scored on the
  validation part of the real masked photos (``--real-masks-train``; mean of sex balanced accuracy
  and race accuracy over the labelled photos), or, for a run without them, the mask-robust attackers
  scored as ``digital``;
* ``occluded``: a face behind sunglasses, a cap, a hood, a blur...: the adaptive attackers (trained
  on occluders), scored on the split's validation faces each wearing a random occlusion, every other
  masked-face attacker scored beside them (privacy/occluded_readers.py); ``maskprivacy protect`` reads
  with it. No role in a run without an adaptive attacker.

Test faces are never used: the choice is part of the attacker, and its test figures stay honest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from maskprivacy.analysis.evaluate import accuracy_with_ci, auc_with_ci
from maskprivacy.faces.align import resize_crop
from maskprivacy.layout import MASKED_FACE_CONDITIONS, ROBUST, SPLITS, RunLayout
from maskprivacy.models.predictor import Predictor
from maskprivacy.privacy.occluded_readers import choose_occluded
from maskprivacy.records import attacker_name
from maskprivacy.tasks import CLASS_TASKS
from maskprivacy.training.real_photos import group_ids
from maskprivacy.training.runtime import family_roots
from maskprivacy.training.stage_real import real_parts

UTK_TASKS = CLASS_TASKS


def candidates(run: str | os.PathLike, split: str, conditions: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every trained single-network attacker of ``run`` for ``split`` among ``conditions``."""
    run = Path(run)
    out = []
    for family, root in family_roots(run):
        for cond in conditions:
            folder = RunLayout(root).attacker(cond, split)
            d = folder.path
            if folder.model.is_file():
                out.append(
                    {
                        "attacker": attacker_name(family, cond),
                        "family": family,
                        "condition": cond,
                        "model": folder.model.relative_to(run).as_posix(),
                        "name": d.relative_to(run).as_posix().replace("train/", ""),
                        "val": folder.val_predictions,
                    }
                )
    return out


def utk_val_score(val_csv: Path) -> float | None:
    """Mean accuracy of sex, race and age bucket on the split's validation faces (None: not written)."""
    if not val_csv.is_file():
        return None
    df = pd.read_csv(val_csv)
    accs = [float((df[f"{t}_pred"] == df[f"{t}_true"]).mean()) for t in UTK_TASKS if f"{t}_pred" in df]
    return float(np.mean(accs)) if accs else None


def real_val_score(
    model: Path, crops: np.ndarray, sex: np.ndarray, race: np.ndarray, groups: np.ndarray, n_boot: int = 1000
) -> dict[str, Any]:
    """A model's reading of aligned real photos: sex balanced accuracy and AUC, race accuracy, each with a
    95% bootstrap interval over ``groups`` (people or near-duplicate clusters, not photos: copies of one
    face are not independent), and ``score`` = the mean of sex balanced accuracy and race accuracy."""
    pred = Predictor.load(model, device="cpu")
    side = pred.info.get("cache_size")
    faces = np.stack([resize_crop(np.asarray(c), int(side) if side else None) for c in crops])
    out = pred.predict(faces)
    # one row per photo, its group as the "person" the bootstrap resamples (evaluate's pNNN_ convention)
    rows = [
        {
            "path": f"p{int(g)}_{i}",
            "found": 1,
            "sex_true": int(sex[i]) if sex[i] >= 0 else None,
            "sex_pred": int(out["sex"][i].argmax()),
            "sex_prob_female": float(out["sex"][i, 1]),
            "race_true": int(race[i]) if race[i] >= 0 else None,
            "race_pred": int(out["race"][i].argmax()),
        }
        for i, g in enumerate(groups)
    ]
    res: dict[str, Any] = {}
    if (sex >= 0).any():
        s = accuracy_with_ci(rows, "sex", n_boot=n_boot)
        res["sex"] = {k: s[k] for k in ("accuracy", "ci", "balanced_accuracy", "balanced_ci", "n")}
        res["sex"].update(auc_with_ci(rows, "sex", n_boot=n_boot))
    if (race >= 0).any():
        r = accuracy_with_ci(rows, "race", n_boot=n_boot)
        res["race"] = {k: r[k] for k in ("accuracy", "ci", "n")}
    parts = [
        v
        for v in ((res.get("sex") or {}).get("balanced_accuracy"), (res.get("race") or {}).get("accuracy"))
        if v is not None
    ]
    res["score"] = float(np.mean(parts)) if parts else float("nan")
    res["resampled"] = f"{len(np.unique(groups))} people or near-duplicate clusters"
    return res


def _best(cands: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    scored = [c for c in cands if c.get(key) is not None and np.isfinite(c[key])]
    return max(scored, key=lambda c: c[key]) if scored else None


def choose_readers(run: str | os.PathLike, cfg: dict, photos: Any = None) -> dict[str, Any]:
    """The readers of every split: ``{"splits": {split: {role: choice}}, "roles": {role: uniform's}}``.

    ``photos``: the run's aligned real training photos (:class:`maskprivacy.training.real_photos.RealPhotos`),
    whose validation part scores the real-mask readers; None: no real photos, the rule above.
    """
    run = Path(run)
    val_real = None
    if photos is not None and len(photos):
        v = np.flatnonzero(real_parts(photos, cfg) == "val")
        if len(v):
            groups = group_ids(photos.person, photos.cluster)[v]
            val_real = (np.asarray(photos.crops[v]), photos.sex[v], photos.race[v], groups)
    splits: dict[str, dict[str, Any]] = {}
    for split in SPLITS:
        roles: dict[str, Any] = {}
        bare = candidates(run, split, ("unmasked",))
        masked = candidates(run, split, MASKED_FACE_CONDITIONS)
        for c in bare + masked:
            c["utk_val"] = utk_val_score(c.pop("val"))
        for role, cands, why in (
            ("bare", bare, "best mean accuracy on the split's bare validation faces"),
            ("digital", masked, "best mean accuracy on the split's validation faces with the paper's mask"),
        ):
            b = _best(cands, "utk_val")
            if b is not None:
                roles[role] = {**b, "why": why, "candidates": {c["name"]: c["utk_val"] for c in cands}}
        if val_real is not None and masked:
            for c in masked:
                c["real_val"] = real_val_score(run / c["model"], *val_real)
                c["real_score"] = c["real_val"]["score"]
            b = _best(masked, "real_score")
            why = (
                f"best mean of sex balanced accuracy and race accuracy on the {int(((val_real[1] >= 0) | (val_real[2] >= 0)).sum())} "
                "labelled real masked validation photos (whole people / near-duplicate clusters kept apart from training)"
            )
            cand = {c["name"]: c["real_val"] for c in masked}
        else:
            b = _best([c for c in masked if c["condition"] == ROBUST], "utk_val")
            why = "no real masked photos in the run: the mask-robust attacker with the best validation accuracy"
            cand = {c["name"]: c["utk_val"] for c in masked if c["condition"] == ROBUST}
        if b is not None:
            roles["real_mask"] = {
                **{k: v for k, v in b.items() if k != "real_val"},
                "why": why,
                "candidates": cand,
            }
        occluded = choose_occluded(run, cfg, split)
        if occluded is not None:
            roles["occluded"] = occluded
        splits[split] = {r: {k: v for k, v in d.items() if k not in ("real_score",)} for r, d in roles.items()}
    return {"splits": splits, "roles": splits.get("uniform", {})}
