"""``maskprivacy attack-dlib``: the cheap comparison attacker (dlib face descriptor + scikit-learn heads)."""

from __future__ import annotations

import argparse
import json

from maskprivacy.defaults import DEFAULT_DATA


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "attack-dlib",
        help="cheap attacker: dlib's pretrained 128-D face descriptor + linear/kernel heads",
        description="Predict sex, race, age and the 7 age buckets from dlib's pretrained 128-D face descriptor "
        "(face_recognition_models), computed from the 68 key points a masking run stored, on the masked "
        "and on the unmasked faces: dlib cuts the aligned 150x150 chips, and dlib's network, rebuilt "
        "in PyTorch, describes them in batches (--descriptor dlib: dlib's own compute_face_descriptor, "
        "face by face; the same vectors, slower). Heads: logistic regression or RBF SVC (classes), "
        "ridge or RBF SVR (age), chosen on the validation part. Trains on a seeded subsample of the "
        "train part and tests on the whole test part of the same split files as the CNN attacker. Writes OUT/dlib_<condition>_<split>/metrics.json, predictions.csv "
        "and confusion_<task>.png; descriptors are cached in OUT/dlib_cache so reruns are instant.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--data", default=DEFAULT_DATA, help="the original (unmasked) faces: UTKFace folder or UTKFace.tar.gz"
    )
    p.add_argument("--mask-run", required=True, help="output folder of `maskprivacy mask` on the same --data")
    p.add_argument("--out", required=True, help="output folder (a run folder: OUT/splits is shared with the CNN)")
    p.add_argument(
        "--split",
        nargs="+",
        default=["uniform", "random"],
        choices=("uniform", "random"),
        help="data splits to evaluate",
    )
    p.add_argument(
        "--trained-on",
        "--condition",  # the old name, still accepted
        dest="condition",
        nargs="+",
        default=["masked", "unmasked"],
        choices=("masked", "unmasked"),
        help="faces to attack (each trained and tested on them): with the mask or without (--condition: the same)",
    )
    p.add_argument(
        "--n-train",
        type=int,
        default=0,
        help="training faces: 0 (default) every face of the train part, N a seeded subsample",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the training subsample")
    p.add_argument("--splits-dir", help="folder of <split>.csv files (read if present, else made); default OUT/splits")
    p.add_argument("--cache-dir", help="descriptor cache; default OUT/dlib_cache")
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="processes reading the faces and cutting chips (with --descriptor dlib: also describing them)",
    )
    p.add_argument(
        "--descriptor",
        choices=("torch", "dlib"),
        default="torch",
        help="torch: dlib's network in PyTorch, in batches; dlib: compute_face_descriptor face by face "
        "(kept to compare; both fill the same descriptor cache)",
    )
    p.add_argument("--batch-size", type=int, default=64, help="chips per forward pass of the torch network")
    p.add_argument("--json", action="store_true", help="also print the headline metrics as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from maskprivacy.training.dlib_attacker import run_dlib_attacker, summary_lines

    if args.n_train < 0:
        raise ValueError("--n-train must be >= 0 (0: the whole train part)")
    if args.workers < 1:
        raise ValueError("--workers must be >= 1")
    if args.batch_size < 1:
        raise ValueError("--batch-size must be >= 1")
    res = run_dlib_attacker(
        args.data,
        args.mask_run,
        args.out,
        splits=tuple(dict.fromkeys(args.split)),
        conditions=tuple(dict.fromkeys(args.condition)),
        n_train=args.n_train or None,
        seed=args.seed,
        splits_dir=args.splits_dir,
        cache_dir=args.cache_dir,
        workers=args.workers,
        progress=not args.quiet,
        engine=args.descriptor,
        batch_size=args.batch_size,
    )
    d = res["descriptors"]
    print(
        f"descriptors ({d['engine']}): {d['computed']} computed, {d['cached']} from cache, {d['failed']} failed "
        f"({d['wall_s']:.1f} s); total {d['total_wall_s']:.1f} s"
    )
    for line in summary_lines(res):
        print(line)
    print(f"outputs: {args.out}/dlib_<condition>_<split>/metrics.json, predictions.csv")
    if args.json:
        print(
            json.dumps(
                {
                    c: {
                        s: {
                            "sex": m["sex"]["accuracy"],
                            "race": m["race"]["accuracy"],
                            "age_bucket": m["age_bucket"]["accuracy"],
                            "age_mae": m["age"]["mae"],
                            "age_rmse": m["age"]["rmse"],
                            "n_test": m["n_test"],
                        }
                        for s, m in res[c].items()
                    }
                    for c in ("masked", "unmasked")
                    if c in res
                },
                indent=2,
            )
        )
    return 0
