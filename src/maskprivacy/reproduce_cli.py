"""``maskprivacy reproduce``: every stage from the archive to the report, in one command."""

from __future__ import annotations

import argparse

from maskprivacy.defaults import DEFAULT_DATA
from maskprivacy.layout import CONDITIONS, SPLITS
from maskprivacy.masking.draw import STYLES


def register(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser(
        "reproduce",
        help="run every stage: ingest, mask, figures, pretraining, fine-tuning, PVI, report",
        description="Reproduce the paper from the raw archive: ingest, mask, figures, cache, splits, MoCo v2 "
        "pretraining, fine-tuning on both splits for masked and unmasked faces, the dlib attacker, "
        "evaluation, PVI, and OUT/report.html + report.md + results.json. Each stage is skipped when "
        "already complete, so an interrupted run resumes; --force STAGE redoes one. "
        "Stages: " + ", ".join(_stage_names()),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    rep.add_argument("--data", default=DEFAULT_DATA, help="UTKFace folder or UTKFace.tar.gz")
    rep.add_argument(
        "--profile",
        default="cpu",
        help="smoke (minutes, tests), cpu (full data, 2 cores), gpu (paper scale), or a YAML file",
    )
    rep.add_argument("--out", required=True, help="run folder, e.g. runs/cpu")
    rep.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a training-profile value, e.g. finetune.epochs=3 (repeatable)",
    )
    rep.add_argument("--force", action="append", default=[], metavar="STAGE", help="redo this stage (repeatable)")
    rep.add_argument("--only", action="append", default=[], metavar="STAGE", help="run only this stage (repeatable)")
    rep.add_argument("--style", default="a", choices=STYLES, help="mask style (the paper's: a)")
    rep.add_argument("--color", default="white", help="mask colour (the paper's: white)")
    rep.add_argument("--seed", type=int, default=0, help="seed for masks, subsamples and bootstrap")
    rep.add_argument("--workers", type=int, default=0, help="processes for masking and descriptors (0: all cores)")
    rep.add_argument("--no-dlib", action="store_true", help="skip the dlib-descriptor attacker")
    rep.add_argument(
        "--real-masks",
        metavar="DIR",
        help="a labelled folder of real photos (DIR/labels.csv: path, sex, race, masked) whose real masks "
        "become a row of the protection-by-mask-style table (stage realmask), marked as a different "
        "population, e.g. ../shared/data/realmask-dev",
    )
    rep.add_argument(
        "--real-masks-train",
        metavar="DIR",
        help="a folder of real photos of masked faces (DIR/labels.csv: path, sex, race, masked; blank where "
        "unknown) to train the real-mask attacker on (stages real_photos, train_real, train_facenet_real), "
        "e.g. ../shared/data/realmask-train; its validation part (whole people or near-duplicate clusters) "
        "chooses the model that reads real masks (RUN/readers.json)",
    )
    rep.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="N",
        help="repeat the training stages with N training seeds (the profile's seed, +1, ...) in OUT/seeds/, on the "
        "same test faces; results.json and the report give each attacker's mean and spread (default 1)",
    )
    rep.add_argument("--quiet", action="store_true", help="no progress bars")
    g = rep.add_argument_group("Lightning trainer (passed through)")
    g.add_argument("--accelerator", help="cpu, gpu, auto")
    g.add_argument("--devices", help="number of devices, 'auto', or a list like 0,1")
    g.add_argument("--strategy", help="auto, ddp, ...")
    g.add_argument("--num-nodes", type=int, help="machines in a multi-node run")
    rep.set_defaults(func=_reproduce)


def _stage_names() -> list[str]:
    from maskprivacy.reproduce import STAGE_NAMES

    return list(STAGE_NAMES)


def _reproduce(args: argparse.Namespace) -> int:
    from maskprivacy.reproduce import reproduce

    devices = args.devices
    if devices is not None and devices.isdigit():
        devices = int(devices)
    res = reproduce(
        args.data,
        args.out,
        profile=args.profile,
        overrides=args.overrides,
        style=args.style,
        color=args.color,
        seed=args.seed,
        workers=args.workers,
        force=args.force,
        only=args.only,
        dlib=not args.no_dlib,
        progress=not args.quiet,
        real_masks=args.real_masks,
        seeds=args.seeds,
        real_masks_train=args.real_masks_train,
        trainer={
            "accelerator": args.accelerator,
            "devices": devices,
            "strategy": args.strategy,
            "num_nodes": args.num_nodes,
        },
    )
    _print_table(res)
    return 0


def _print_table(res: dict) -> None:
    rows = [
        ("sex accuracy", "sex", "accuracy", True),
        ("race accuracy", "race", "accuracy", True),
        ("age bucket accuracy", "age_bucket", "accuracy", True),
        ("age MAE", "age", "mae", False),
    ]
    print(f"the paper-style attacker ({res.get('main_attacker', 'cnn')}), the figures that compare with the paper:")
    print(f"{'':<22}{'masked/uniform':>16}{'masked/random':>16}{'unmasked/uniform':>18}{'unmasked/random':>17}")
    for label, task, metric, pct in rows:
        cells = []
        for c in CONDITIONS:
            for s in SPLITS:
                v = ((res.get(c) or {}).get(s) or {}).get(task, {}).get(metric)
                cells.append("-" if v is None else (f"{100 * v:.2f}%" if pct else f"{v:.2f}"))
        print(f"{label:<22}{cells[0]:>16}{cells[1]:>16}{cells[2]:>18}{cells[3]:>17}")
    pvi = res.get("pvi") or {}
    if pvi.get("reduction") is not None:
        chosen = pvi.get("attackers") or {}
        who = (
            "the answer: "
            + "; ".join(f"{c} " + ", ".join(f"{a} {d['attacker']}" for a, d in v.items()) for c, v in chosen.items())
            if pvi.get("attacker") == "strongest" and chosen
            else f"attacker {pvi.get('attacker')}"
        )
        print(
            f"PVI masked {pvi.get('masked'):.3f}  unmasked {pvi.get('unmasked'):.3f}  reduction {100 * pvi['reduction']:.1f}%"
            f"  ({who})"
        )
