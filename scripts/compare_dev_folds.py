#!/usr/bin/env python3
"""Real-mask attackers compared on the same faces: today's, + realmask-dev's person folds, + AdaBN.

Why: realmask-dev may train the real-mask attacker only under person-disjoint cross-validation, and
unlabelled adaptation (AdaBN: batch-norm statistics re-estimated on the real photos, blanks included)
costs nothing to try on trained models. Which to keep is decided on validation faces only, read two
ways, each with a 95% bootstrap interval and a paired difference against today's attacker:

* realmask-dev, cross-validated: a model that never saw these people reads every dev photo; with the
  folds, each photo is read by the fold model trained without its person (out of fold);
* realmask-train's validation clusters (whole near-duplicate clusters, never trained on), read by the
  model a run would ship (with folds: ``all_dev``, trained on every dev person).

``--train`` trains, at the profile's schedule (``--set`` to shorten it; the caches, splits and mask-robust
attacker of RUN, which must hold ``real/train`` and ``real/dev``, as a run with ``--real-masks`` and
``real.dev_folds`` makes them): ``no_dev`` (realmask-train alone, the reference at that schedule), the k
fold models and ``all_dev``. AdaBN is applied to copies of the bundles (``OUT/<family>/adabn/``) exactly
as ``real.adabn`` applies it in a run (:func:`maskprivacy.training.adabn.ensure_adapted`, on the real
photos of each model's own train part, labelled and blank). ``--today`` is today's attacker, read too
(with and without AdaBN: no training needed).

    python scripts/compare_dev_folds.py --run RUN --today RUN_BEFORE/train/real_shared/model.pt --train --out DIR

A setting tried on ``no_dev`` alone (``--no-dev-only``, e.g. ``--set real.domain_adversarial=0.1``) is compared
with a ``no_dev`` trained without it in another OUT (``--reference OTHER/<family>/no_dev/model.pt``, same
run, profile and other overrides; its record must show the same real photos and share): the paired
differences are then against that reference.

Prints a Markdown table (with commit and machine); writes OUT/<family>/compare.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from maskprivacy.analysis.dev_cv import paired_difference, read_photos
from maskprivacy.analysis.evaluate import accuracy_with_ci, auc_with_ci
from maskprivacy.bootstrap import N_RESAMPLES
from maskprivacy.layout import AttackerFolder, RunLayout
from maskprivacy.provenance import git_commit, machine_line
from maskprivacy.training.config import load_profile, resolve
from maskprivacy.training.dev_folds import combine, fold_split, people_seen, person_folds
from maskprivacy.training.real_photos import group_ids, load_real_photos
from maskprivacy.training.stage_real import finetune_real_model, real_parts


def _family_root(run: Path, family: str) -> Path:
    return run if family == "cnn" else RunLayout(run).family_run(family).root


def _adapted(src: Path, out: Path, faces: np.ndarray, what: str) -> Path:
    """A copy of ``src`` with AdaBN applied (kept between calls: adapted once)."""
    from maskprivacy.training.adabn import ensure_adapted

    dst = AttackerFolder(out).model
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


def _train_models(
    cfg: dict, run: Path, out: Path, train: Any, dev: Any, folds: np.ndarray, no_dev_only: bool = False
) -> None:
    """The models of a comparison at the profile's schedule (with ``--set``), each trained once: ``no_dev``
    (realmask-train alone, as today), ``fold_<f>`` (+ the dev people outside fold f), ``all_dev`` (+ every
    dev person: what a run would ship); ``no_dev_only``: the first alone. Trained on ``run``'s caches,
    splits and mask-robust attacker."""
    jobs = [("no_dev", (train, real_parts(train, cfg)))]
    if not no_dev_only:
        jobs += [
            (f"fold_{f}", combine(train, dev, np.flatnonzero(folds != f), cfg)) for f in range(int(folds.max()) + 1)
        ]
        jobs += [("all_dev", combine(train, dev, np.arange(len(dev)), cfg))]
    for name, (photos, parts) in jobs:
        target = AttackerFolder(out / name).model
        if not target.is_file():
            print(f"[train] {name}", flush=True)
            finetune_real_model(cfg, run, fold_split(cfg), photos, parts, target)


#: what a reference ``no_dev`` must share with the model compared to it (its record's ``real_photos``)
SAME_DATA = ("source", "train", "val", "share", "utk_faces", "people")


def _check_reference(reference: Path, model: Path) -> None:
    """Refuse a reference trained on other real photos or another mix than ``model``: the paired
    differences would then measure the data, not the setting."""
    ref, new = (json.loads(p.with_suffix(".json").read_text()).get("real_photos") or {} for p in (reference, model))
    differ = [k for k in SAME_DATA if ref.get(k) != new.get(k)]
    if differ:
        raise SystemExit(f"error: {reference} was trained on other rows than {model} ({', '.join(differ)} differ)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="a run folder with real/train and real/dev aligned")
    ap.add_argument(
        "--today", type=Path, required=True, help="today's real-mask attacker (a model.pt that never saw realmask-dev)"
    )
    ap.add_argument("--family", default="cnn", help="cnn, facenet, ...")
    ap.add_argument(
        "--profile", default="cpu", help="the run's profile (its real.val_fraction and seed cut the validation part)"
    )
    ap.add_argument(
        "--set", dest="sets", action="append", default=[], help="profile overrides for --train, e.g. real.epochs=1"
    )
    ap.add_argument(
        "--train", action="store_true", help="train no_dev, fold_<f> and all_dev into OUT at the profile's schedule"
    )
    ap.add_argument(
        "--no-dev-only", action="store_true", help="with --train: train no_dev alone (no fold models, no all_dev)"
    )
    ap.add_argument(
        "--reference",
        type=Path,
        help="a no_dev model.pt trained without the --set being tried (another OUT): read too, and the reference",
    )
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument(
        "--out", type=Path, required=True, help="folder for the trained models, the AdaBN copies and compare.json"
    )
    ap.add_argument("--n-boot", type=int, default=N_RESAMPLES)
    args = ap.parse_args(argv)

    from maskprivacy.training.config import apply_overrides, family_config

    cfg = resolve(apply_overrides(load_profile(args.profile), args.sets))
    if args.family != "cnn":
        cfg = family_config(cfg, args.family)
    root = _family_root(args.run, args.family)
    train = load_real_photos(RunLayout(args.run).real_photos("train"))
    dev = load_real_photos(RunLayout(args.run).real_dev)
    dev_fold = person_folds(dev, args.folds, int(cfg["seed"]))
    out = args.out / args.family
    if args.train:
        _train_models(cfg, root, out, train, dev, dev_fold, args.no_dev_only)
    side = int(json.loads(args.today.with_suffix(".json").read_text()).get("cache_size") or cfg["cache"]["size"])
    parts = real_parts(train, cfg)
    val = np.flatnonzero((parts == "val") & train.labelled())
    val_groups = group_ids(train.person, train.cluster)[val]
    every_dev = np.arange(len(dev))
    web_train = train.resized(side)[parts == "train"]

    def whole(model: Path, name: str) -> tuple[list, list]:
        return read_photos(model, dev, every_dev, name), read_photos(model, train, val, name)

    def adapted(model: Path, name: str, faces: np.ndarray, what: str) -> Path:
        return _adapted(model, out / "adabn" / name, faces, what)

    # the readings: name -> (dev rows, realmask-train validation rows or None)
    readings: dict[str, tuple[list, list | None]] = {}
    readings["today"] = whole(args.today, "today")
    readings["today + AdaBN"] = whole(
        adapted(args.today, "today", web_train, "realmask-train's train part"), "today+adabn"
    )
    m = AttackerFolder(out / "no_dev").model
    if args.reference is not None:
        if not m.is_file():
            raise SystemExit(f"error: --reference needs {m} (train it: --train)")
        _check_reference(args.reference, m)
        readings["no dev, reference"] = whole(args.reference, "reference")
    if m.is_file():
        readings["no dev (this schedule)"] = whole(m, "no_dev")
        readings["no dev + AdaBN"] = whole(
            adapted(m, "no_dev", web_train, "realmask-train's train part"), "no_dev+adabn"
        )
    k = args.folds
    if all(AttackerFolder(out / f"fold_{f}").model.is_file() for f in range(k)):
        plain: list[dict[str, Any] | None] = [None] * len(dev)
        ada: list[dict[str, Any] | None] = [None] * len(dev)
        for f in range(k):
            m = AttackerFolder(out / f"fold_{f}").model
            idx = np.flatnonzero(dev_fold == f)
            seen = people_seen(m)
            if seen & {dev.person[i] for i in idx}:
                raise SystemExit(f"error: {m} saw people of its own fold")
            photos, p = combine(train, dev, np.flatnonzero(dev_fold != f), cfg)
            ma = adapted(m, f"fold_{f}", photos.resized(side)[p == "train"], "fold train part")
            for i, r, ra in zip(
                idx, read_photos(m, dev, idx, f"fold_{f}"), read_photos(ma, dev, idx, f"fold_{f}+adabn")
            ):
                plain[i], ada[i] = r, ra
        val_plain = val_ada = None
        if AttackerFolder(out / "all_dev").model.is_file():
            m = AttackerFolder(out / "all_dev").model
            photos, p = combine(train, dev, every_dev, cfg)
            ma = adapted(m, "all_dev", photos.resized(side)[p == "train"], "train part + every dev person")
            val_plain, val_ada = read_photos(m, train, val, "all_dev"), read_photos(ma, train, val, "all_dev+adabn")
        readings["dev folds"] = ([r for r in plain if r is not None], val_plain)
        readings["dev folds + AdaBN"] = ([r for r in ada if r is not None], val_ada)

    ref = next(r for r in ("no dev, reference", "no dev (this schedule)", "today") if r in readings)
    res: dict[str, Any] = {
        "commit": git_commit(),
        "machine": machine_line(),
        "family": args.family,
        "run": str(args.run),
        "today": str(args.today),
        "reference_model": str(args.reference) if args.reference else None,
        "overrides": args.sets,
        "k": k,
        "reference": ref,
        "readings": {},
    }
    base_dev, base_val = readings[ref]
    for name, (d_rows, v_rows) in readings.items():
        entry: dict[str, Any] = {"dev": _figures(d_rows, args.n_boot)}
        if v_rows is not None:
            entry["val"] = _figures(_grouped(v_rows, val_groups), args.n_boot)
        if name != ref and not (name.startswith("today") and ref != "today"):
            entry["dev_vs_ref"] = paired_difference(base_dev, d_rows, args.n_boot)
            if v_rows is not None and base_val is not None:
                entry["val_vs_ref"] = paired_difference(
                    _grouped(base_val, val_groups), _grouped(v_rows, val_groups), args.n_boot
                )
        if name == "today + AdaBN":
            entry["dev_vs_ref"] = paired_difference(readings["today"][0], d_rows, args.n_boot)
            entry["val_vs_ref"] = paired_difference(
                _grouped(readings["today"][1], val_groups), _grouped(v_rows, val_groups), args.n_boot
            )
            entry["against"] = "today"
        res["readings"][name] = entry
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(res, indent=2) + "\n")

    def ci(d: dict, k: str, c: str) -> str:
        v, iv = d.get(k), d.get(c) or [None, None]
        if v is None:
            return "-"
        return f"{v:.3f} [{iv[0]:.3f}, {iv[1]:.3f}]" if iv[0] is not None else f"{v:.3f}"

    def diff(d: dict | None, k: str) -> str:
        if not d:
            return "-"
        c = d[f"{'balanced' if k == 'balanced_accuracy' else 'auc'}_ci"]
        return f"{d[k]:+.3f} [{c[0]:+.3f}, {c[1]:+.3f}]"

    print(f"commit {res['commit']}; {res['machine']}; family {args.family}; {k} person folds; overrides {args.sets}")
    print(
        "| reader | dev (out of fold): sex balanced | dev: sex AUC | dev: vs ref, balanced | dev: vs ref, AUC "
        "| train val clusters: sex balanced | val: sex AUC | val: race | val: vs ref, balanced | val: vs ref, AUC |"
    )
    print("|" + "---|" * 10)
    for name, e in res["readings"].items():
        d, v = e["dev"]["sex"], (e.get("val") or {}).get("sex") or {}
        race = (e.get("val") or {}).get("race") or {}
        print(
            f"| {name}{' (ref)' if name == ref else ''} | {ci(d, 'balanced_accuracy', 'balanced_ci')} | "
            f"{ci(d, 'auc', 'auc_ci')} | {diff(e.get('dev_vs_ref'), 'balanced_accuracy')} | "
            f"{diff(e.get('dev_vs_ref'), 'auc')} | {ci(v, 'balanced_accuracy', 'balanced_ci')} | {ci(v, 'auc', 'auc_ci')} | "
            f"{ci(race, 'accuracy', 'ci')} | {diff(e.get('val_vs_ref'), 'balanced_accuracy')} | "
            f"{diff(e.get('val_vs_ref'), 'auc')} |"
        )
    e = res["readings"][ref]
    print(
        f"(dev: {e['dev']['n']} photos, {e['dev']['sex']['resampled']}; val: {e['val']['n']} photos, "
        f"{e['val']['sex']['resampled']} (near-duplicate clusters); 95% bootstrap intervals, {args.n_boot} "
        "resamples; differences paired on the same faces; 'today + AdaBN' is against today)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
