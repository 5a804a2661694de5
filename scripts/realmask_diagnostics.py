"""Why do the mask-robust attackers read real masks worse than the same people's bare photos with a digital mask?

Three readings of a labelled real-mask set (realmask-dev: labels.csv with path, sex, masked), each with
the run's attackers of every family (RUN, RUN/facenet), sex only (the issue's target):

1. alignment: the bare photos with the digital mask "a", aligned as bare faces (68 points, as analyze
   does) and as masked faces (FaceMesh's points above the mask), read by the paper-style attacker. If
   the masked alignment lost much, the real masks' alignment would explain the gap;
2. mask look: the bare photos wearing each digital style (a, surgical, kn95, n95, cloth, bandana; colours
   drawn per photo), read by the mask-robust attacker: what it reads behind realistic digital masks on
   exactly these people;
3. alignment averaging: the real masks read from both masked alignments (FaceMesh; BlazeFace + upper
   68 points) and the mean of the two readings.

Per line: balanced accuracy at the 0.5 threshold (men right, women right of how many photos) and the
ROC AUC of P(female). Nothing is fitted to the set. With 11 women's photos of 5 people, one photo moves
balanced accuracy by about 5 points: read AUC first (docs/RESULTS.md).

    python scripts/realmask_diagnostics.py --run runs/cpu [--data ../shared/data/realmask-dev]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from maskprivacy.analysis.analyzer import Analyzer
from maskprivacy.data.imageio import decode_image
from maskprivacy.faces.align import resize_crop
from maskprivacy.faces.detect import get_detector
from maskprivacy.faces.photo import align_face
from maskprivacy.masking.draw import draw_mask
from maskprivacy.provenance import git_commit, machine_line

STYLES = ("a", "surgical", "kn95", "n95", "cloth", "bandana")


def line(label: str, y: np.ndarray, p: np.ndarray) -> str:
    pred = (p >= 0.5).astype(int)
    men, women = np.mean(pred[y == 0] == 0), np.mean(pred[y == 1] == 1)
    return (
        f"  {label:58s} balanced {(men + women) / 2:.3f} (men {men:.3f} of {int(np.sum(y == 0))}, women "
        f"{int(pred[y == 1].sum())} of {int(y.sum())}), AUC {roc_auc_score(y, p):.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="a run with masked and robust attackers")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/realmask-dev"))
    args = ap.parse_args(argv)
    t0 = time.time()
    print(f"{machine_line()}; commit {git_commit()}; run {args.run}; data {args.data}")
    with open(args.data / "labels.csv", newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("sex", "").strip() in ("0", "1")]
    det = get_detector("auto")
    families = [(f, d) for f, d in (("cnn", args.run), ("facenet", args.run / "facenet")) if (d / "train").is_dir()]
    readers = {}
    for fam, folder in families:
        an = Analyzer(folder)
        for c in ("masked", "robust"):
            if an.models.get(c) is not None:
                readers[(fam, c)] = (an.models.get(c), an.models.side[c])

    def read(fam: str, cond: str, crops: list[np.ndarray]) -> np.ndarray:
        pred, side = readers[(fam, cond)]
        return pred.predict(np.stack([resize_crop(c, side) for c in crops]))["sex"][:, 1]

    bare: dict[str, list] = {"y": [], "as_bare": [], "as_masked": [], "path": []}
    real: dict[str, list] = {"y": [], "facemesh": [], "blazeface": []}
    for r in rows:
        rgb = decode_image((args.data / r["path"]).read_bytes())
        found = det.detect(rgb)
        if not found:
            continue
        if r["masked"].strip() == "0":
            bare["y"].append(int(r["sex"]))
            bare["path"].append(r["path"])
            bare["as_bare"].append(align_face(rgb, found[0], False).aligned)
            bare["as_masked"].append(align_face(rgb, found[0], True).aligned)
        elif r["masked"].strip() == "1":
            real["y"].append(int(r["sex"]))
            for al in ("facemesh", "blazeface"):
                real[al].append(align_face(rgb, found[0], True, masked_aligner=al).aligned.crop)
    yb, yr = np.array(bare["y"]), np.array(real["y"])

    print(f"\n== 1. alignment: bare photos (n={len(yb)}) + digital mask a, the paper-style attacker")
    for fam, _ in families:
        if (fam, "masked") not in readers:
            continue
        for key, how in (
            ("as_bare", "68 points, as analyze aligns bare faces"),
            ("as_masked", "FaceMesh upper points, as masked faces"),
        ):
            crops = [
                draw_mask(a.crop, a.points68, style="a", color="white", seed=0, key=p)
                for a, p in zip(bare[key], bare["path"])
            ]
            print(line(f"{fam}_masked, aligned by {how}", yb, read(fam, "masked", crops)))

    print(f"\n== 2. mask look: bare photos (n={len(yb)}) wearing each digital style, the mask-robust attacker")
    for style in STYLES:
        crops = [
            draw_mask(a.crop, a.points68, style=style, color="white" if style == "a" else "random", seed=0, key=p)
            for a, p in zip(bare["as_bare"], bare["path"])
        ]
        for fam, _ in families:
            if (fam, "robust") in readers:
                print(line(f"{fam}_robust, style {style}", yb, read(fam, "robust", crops)))

    print(f"\n== 3. real masks (n={len(yr)}), the mask-robust attacker, from two alignments and their mean")
    for fam, _ in families:
        if (fam, "robust") not in readers:
            continue
        ps = {al: read(fam, "robust", real[al]) for al in ("facemesh", "blazeface")}
        print(line(f"{fam}_robust, FaceMesh upper points (analyze's default)", yr, ps["facemesh"]))
        print(line(f"{fam}_robust, BlazeFace + upper 68 points", yr, ps["blazeface"]))
        print(line(f"{fam}_robust, mean of the two readings", yr, (ps["facemesh"] + ps["blazeface"]) / 2))
    print(f"\ntook {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
