"""``maskprivacy train``: cache, splits, MoCo pretraining, fine-tuning and evaluation of the attackers."""

from __future__ import annotations

import argparse
from pathlib import Path

from maskprivacy.defaults import DEFAULT_DATA

STAGES = ("all", "cache", "splits", "pretrain", "finetune", "evaluate", "table")


def _devices(v: str):
    return int(v) if v.isdigit() else v


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train and evaluate the attacker models (masked and/or unmasked faces, both splits)",
        description="Train attackers that predict sex, race, age and the 7 age buckets: decode the faces once into a "
        "cache, write the random and uniform splits, pretrain a ResNet with MoCo v2 (self-supervised, "
        "train faces only), fine-tune it (one multi-task network and/or one network per task), and "
        "evaluate on the test split. Writes OUT/train/<condition>_<split>/{metrics.json, predictions.csv, "
        "confusion_*.png, model.pt} (condition robust: OUT/train/robust_<split>/). Every stage skips what is already done: run the same command again "
        "to resume after an interruption.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", default=DEFAULT_DATA, help="UTKFace folder or UTKFace.tar.gz (the unmasked originals)")
    p.add_argument("--mask-run", required=True, help="folder of a `maskprivacy mask` run (report.csv, landmarks.npy)")
    p.add_argument("--out", required=True, help="run folder (RUN)")
    p.add_argument("--profile", default="cpu", help="smoke, cpu, gpu, or a YAML file of the same shape")
    p.add_argument("--split", default="both", choices=("uniform", "random", "both"))
    p.add_argument(
        "--trained-on",
        "--condition",  # the old name, still accepted
        dest="condition",
        default="masked",
        choices=("masked", "unmasked", "both", "robust"),
        help="the faces the attacker is trained on (--condition: the same): "
        "masked faces, the unmasked originals, or both (the same faces, splits and method); robust: "
        "the mask-robust attacker, trained on the unmasked faces wearing a fresh random mask "
        "(every style, colour, print, lighting, placement) per face per batch, starting from the "
        "masked attacker (trained first if missing) and tested on the paper's mask 'a' "
        "(profile section robust:)",
    )
    p.add_argument(
        "--stage",
        default="all",
        choices=STAGES,
        help="run one stage only (each needs the earlier ones), or 'table' to print the results",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a profile value, e.g. --set finetune.epochs=3 --set model.input_size=80 (repeatable)",
    )
    p.add_argument("--limit", type=int, help="only the first N faces by name (quick looks); same as --set data.limit=N")
    g = p.add_argument_group("Lightning trainer (passed through)")
    g.add_argument("--accelerator", help="cpu, gpu, auto")
    g.add_argument("--devices", type=_devices, help="number of devices, 'auto', or a list like 0,1")
    g.add_argument("--strategy", help="auto, ddp, ddp_spawn, fsdp, ...")
    g.add_argument("--num-nodes", type=int, help="machines in a multi-node run")
    g.add_argument("--precision", help="32, bf16-mixed, 16-mixed, auto")
    g.add_argument("--threads", type=int, help="torch threads on CPU (0: all cores)")
    p.add_argument("--print-config", action="store_true", help="print the resolved configuration and stop")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_train)


def build_config(args: argparse.Namespace) -> dict:
    from maskprivacy.training.config import apply_overrides, load_profile, resolve

    cfg = apply_overrides(load_profile(args.profile), args.overrides)
    if args.limit is not None:
        cfg["data"]["limit"] = args.limit
    tr = cfg["trainer"]
    for key, val in (
        ("accelerator", args.accelerator),
        ("devices", args.devices),
        ("strategy", args.strategy),
        ("num_nodes", args.num_nodes),
        ("precision", args.precision),
        ("threads", args.threads),
    ):
        if val is not None:
            tr[key] = val
    if args.quiet:
        tr["progress"] = False
    return resolve(cfg)


def _train(args: argparse.Namespace) -> int:
    import os

    # OpenMP threads that spin while waiting collapse when the CPU is shared (several times slower than
    # passive waiting on a loaded 2-core machine). Must be set before torch loads OpenMP.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from maskprivacy.training import pipeline as P
    from maskprivacy.training.config import dump
    from maskprivacy.training.metrics_table import format_table

    cfg = build_config(args)
    if args.print_config:
        print(dump(cfg), end="")
        return 0
    if args.stage == "table":
        print(format_table(args.out))
        return 0
    conditions = ("masked", "unmasked") if args.condition == "both" else (args.condition,)
    splits = ("uniform", "random") if args.split == "both" else (args.split,)
    if args.stage == "all":
        P.run_training(cfg, args.data, args.mask_run, args.out, conditions, splits)
        if P.is_rank_zero():
            print()
            print(format_table(args.out))
        return 0
    P.check_run_config(args.out, cfg)
    caches = ("masked", "unmasked") if "robust" in conditions else conditions
    if args.stage == "cache":
        dirs = P.prepare_cache(cfg, args.data, args.mask_run, args.out, caches)
        for c, d in dirs.items():
            print(f"{c}: {d}")
        return 0
    from maskprivacy.training.cache import load_cache

    names = load_cache(P.cache_path(args.out, cfg, caches[0])).names
    if args.stage == "splits":
        for s, path in P.prepare_splits(cfg, args.out, names).items():
            print(f"{s}: {path}")
        return 0
    for cond in conditions:
        if cond == "robust":  # no pretraining of its own: it starts from the masked attacker
            for split in splits:
                if args.stage == "finetune":
                    print(P.finetune_robust(cfg, args.out, split))
                elif args.stage == "evaluate":
                    m = P.evaluate_attacker(
                        cfg,
                        args.out,
                        cond,
                        split,
                        "multitask",
                        P.stage_walls(Path(args.out), cfg, cond, split, "multitask"),
                    )
                    if m is not None:
                        print(f"{cond}/{split} multitask: {P.short_summary(m)}")
            continue
        if args.stage == "pretrain":
            print(f"{cond}: {P.pretrain(cfg, args.out, cond)}")
            continue
        for split in splits:
            for appr in P.approaches(cfg):
                if args.stage == "finetune":
                    for path in P.finetune(cfg, args.out, cond, split, appr):
                        print(path)
                else:
                    m = P.evaluate_attacker(
                        cfg, args.out, cond, split, appr, P.stage_walls(Path(args.out), cfg, cond, split, appr)
                    )
                    if m is not None:
                        print(f"{cond}/{split} {appr}: {P.short_summary(m)}")
    return 0
