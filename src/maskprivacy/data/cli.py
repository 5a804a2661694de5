"""``maskprivacy data ...``: look at a dataset before using it."""

from __future__ import annotations

import argparse
import json

from maskprivacy.defaults import DEFAULT_DATA

# The sub-commands import their modules when they run, so `maskprivacy --help` starts at once.


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="inspect a face dataset (UTKFace folder or .tar.gz)",
        description="Inspect a face dataset: labels parsed from file names, counts, problems.",
    )
    dsub = p.add_subparsers(dest="data_cmd", required=True, metavar="COMMAND")
    ins = dsub.add_parser(
        "inspect",
        help="print counts by sex, race and age bucket, and the problems found",
        description="Parse UTKFace labels from every file name; print counts by sex, race and the "
        "paper's 7 age buckets, and every malformed name with its reason.",
    )
    ins.add_argument("--data", default=DEFAULT_DATA, help=f"UTKFace folder or UTKFace.tar.gz (default: {DEFAULT_DATA})")
    ins.add_argument("--manifest", metavar="CSV", help="also write the manifest (path, labels, status, reason) here")
    ins.add_argument("--check-images", action="store_true", help="decode every image too (finds corrupt files; slower)")
    ins.add_argument("--json", action="store_true", help="print the counts as JSON")
    ins.set_defaults(func=_inspect)


def _inspect(args: argparse.Namespace) -> int:
    from maskprivacy.data.manifest import build_manifest, format_counts

    m = build_manifest(args.data, check_images=args.check_images)
    if args.manifest:
        m.write_csv(args.manifest)
    if args.json:
        c = m.counts()
        print(
            json.dumps(
                {
                    "files": len(m.rows),
                    "labelled": len(m.ok),
                    **{k: dict(v) for k, v in c.items()},
                    "problems": [{k: r[k] for k in ("path", "status", "reason")} for r in m.problems],
                },
                indent=2,
            )
        )
    else:
        print(format_counts(m))
        if args.manifest:
            print(f"\nmanifest written to {args.manifest}")
    return 0 if m.ok else 1
