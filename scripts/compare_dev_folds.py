#!/usr/bin/env python3
"""Real-mask attackers compared on the same faces: today's, + realmask-dev's person folds, + AdaBN.

Why: realmask-dev may train the real-mask attacker only under person-disjoint cross-validation, and
unlabelled adaptation (AdaBN: batch-norm statistics re-estimated on the real photos, blanks included)
costs nothing to try on trained models. Which to keep is decided on validation faces only, read two
ways, each with a 95% bootstrap interval and a paired difference against today's attacker:

* realmask-dev, cross-validated: today's attacker never saw these people, so it reads every dev photo;
  with the folds, each photo is read by the fold model trained without its person (out of fold);
* realmask-train's validation clusters (whole near-duplicate clusters, never trained on), read by the
  attacker a run would ship (with folds: trained on every dev person).

AdaBN is applied here to copies of the trained bundles (``--out``), exactly as ``real.adabn`` applies it
in the run (:func:`maskprivacy.training.adabn.ensure_adapted`, on the real photos of each model's own
train part, labelled and blank), so no training is repeated. A network without batch norm (the face
network) is reported as such.

    python scripts/compare_dev_folds.py --run RUN_WITH_FOLDS --baseline RUN_WITHOUT --family cnn --out DIR

RUN_WITH_FOLDS was made with ``--real-masks`` and ``real.dev_folds`` > 0; RUN_WITHOUT is a run of the
same profile whose real-mask attacker never saw realmask-dev. Prints a Markdown table; writes DIR/compare.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

from maskprivacy.analysis.dev_cv import out_of_fold_rows, paired_difference, read_photos
from maskprivacy.analysis.evaluate import accuracy_with_ci, auc_with_ci
from maskprivacy.provenance import git_commit, machine_line
from maskprivacy.training.config import load_profile, resolve
from maskprivacy.training.dev_folds import combine, dev_photos_dir, fold_model, folds_json
from maskprivacy.training.real_photos import load_real_photos
from maskprivacy.training.stage_real import real_parts


def _family_root(run: Path, family: str) -> Path:
    return run if family == "cnn" else run / family


def _shipped(root: Path) -> Path:
    for split in ("shared", "uniform"):
        p = root / "train" / f"real_{split}" / "model.pt"
        if p.is_file():
            return p
    raise SystemExit(f"error: no real-mask attacker in {root}/train (real_shared or real_uniform)")


def _adapted(src: Path, out: Path, faces: np.ndarray, what: str) -> Path:
    """A copy of ``src`` with AdaBN applied (kept between calls: adapted once)."""
    from maskprivacy.training.adabn import ensure_adapted

    dst = out / "model.pt"
    if not dst.is_file():
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        shutil.copyfile(src.with_suffix(".json"), dst.with_suffix(".json"))
    ensure_adapted(dst, faces, what)
    return dst


def _figures(rows: list[dict[str, Any]], n_boot: int) -> dict[str, Any]:
    s = accuracy_with_ci(rows, "sex", n_boot)
    s.update(auc_with_ci(rows, "sex", n_boot))
    d = {"sex": s, "n": len(rows)}
    if any(r["race_true"] is not None for r in rows):
        d["race"] = accuracy_with_ci(rows, "race", n_boot)
    return d


def _grouped(rows: list[dict[str, Any]], groups: np.ndarray) -> list[dict[str, Any]]:
    """Rows renamed ``p<group>_<i>`` so the bootstrap resamples near-duplicate clusters, not photos."""
    return [{**r, "path": f"p{int(g)}_{i}"} for i, (r, g) in enumerate(zip(rows, groups))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="a run trained with realmask-dev's person folds")
    ap.add_argument(
        "--baseline", type=Path, required=True, help="a run whose real-mask attacker never saw realmask-dev"
    )
    ap.add_argument("--family", default="cnn", help="cnn, facenet, ...")
    ap.add_argument(
        "--profile", default="cpu", help="the runs' profile (its real.val_fraction and seed cut the validation part)"
    )
    ap.add_argument("--out", type=Path, required=True, help="folder for the AdaBN copies and compare.json")
    ap.add_argument("--n-boot", type=int, default=2000)
    args = ap.parse_args(argv)

    cfg = resolve(load_profile(args.profile))
    root, base = _family_root(args.run, args.family), _family_root(args.baseline, args.family)
    if not folds_json(root).is_file():
        print(
            f"error: {folds_json(root)} not found: train {args.run} with --real-masks and real.dev_folds > 0",
            file=sys.stderr,
        )
        return 2
    train = load_real_photos(args.run / "real" / "train")
    dev = load_real_photos(dev_photos_dir(args.run))
    folds = json.loads(folds_json(root).read_text())
    side = int(json.loads(_shipped(base).with_suffix(".json").read_text()).get("cache_size") or cfg["cache"]["size"])
    parts = real_parts(train, cfg)
    val = np.flatnonzero((parts == "val") & train.labelled())
    from maskprivacy.training.real_photos import group_ids

    val_groups = group_ids(train.person, train.cluster)[val]
    out = args.out / args.family
    fold_of = {p["path"]: p["fold"] for p in folds["photos"]}
    dev_fold = np.array([fold_of[p] for p in dev.paths])
    every_dev = np.arange(len(dev))

    # the readings: name -> (dev rows, realmask-train validation rows)
    readings: dict[str, tuple[list, list]] = {}
    today = _shipped(base)
    readings["today"] = (read_photos(today, dev, every_dev, "today"), read_photos(today, train, val, "today"))
    oof, _ = out_of_fold_rows(root, dev)
    shipped = _shipped(root)
    readings["dev folds"] = (oof, read_photos(shipped, train, val, "shipped"))

    web_train = train.resized(side)[parts == "train"]
    today_ada = _adapted(today, out / "today_adabn", web_train, "realmask-train's train part")
    readings["today + AdaBN"] = (
        read_photos(today_ada, dev, every_dev, "today+adabn"),
        read_photos(today_ada, train, val, "today+adabn"),
    )
    oof_ada: list[dict[str, Any] | None] = [None] * len(dev)
    for f in range(int(folds["k"])):
        photos, p = combine(train, dev, np.flatnonzero(dev_fold != f), cfg)
        m = _adapted(
            fold_model(root, f), out / f"fold_{f}_adabn", photos.resized(side)[p == "train"], "fold train part"
        )
        idx = np.flatnonzero(dev_fold == f)
        for i, r in zip(idx, read_photos(m, dev, idx, f"fold_{f}+adabn")):
            oof_ada[i] = r
    photos, p = combine(train, dev, every_dev, cfg)
    ship_ada = _adapted(
        shipped, out / "shipped_adabn", photos.resized(side)[p == "train"], "train part + every dev person"
    )
    readings["dev folds + AdaBN"] = (
        [r for r in oof_ada if r is not None],
        read_photos(ship_ada, train, val, "shipped+adabn"),
    )

    res: dict[str, Any] = {
        "commit": git_commit(),
        "machine": machine_line(),
        "family": args.family,
        "run": str(args.run),
        "baseline": str(args.baseline),
        "k": folds["k"],
        "adabn_layers": json.loads(ship_ada.with_suffix(".json").read_text())["adabn"]["layers"],
        "readings": {},
    }
    base_dev, base_val = readings["today"]
    for name, (d_rows, v_rows) in readings.items():
        v_rows = _grouped(v_rows, val_groups)
        entry = {"dev": _figures(d_rows, args.n_boot), "val": _figures(v_rows, args.n_boot)}
        if name != "today":
            entry["dev_vs_today"] = paired_difference(base_dev, d_rows, args.n_boot)
            entry["val_vs_today"] = paired_difference(_grouped(base_val, val_groups), v_rows, args.n_boot)
        res["readings"][name] = entry
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(res, indent=2) + "\n")

    def ci(v: float, c: list) -> str:
        return f"{v:.3f} [{c[0]:.3f}, {c[1]:.3f}]" if c[0] is not None else f"{v:.3f}"

    def diff(d: dict | None, k: str) -> str:
        if not d:
            return "-"
        c = d[f"{'balanced' if k == 'balanced_accuracy' else 'auc'}_ci"]
        return f"{d[k]:+.3f} [{c[0]:+.3f}, {c[1]:+.3f}]"

    print(f"commit {res['commit']}; {res['machine']}; family {args.family}; {folds['k']} person folds; "
          f"AdaBN re-estimates {res['adabn_layers']} batch-norm layers")  # fmt: skip
    print(
        "| reader | dev (out of fold): sex balanced | dev: sex AUC | dev: vs today, balanced | dev: vs today, AUC "
        "| train val clusters: sex balanced | val: sex AUC | val: race | val: vs today, balanced | val: vs today, AUC |"
    )
    print("|" + "---|" * 10)
    for name, e in res["readings"].items():
        d, v = e["dev"]["sex"], e["val"]["sex"]
        race = e["val"].get("race") or {}
        print(
            f"| {name} | {ci(d['balanced_accuracy'], d['balanced_ci'])} | {ci(d['auc'], d['auc_ci'])} | "
            f"{diff(e.get('dev_vs_today'), 'balanced_accuracy')} | {diff(e.get('dev_vs_today'), 'auc')} | "
            f"{ci(v['balanced_accuracy'], v['balanced_ci'])} | {ci(v['auc'], v['auc_ci'])} | "
            f"{ci(race['accuracy'], race['ci']) if race else '-'} | "
            f"{diff(e.get('val_vs_today'), 'balanced_accuracy')} | {diff(e.get('val_vs_today'), 'auc')} |"
        )
    print(f"(dev: {e['dev']['n']} photos, {e['dev']['sex']['resampled']}; val: {e['val']['n']} photos, "
          f"{e['val']['sex']['resampled']} resampled; intervals 95% bootstrap, {args.n_boot} resamples, paired)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
