#!/usr/bin/env python
"""Where FaceMesh puts the eyes, brows and nose bridge on UTKFace's crops: faces/mesh_template_data.py.

Faces behind real masks are aligned from these FaceMesh points (``faces/mesh.py``). They are mapped
onto their mean position on UTKFace's own 200x200 crops, measured here, never guessed:

* ``MESH_UPPER``: on the crops as they are;
* ``MESH_UPPER_MASKED``: on the same crops wearing a digital mask of every style in turn (random
  colours for the realistic ones), because FaceMesh regresses all its points together and a mask
  moves even the visible ones a little (the shift is printed);
* ``MESH_EYE_CORNERS``: the four eye corners on the bare crops (scripts/check_realmask.py's yardstick).

Only UTKFace faces are used (never the real-mask dev set). Only numbers are written.

    python scripts/make_mesh_template.py --faces ../shared/data/utkface-sample
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "maskprivacy" / "serve" / "mesh_template_data.py"


def fmt(a: np.ndarray) -> str:
    return "(" + ", ".join("(" + ", ".join(f"{v:.2f}" for v in row) + ")" for row in np.atleast_2d(a)) + ")"


def main(argv: list[str] | None = None) -> int:
    from maskprivacy.data.imageio import decode_image
    from maskprivacy.data.sources import iter_source
    from maskprivacy.faces.landmarks import get_landmarker
    from maskprivacy.faces.mesh import EYE_CORNERS, UPPER, FaceMeshLocator
    from maskprivacy.masking.draw import STYLES, draw_mask

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--faces", type=Path, default=Path("../shared/data/utkface-sample"), help="UTKFace crops (folder or .tar.gz)"
    )
    ap.add_argument("--limit", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    mesh = FaceMeshLocator()
    lmk = get_landmarker("fast")
    plain, masked, corners = [], [], []
    styles_used = set()
    for i, item in enumerate(iter_source(args.faces)):
        if i >= args.limit:
            break
        try:
            rgb = decode_image(item.data)
        except ValueError:
            continue
        if rgb.shape[:2] != (200, 200):
            continue
        p = mesh.points(rgb)
        if p is not None:
            plain.append(p[UPPER])
            corners.append(p[EYE_CORNERS])
        fl = lmk.faces(rgb)
        if not fl:
            continue
        style = STYLES[i % len(STYLES)]
        color = "white" if style == "a" else "random"
        q = mesh.points(draw_mask(rgb, fl[0].points, style=style, color=color, key=item.name))
        if q is not None:
            masked.append(q[UPPER])
            styles_used.add(style)
    up, upm, ec = np.mean(plain, 0), np.mean(masked, 0), np.mean(corners, 0)
    shift = np.linalg.norm(upm - up, axis=1)
    print(
        f"FaceMesh upper points on {len(plain)} bare and {len(masked)} digitally masked crops; "
        f"a mask moves them by {shift.mean():.2f} px on average (max {shift.max():.2f})"
    )
    text = f'''"""Where FaceMesh puts the points above a mask on UTKFace's crops. Do not edit: written by
scripts/make_mesh_template.py on {dt.date.today().isoformat()} from {args.faces} ({len(plain)} bare crops,
{len(masked)} with digital masks of styles {", ".join(sorted(styles_used))}). Pixels of the 200x200 crop;
rows in the order of faces/mesh.py's UPPER (eyes, brows, nose bridge) and EYE_CORNERS.
"""
N_MESH = {len(plain)}
N_MESH_MASKED = {len(masked)}
MESH_UPPER = {fmt(up)}
MESH_UPPER_MASKED = {fmt(upm)}
MESH_EYE_CORNERS = {fmt(ec)}
'''
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
