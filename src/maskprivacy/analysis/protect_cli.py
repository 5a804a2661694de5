"""``maskprivacy protect PHOTO``: which occlusion would hide most from the run's attacker."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from maskprivacy.analysis.cli import MODEL_HELP, _default_model


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "protect",
        help="what would protect me? every occlusion (sunglasses, cap, hood, blur, ...) on your photo, ranked",
        description="Find every face of PHOTO, draw each occlusion of the catalog on it (sunglasses, glasses, a cap, "
        "a beanie, a hood, a scarf, blur, pixelation, a bar over the eyes, and combinations with the paper's mask) "
        "and read each with the run's adaptive attacker (trained on random occlusions; RUN/readers.json role "
        "'occluded'). A run without one is read by its digital-mask reader, and the output says that this "
        "attacker never trained on occlusions. Prints, per face, the occlusions ranked by how much the attacker "
        "still reads (its mean confidence over sex, race and age group; lowest first) and writes a picture grid.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("photo", metavar="PHOTO", help="an image file (JPEG, PNG, ...)")
    p.add_argument("--model", default=_default_model(), metavar="RUN_DIR", help=MODEL_HELP)
    p.add_argument("--split", default="uniform", choices=("uniform", "random"), help="which split's models")
    p.add_argument("--detector", default="auto", choices=("auto", "blazeface", "dlib"), help="face detector")
    p.add_argument(
        "--out", metavar="GRID.png", help="where to write the picture grid (default: PHOTO's name + .protect.png, here)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the occlusions' colours and placement")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (attacker, faces[].bare, faces[].ranking, grid) instead of text",
    )
    p.set_defaults(func=_protect)


def _protect(args: argparse.Namespace) -> int:
    from PIL import Image

    from maskprivacy.analysis.protect import grid_image, load_protect_attacker, protect_photo, ranking_text
    from maskprivacy.data.imageio import decode_image

    path = Path(args.photo)
    if not path.is_file():
        raise FileNotFoundError(f"{args.photo}: no such file")
    rgb = decode_image(path.read_bytes())  # not an image: ImageError (a ValueError), a clear message, exit 2
    attacker = load_protect_attacker(args.model, args.split)
    res = protect_photo(rgb, attacker, args.detector, args.seed, model=str(args.model))
    out = Path(args.out) if args.out else Path(f"{path.stem}.protect.png")
    if res.faces:
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grid_image(res)).save(out)
    if args.json:
        d = res.to_dict()
        d["photo"] = args.photo
        d["grid"] = str(out) if res.faces else None
        print(json.dumps(d, indent=1))
    elif res.faces:
        n = len(res.faces)
        print(f"{args.photo}: {n} face{'s' * (n != 1)}")
        print(ranking_text(res))
        print(f"grid: {out}")
    if not res.faces:
        h, w = rgb.shape[:2]
        why = "; ".join(res.notes) or "no face the detector could find"
        print(f"{args.photo}: no face found in the {w}x{h} image ({why}); nothing to protect", file=sys.stderr)
        return 1
    return 0
