#!/usr/bin/env python
"""Derive UTKFace's crop geometry from data and write it into the package (faces/template_data.py).

Models trained on UTKFace's aligned 200x200 crops only transfer to other photos if those photos'
faces are cut the same way. UTKFace does not document its alignment, so the geometry is measured:

* ``POINTS68``: the mean dlib 68 key points over a masking run of the whole archive
  (``landmarks.npy`` + ``report.csv``; faces with status ``ok``; faces whose points lie far from the
  mean, i.e. detector failures, are left out);
* ``HOG_BOX``: the median face box the masking run's detector returned on those crops (used to place
  the 68-point predictor on an aligned crop when HOG finds nothing, e.g. behind a mask);
* ``BLAZE6`` / ``BLAZE6_MASKED``: the mean BlazeFace key points (eyes, nose tip, mouth centre, ears)
  on UTKFace crops as they are and wearing digital masks (several styles), so that a face whose
  68 points cannot be trusted (a real mask) is aligned from BlazeFace's key points to the same place.

Only numbers are written (no image). Rerun after changing the masking recipe:

    python scripts/make_align_template.py --run /tmp/bench-mask/fast --faces ../shared/data/utkface-sample
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "maskprivacy" / "serve" / "template_data.py"
MASK_STYLES = (("a", "white"), ("surgical", "random"), ("cloth", "random"), ("n95", "random"), ("c", "black"))


def mean_points(run: Path) -> tuple[np.ndarray, np.ndarray, int, int]:
    rows = list(csv.DictReader(open(run / "report.csv", newline="")))
    ok = [r for r in rows if r["status"] == "ok" and r["width"] == "200" and r["height"] == "200"]
    lm = np.load(run / "landmarks.npy").astype(np.float64)
    pts = lm[[int(r["landmark_row"]) for r in ok]]
    boxes = np.array([[float(r[k]) for k in ("box_left", "box_top", "box_right", "box_bottom")] for r in ok])
    # Leave out detector failures: mean point distance to the first-pass mean above 3x its median.
    m0 = np.median(pts, axis=0)
    d = np.linalg.norm(pts - m0, axis=2).mean(axis=1)
    keep = d < 3 * np.median(d)
    return pts[keep].mean(axis=0), np.median(boxes[keep], axis=0), int(keep.sum()), len(ok)


def blaze_templates(faces: Path, limit: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    from maskprivacy.data.imageio import decode_image
    from maskprivacy.data.sources import iter_source
    from maskprivacy.faces.detect import BlazeFaceDetector
    from maskprivacy.faces.landmarks import get_landmarker
    from maskprivacy.masking.draw import draw_mask

    det = BlazeFaceDetector()
    lmk = get_landmarker("fast")
    plain, masked = [], []
    for i, item in enumerate(iter_source(faces)):
        if i >= limit:
            break
        try:
            rgb = decode_image(item.data)
        except ValueError:
            continue
        if rgb.shape[:2] != (200, 200):
            continue
        found = det.detect(rgb)
        if len(found) == 1 and found[0].keypoints is not None:
            plain.append(found[0].keypoints)
        fl = lmk.faces(rgb)
        if not fl:
            continue
        style, color = MASK_STYLES[i % len(MASK_STYLES)]
        m = draw_mask(rgb, fl[0].points, style=style, color=color, key=item.name)
        found = det.detect(m)
        if len(found) == 1 and found[0].keypoints is not None:
            masked.append(found[0].keypoints)
    return np.mean(plain, axis=0), np.mean(masked, axis=0), len(plain), len(masked)


def fmt(a: np.ndarray) -> str:
    return "(" + ", ".join("(" + ", ".join(f"{v:.2f}" for v in row) + ")" for row in np.atleast_2d(a)) + ")"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--run",
        type=Path,
        default=Path("/tmp/bench-mask/fast"),
        help="a `maskprivacy mask` run of UTKFace (report.csv + landmarks.npy)",
    )
    ap.add_argument(
        "--faces",
        type=Path,
        default=Path("../shared/data/utkface-sample"),
        help="UTKFace crops for the BlazeFace key points (folder or .tar.gz)",
    )
    ap.add_argument("--limit", type=int, default=2000, help="at most this many faces for BlazeFace")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    p68, hog_box, n68, n_ok = mean_points(args.run)
    b6, b6m, nb, nbm = blaze_templates(args.faces, args.limit)
    print(f"68-point template from {n68} of {n_ok} faces; HOG box {hog_box.tolist()}")
    print(f"BlazeFace key points from {nb} faces, masked from {nbm} faces")
    for name, a, b in zip(("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear"), b6, b6m):
        print(f"  {name:13s} plain ({a[0]:6.2f}, {a[1]:6.2f})   masked ({b[0]:6.2f}, {b[1]:6.2f})")
    eyes = (p68[36:42].mean(0), p68[42:48].mean(0))
    print(
        f"  68-point eye centres ({eyes[0][0]:.2f}, {eyes[0][1]:.2f}) ({eyes[1][0]:.2f}, {eyes[1][1]:.2f}), "
        f"nose tip ({p68[30][0]:.2f}, {p68[30][1]:.2f})"
    )
    text = f'''"""UTKFace's aligned-crop geometry, measured from data by scripts/make_align_template.py. Do not edit.

Generated {dt.date.today().isoformat()} from {args.run} ({n68} of {n_ok} faces) and {args.faces}
({nb} faces for BlazeFace, {nbm} of them digitally masked in styles {", ".join(s for s, _ in MASK_STYLES)}).
Coordinates are pixels of the 200x200 crop.
"""
SIZE = 200
N_POINTS68 = {n68}
N_BLAZE = {nb}
N_BLAZE_MASKED = {nbm}
# Mean dlib 68 key points (0-based dlib order).
POINTS68 = {fmt(p68)}
# Median dlib HOG box (left, top, right, bottom) on the crops.
HOG_BOX = {tuple(round(float(v), 2) for v in hog_box)}
# Mean BlazeFace key points: right eye, left eye, nose tip, mouth centre, right ear, left ear.
BLAZE6 = {fmt(b6)}
BLAZE6_MASKED = {fmt(b6m)}
'''
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
