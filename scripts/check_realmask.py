#!/usr/bin/env python
"""How the analysis path handles real masked faces: detection, the masked-or-bare decision, alignment.

Runs on a labelled folder of real photos with and without masks (``realmask-dev``: labels.csv with
``path`` and ``masked``; read its README) and needs no trained model:

* **detection**: share of photos in which the active detector (BlazeFace when MediaPipe is
  installed, dlib otherwise) finds a face, masked vs bare; ``--hog`` adds dlib's HOG alone for
  comparison (what the masking stage uses);
* **masked-or-bare decision** (``faces/maskcheck.py``, run as ``analyze`` runs it when nobody says):
  confusion matrix against the ``masked`` labels, per-class and balanced accuracy;
* **alignment** of each found face to UTKFace's geometry, aligned as ``evaluate`` aligns it when the
  label says masked or bare (masked faces both ways: FaceMesh's points above the mask, the default,
  and the older BlazeFace + dlib upper points), checked by two eye locators: MediaPipe FaceMesh on the
  whole photo (its four eye corners carried into the crop by the transform found) against where it
  puts them on UTKFace's own crops (``MESH_EYE_CORNERS``), and dlib's 12 eye points found on the final
  crop (as the masking stage places the digital mask) against UTKFace's mean ``POINTS68``. Each
  aligner is fitted on one of these locators, so its figure by that locator is in-sample (marked
  ``*``); the other locator is the independent check. UTKFace's own spread around each reference
  (on ``--utk`` crops) is the yardstick. Per person (names ``pNNN_...``), masked crops against the same
  person's bare crops: the ratio of eye spans and the shift of the eye line; a masked face cut larger
  or smaller, higher or lower than the same person's bare face reaches the models in a geometry they
  never saw.

``--run RUN_DIR`` (a run with trained attackers) also prints
:func:`maskprivacy.analysis.realmask_row.realmask_summary`: each masked-face attacker's sex and race accuracy,
balanced accuracy and 95% intervals (people resampled) on the photos with real masks, and the bare
photos with the digital type-a mask through the paper-style attacker.

Every threshold here is the package's; nothing is fitted to this set (it is for reporting only).

    python scripts/check_realmask.py --data ../shared/data/realmask-dev --utk ../shared/data/utkface-sample
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from maskprivacy.data.imageio import decode_image
from maskprivacy.data.photo_labels import person_of
from maskprivacy.faces.align import POINTS68, crop_points68, transform_points
from maskprivacy.faces.detect import DlibDetector, get_detector
from maskprivacy.faces.landmarks import get_landmarker
from maskprivacy.faces.maskcheck import MASKED_BELOW
from maskprivacy.faces.mesh import EYE_CORNERS, FaceMeshLocator
from maskprivacy.faces.mesh_template_data import MESH_EYE_CORNERS
from maskprivacy.faces.photo import align_face
from maskprivacy.provenance import git_commit
from maskprivacy.training.metrics import classification_metrics

EYES68 = np.r_[36:48]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _stats(v: list[float]) -> str:
    if not v:
        return "n=0"
    a = np.asarray(v, float)
    return f"n={len(a):3d}  median {np.median(a):5.2f}  mean {a.mean():5.2f}  p90 {np.percentile(a, 90):5.2f}"


def eye_geometry(c: np.ndarray) -> tuple[float, float, float]:
    """(outer-corner distance, roll in degrees, eye-line height) of four eye corners."""
    d = c[3] - c[0]
    return float(np.hypot(*d)), float(np.degrees(np.arctan2(d[1], d[0]))), float(c[:, 1].mean())


def _print_summary(args: argparse.Namespace, labels: Path) -> None:
    from maskprivacy.analysis.evaluate import per_class_text
    from maskprivacy.analysis.mask_decision import decision_counts
    from maskprivacy.analysis.realmask_row import realmask_summary
    from maskprivacy.data.photo_labels import PHOTO_CLASS_TASKS

    d = realmask_summary(args.run, args.data, labels, split=args.split, detector=args.detector)
    print(f"\n== attackers on real masks: {args.run} ({args.split} split); {d['population']}")
    width = max(map(len, d["attackers"]), default=0)
    for name, a in d["attackers"].items():
        parts = []
        for task in PHOTO_CLASS_TASKS:
            if task in a and a[task]["accuracy"] is not None:
                m = a[task]
                parts.append(
                    f"{task} {m['accuracy']:.3f} [{m['ci'][0]:.3f}, {m['ci'][1]:.3f}], balanced "
                    f"{m['balanced_accuracy']:.3f} [{m['balanced_ci'][0]:.3f}, {m['balanced_ci'][1]:.3f}]"
                )
                if task == "sex":  # balanced accuracy on a skewed set hangs on a few people: say how many
                    parts[-1] += f" ({per_class_text(m.get('per_class', {}), lambda v: f'{v:.3f}')})"
                    if m.get("auc") is not None:
                        lo, hi = m.get("auc_ci") or (None, None)
                        ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None else ""  # None: no resample had both sexes
                        parts[-1] += f", AUC {m['auc']:.3f}{ci}"
        print(f"  {name:{width}s} {a['model']:17s} n={a['n']:3d}  " + ";  ".join(parts) + f"   ({a['photos']})")
    print(f"  (95% bootstrap intervals, {d['n_boot']} resamples of people, seed {d['seed']})")
    mc = d.get("mask_check") or {}
    print(
        f"\n== masked-or-bare decision on the first cut, as analyze runs it ({mc.get('not_found', 0)} without a face)"
    )
    for name, m in (mc.get("checks") or {}).items():
        print(
            f"  {name:8s} accuracy {m['accuracy']:.3f}, balanced {m['balanced_accuracy']:.3f}; "
            f"{decision_counts(m)}   ({m['what']})"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--data",
        type=Path,
        default=Path("../shared/data/realmask-dev"),
        help="folder with labels.csv (path, masked) and the photos",
    )
    ap.add_argument(
        "--utk",
        type=Path,
        default=Path("../shared/data/utkface-sample"),
        help="UTKFace crops: the locators' own spread on UTKFace's geometry (the yardstick)",
    )
    ap.add_argument("--utk-limit", type=int, default=200)
    ap.add_argument("--detector", default="auto", choices=("auto", "blazeface", "dlib"))
    ap.add_argument("--hog", action="store_true", help="also count dlib HOG alone (no CNN) on every photo")
    ap.add_argument("--run", type=Path, help="a run with trained attackers: also print realmask_summary")
    ap.add_argument("--split", default="uniform", choices=("uniform", "random"))
    ap.add_argument("--summary-only", action="store_true", help="with --run: only the attackers' figures")
    args = ap.parse_args(argv)
    if args.summary_only and args.run is None:
        ap.error("--summary-only needs --run")

    labels = args.data / "labels.csv"
    if not labels.is_file():
        print(f"no labels.csv in {args.data}", file=sys.stderr)
        return 2
    with open(labels, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("masked", "").strip() in ("0", "1")]
    t0 = time.time()
    if args.summary_only:
        print(f"machine: {os.cpu_count()} cores, {_cpu()}; python {platform.python_version()}; commit {git_commit()}")
        _print_summary(args, labels)
        print(f"\ntook {time.time() - t0:.0f} s")
        return 0
    det = get_detector(args.detector)
    mesh = FaceMeshLocator()
    lmk = get_landmarker("fast")
    ref = np.asarray(MESH_EYE_CORNERS, float)
    ref_iod, ref_roll, ref_y = eye_geometry(ref)
    print(f"machine: {os.cpu_count()} cores, {_cpu()}; python {platform.python_version()}; commit {git_commit()}")
    print(
        f"data: {args.data} ({len(rows)} labelled photos); detector: {det.backend}; "
        f"mask check threshold {MASKED_BELOW} (the package's)"
    )

    # The yardstick: the two locators on UTKFace's own crops, around their references.
    utk_mesh, utk_dlib = [], []
    for p in sorted(q for q in args.utk.iterdir() if q.suffix.lower() in (".jpg", ".jpeg", ".png"))[: args.utk_limit]:
        rgb = decode_image(p.read_bytes())
        if rgb.shape[:2] != (200, 200):
            continue
        c = mesh.points(rgb)
        if c is not None:
            utk_mesh.append(float(np.linalg.norm(c[EYE_CORNERS] - ref, axis=1).mean()))
        utk_dlib.append(float(np.linalg.norm(crop_points68(rgb, lmk)[EYES68] - POINTS68[EYES68], axis=1).mean()))

    found = defaultdict(int)
    total = defaultdict(int)
    hog_found = defaultdict(int)
    hog = DlibDetector(use_cnn=False) if args.hog else None
    truth, guess, shares = [], [], []
    err = defaultdict(lambda: defaultdict(list))  # (kind, aligner) -> locator -> errors
    geo = defaultdict(list)  # (kind, aligner) -> [(person, mesh eye span ratio, dlib eye span ratio, mesh dy, dlib dy)]
    methods = defaultdict(lambda: defaultdict(int))
    mesh_missing = defaultdict(int)
    # the aligner asked for -> its label; "facemesh" falls back to BlazeFace + upper 68 points when
    # FaceMesh finds no face, so its row is what analyze does by default
    aligners = {
        "bare": (("auto", "68 points"),),
        "masked": (("facemesh", "FaceMesh (default)"), ("blazeface", "BlazeFace+upper 68")),
    }
    for r in rows:
        kind = "masked" if r["masked"].strip() == "1" else "bare"
        total[kind] += 1
        rgb = decode_image((args.data / r["path"]).read_bytes())
        if hog is not None and hog.detect(rgb):
            hog_found[kind] += 1
        dets = det.detect(rgb)
        if not dets:
            continue
        found[kind] += 1
        auto = align_face(rgb, dets[0], already_masked=None)  # the decision as analyze makes it
        truth.append(int(kind == "masked"))
        guess.append(int(auto.already_masked))
        shares.append(auto.skin_share)
        c = mesh.points(rgb, dets[0].box)
        if c is None:
            mesh_missing[kind] += 1
        for al, label in aligners[kind]:
            told = align_face(rgb, dets[0], already_masked=(kind == "masked"), masked_aligner=al)
            key = (kind, label)
            methods[key][told.aligned.method] += 1
            d68 = told.aligned.points68[EYES68].astype(float)
            err[key]["dlib"].append(float(np.linalg.norm(d68 - POINTS68[EYES68], axis=1).mean()))
            dlib_iod, _, dlib_y = eye_geometry(d68[[0, 3, 6, 9]])
            ref68_iod, _, ref68_y = eye_geometry(POINTS68[[36, 39, 42, 45]])
            if c is None:
                continue
            in_crop = transform_points(c[EYE_CORNERS], told.aligned.matrix)
            err[key]["mesh"].append(float(np.linalg.norm(in_crop - ref, axis=1).mean()))
            iod, roll, y = eye_geometry(in_crop)
            geo[key].append((person_of(r["path"]), iod / ref_iod, dlib_iod / ref68_iod, y - ref_y, dlib_y - ref68_y))

    print("\n== detection (a face found)")
    for kind in ("bare", "masked"):
        line = f"  {kind:6s} {found[kind]:3d} / {total[kind]:3d} ({100 * found[kind] / max(1, total[kind]):5.1f}%)  {det.backend}"
        if hog is not None:
            line += f";  dlib HOG alone {hog_found[kind]:3d} ({100 * hog_found[kind] / max(1, total[kind]):5.1f}%)"
        print(line)

    print("\n== masked-or-bare decision (faces/maskcheck.py on the first cut, as analyze runs it), detected faces")
    m = classification_metrics(np.array(truth, np.int64), np.array(guess, np.int64), ("bare", "masked"))
    (tb, fm), (fb, tm) = m["confusion"]
    print(
        f"  confusion (rows: label, columns: decision): bare -> bare {tb}, bare -> masked {fm}; "
        f"masked -> bare {fb}, masked -> masked {tm}"
    )
    print(
        f"  accuracy {m['accuracy']:.3f}; per class: bare {m['per_class']['bare']:.3f} (n={m['support']['bare']}), "
        f"masked {m['per_class']['masked']:.3f} (n={m['support']['masked']}); balanced {m['balanced_accuracy']:.3f}"
    )
    s = np.asarray(shares)
    t = np.asarray(truth, bool)
    print(f"  lower-face skin share: bare median {np.median(s[~t]):.3f}, masked median {np.median(s[t]):.3f}")

    print(
        "\n== alignment to UTKFace's geometry (faces aligned as labelled; error = mean eye-point distance, "
        "px of the 200-px crop; * = in-sample: the aligner fits that locator's points)"
    )
    print(f"  yardstick, UTKFace's own crops: FaceMesh eye corners {_stats(utk_mesh)}")
    print(f"  {'':32s}dlib eye points       {_stats(utk_dlib)}")
    fitted = {"68 points": "dlib", "BlazeFace+upper 68": "dlib", "FaceMesh (default)": "mesh"}
    for (kind, how), by in sorted(err.items()):
        for loc, name in (("mesh", "FaceMesh eye corners"), ("dlib", "dlib eye points")):
            mark = "*" if fitted.get(how) == loc else " "
            print(f"  {kind:6s} {how:24s} {name:21s}{mark}{_stats(by[loc])}")
    for key, used in sorted(methods.items()):
        print(f"  {key[0]:6s} {key[1]:24s} aligned by: " + ", ".join(f"{k} {v}" for k, v in used.items()))
    print(
        "  FaceMesh found no face (no FaceMesh figure for these): "
        + ", ".join(f"{k} {mesh_missing[k]}" for k in ("bare", "masked"))
    )
    for (kind, how), g in sorted(geo.items()):
        a = np.array([x[1:] for x in g], float)
        print(
            f"  {kind:6s} {how:24s} eye span / UTKFace's: FaceMesh median {np.median(a[:, 0]):.3f} "
            f"[IQR {np.percentile(a[:, 0], 25):.3f}-{np.percentile(a[:, 0], 75):.3f}], dlib {np.median(a[:, 1]):.3f}; "
            f"eye line {np.median(a[:, 2]):+.1f} / {np.median(a[:, 3]):+.1f} px"
        )
    # Same person, masked against bare: median over each person's photos, then over people.
    bare_key = next((k for k in geo if k[0] == "bare"), None)
    for key in sorted(k for k in geo if k[0] == "masked"):
        if bare_key is None:
            break
        per = {}
        for side, k in (("bare", bare_key), ("masked", key)):
            per[side] = defaultdict(list)
            for person, *vals in geo[k]:
                if person:
                    per[side][person].append(vals)
        both = sorted(set(per["bare"]) & set(per["masked"]))
        if not both:
            continue
        med = {side: {p: np.median(np.array(per[side][p]), axis=0) for p in both} for side in per}
        for j, loc in ((0, "FaceMesh"), (1, "dlib")):
            ratio = np.array([med["masked"][p][j] / med["bare"][p][j] for p in both])
            dy = np.array([med["masked"][p][2 + j] - med["bare"][p][2 + j] for p in both])
            print(
                f"  same person ({len(both)} people), masked by {key[1]} vs bare, by {loc:8s}: eye-span ratio "
                f"median {np.median(ratio):.3f} [IQR {np.percentile(ratio, 25):.3f}-{np.percentile(ratio, 75):.3f}], "
                f"within 10%: {np.mean(np.abs(ratio - 1) <= 0.10):.0%}; eye line shift median {np.median(dy):+.1f} px "
                f"[IQR {np.percentile(dy, 25):+.1f} to {np.percentile(dy, 75):+.1f}]"
            )
    if args.run is not None:
        _print_summary(args, labels)
    print(f"\ntook {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
