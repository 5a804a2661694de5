"""``maskprivacy figure ...``: the paper's figures."""

from __future__ import annotations

import argparse

from maskprivacy.defaults import DEFAULT_DATA
from maskprivacy.masking.draw import STYLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "figure",
        help="draw the paper's figures (pipeline steps, dataset distributions)",
        description="Draw the paper's figures as PNG files.",
    )
    fsub = p.add_subparsers(dest="figure_cmd", required=True, metavar="FIGURE")
    pipe = fsub.add_parser(
        "pipeline",
        help="original, localisation, key points and mask, side by side",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    pipe.add_argument("image", help="a photo or face crop")
    pipe.add_argument("--out", default="pipeline.png", help="PNG to write")
    pipe.add_argument("--style", default="a", choices=STYLES, help="mask style")
    pipe.add_argument("--color", default="white", help="mask colour")
    pipe.set_defaults(func=_pipeline)
    dist = fsub.add_parser(
        "distributions", help="age histogram and race by sex", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    dist.add_argument("--data", default=DEFAULT_DATA, help="UTKFace folder or UTKFace.tar.gz")
    dist.add_argument("--out", default="distributions.png", help="PNG to write")
    dist.set_defaults(func=_distributions)

    rp = sub.add_parser(
        "report",
        help="(re)write results.json, report.md and report.html of a run folder",
        description="Rewrite RUN/results.json from the metrics the run holds, then RUN/report.md and a "
        "self-contained RUN/report.html (opens offline).",
    )
    rp.add_argument("run", help="run folder")
    rp.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    from maskprivacy.report.render import render_report
    from maskprivacy.report.results import write_results

    print(write_results(args.run))
    for p in render_report(args.run):
        print(p)
    return 0


def _pipeline(args: argparse.Namespace) -> int:
    from maskprivacy.report.figures import pipeline_figure

    print(pipeline_figure(args.image, args.out, style=args.style, color=args.color))
    return 0


def _distributions(args: argparse.Namespace) -> int:
    from maskprivacy.data.manifest import build_manifest
    from maskprivacy.report.figures import distributions_figure

    m = build_manifest(args.data)
    if not m.ok:
        raise ValueError(f"no labelled images in {args.data}")
    print(distributions_figure(m.ok, args.out))
    return 0
