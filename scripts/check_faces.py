#!/usr/bin/env python
"""Measure how the analyser handles UTKFace faces: detection, alignment error, the "already masked" check.

UTKFace crops are already in the target geometry, so a perfect aligner returns (nearly) the
identity transform. For each face, bare and wearing a digital mask of a rotating style/colour:

* detection rate of the active detector (BlazeFace when installed, else dlib);
* alignment error: mean distance (px of the 200-px crop) the template's 68 points move under the
  transform found, i.e. how far our crop is from UTKFace's own (which has its own jitter: the
  spread of UTKFace's 68 points around the template is printed beside it);
* the mask check (``faces/maskcheck.py``) on the detected faces' first cut, as ``analyze`` runs it:
  the threshold that is best (balanced accuracy) on the first half of the faces, and the accuracy
  of the package's threshold on the second half, per style.

    python scripts/check_faces.py --faces ../shared/data/utkface-sample
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from maskprivacy.data.imageio import decode_image
from maskprivacy.data.sources import iter_source
from maskprivacy.faces.align import POINTS68, points_error, transform_points
from maskprivacy.faces.detect import get_detector
from maskprivacy.faces.landmarks import get_landmarker
from maskprivacy.faces.maskcheck import MASKED_BELOW
from maskprivacy.faces.photo import align_face
from maskprivacy.masking.draw import STYLES, draw_mask


def style_for(i: int) -> tuple[str, str]:
    s = STYLES[i % len(STYLES)]
    return s, ("random" if s in ("surgical", "cloth", "n95") or i % 2 else "white")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces", type=Path, default=Path("../shared/data/utkface-sample"))
    ap.add_argument("--limit", type=int, default=400)
    ap.add_argument("--detector", default="auto", choices=("auto", "blazeface", "dlib"))
    ap.add_argument("--no-cnn", action="store_true", help="dlib: no MMOD CNN fallback (it costs ~3 s a face)")
    args = ap.parse_args(argv)

    det = get_detector(args.detector, use_cnn=not args.no_cnn)
    lm = get_landmarker("fast")
    print(f"detector: {det.backend}")
    found = defaultdict(int)
    total = 0
    err = defaultdict(list)
    utk_jitter = []
    shares: list[tuple[str, float]] = []  # (style or "none", skin share)
    for i, item in enumerate(iter_source(args.faces)):
        if total >= args.limit:
            break
        try:
            rgb = decode_image(item.data)
        except ValueError:
            continue
        faces = lm.faces(rgb)
        if rgb.shape[:2] != (200, 200) or not faces:
            continue
        total += 1
        utk_jitter.append(points_error(faces[0].points))
        style, color = style_for(i)
        masked = draw_mask(rgb, faces[0].points, style=style, color=color, key=item.name)
        for kind, img in (("bare", rgb), ("masked", masked)):
            dets = det.detect(img)
            if not dets:
                continue
            found[kind] += 1
            f = align_face(img, dets[0], already_masked=None)  # the check runs on the first cut
            shares.append((style if kind == "masked" else "none", f.skin_share))
            if f.already_masked != (kind == "masked"):
                f = align_face(img, dets[0], already_masked=(kind == "masked"))
            moved = np.linalg.norm(transform_points(POINTS68, f.aligned.matrix) - POINTS68, axis=1).mean()
            err[(kind, f.aligned.method)].append(moved)
            if kind == "bare":
                err[("bare final crop vs template", "")].append(points_error(f.aligned.points68))
    print(
        f"faces: {total}   found bare: {found['bare']} ({100 * found['bare'] / max(1, total):.1f}%)   "
        f"found masked: {found['masked']} ({100 * found['masked'] / max(1, total):.1f}%)"
    )
    print(f"UTKFace's own spread: its 68 points are {np.mean(utk_jitter):.2f} px from the template on average")
    for (kind, how), v in sorted(err.items()):
        print(f"alignment {kind:8s} {how:42s} n={len(v):4d}  mean {np.mean(v):5.2f} px  median {np.median(v):5.2f} px")

    half = len(shares) // 2
    fit, test = shares[:half], shares[half:]

    def balanced(rows, th):
        bare = [s >= th for k, s in rows if k == "none"]
        msk = [s < th for k, s in rows if k != "none"]
        return (np.mean(bare) + np.mean(msk)) / 2

    best = max(np.round(np.arange(0.02, 0.6, 0.01), 2), key=lambda th: balanced(fit, th))
    print(
        f"mask check: best threshold on the first half {best:.2f} (package uses {MASKED_BELOW}); "
        f"balanced accuracy on the second half at {MASKED_BELOW}: {balanced(test, MASKED_BELOW):.3f}"
    )
    by = defaultdict(list)
    for k, s in test:
        by[k].append((s >= MASKED_BELOW) if k == "none" else (s < MASKED_BELOW))
    print(
        "  correct per style (second half): "
        + ", ".join(f"{k} {np.mean(v):.2f} (n={len(v)})" for k, v in sorted(by.items()))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
