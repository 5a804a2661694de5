"""``maskprivacy mask``: draw digital masks on every face of a dataset."""

from __future__ import annotations

import argparse
import json

from maskprivacy.defaults import DEFAULT_DATA
from maskprivacy.masking.colors import NAMED_COLORS
from maskprivacy.masking.draw import STYLES

# The sub-commands import their modules when they run (dlib, OpenCV), so `maskprivacy --help` starts at once.


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mask",
        help="mask every face of a dataset (resumable; same seed, same bytes)",
        description="Localise each face (dlib HOG), find its 68 key points (dlib), and draw a digital mask. "
        "Writes OUT/images/<same names>, OUT/report.csv (status and reason per file), "
        "OUT/landmarks.npy (68 points per masked face) and OUT/summary.json. "
        "An interrupted run resumes where it stopped.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", default=DEFAULT_DATA, help="UTKFace folder, UTKFace.tar.gz, or any folder of images")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--style",
        default="a",
        choices=STYLES,
        help="a-f: the paper's flat shapes (a is the paper's); surgical, cloth, n95: realistic, shaded",
    )
    p.add_argument(
        "--color",
        default="white",
        help=f"'R,G,B', '#RRGGBB', a name ({', '.join(NAMED_COLORS)}), or 'random' (seeded per image)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for random colours and prints")
    p.add_argument("--workers", type=int, default=0, help="processes (0: one per CPU core)")
    p.add_argument(
        "--detector",
        default="fast",
        choices=("fast", "paper"),
        help="fast: HOG on a 100-px copy of aligned crops, with fallbacks; paper: HOG with one up-sampling (slow)",
    )
    p.add_argument(
        "--predictor",
        default="batched",
        choices=("batched", "dlib"),
        help="batched: dlib's 68-point model evaluated for many faces at once (faster, same points up to rounding); "
        "dlib: dlib's shape_predictor face by face",
    )
    p.add_argument("--limit", type=int, help="only the first N files (for a quick look)")
    p.add_argument("--force", action="store_true", help="start over even if OUT holds a run with other settings")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_mask)


def _mask(args: argparse.Namespace) -> int:
    from maskprivacy.masking.batch import MaskConfig, run_masking

    cfg = MaskConfig(
        style=args.style, color=args.color, seed=args.seed, detector=args.detector, predictor=args.predictor
    )
    s = run_masking(
        args.data,
        args.out,
        cfg,
        workers=args.workers or None,
        limit=args.limit,
        progress=not args.quiet,
        force=args.force,
    )
    named = s.total - s.counts.get("skipped", 0)
    print(
        f"files: {s.total}   masked: {s.masked} ({100.0 * s.masked / max(1, named):.1f}% of images)   "
        f"this run: {s.wall_s:.1f} s, {s.images_per_s:.0f} images/s"
        + (f"   resumed after {s.resumed}" if s.resumed else "")
    )
    print(json.dumps(s.counts))
    print(f"report: {args.out}/report.csv")
    return 0 if s.masked > 0 else 1
