"""``maskprivacy analyze``, ``maskprivacy evaluate`` and ``maskprivacy serve``."""

from __future__ import annotations

import argparse
import json
import sys
from os import environ
from pathlib import Path

from maskprivacy.analysis.limits import (
    BODY_GRACE_S,
    BODY_TIMEOUT_S,
    MAX_CONCURRENT,
    MAX_PARTS,
    MAX_RECEIVING,
    MAX_WAITING,
    MIN_BODY_RATE,
    PROCESS_BUDGET_S,
    WAIT_S,
)
from maskprivacy.data.imageio import FORMATS, MAX_JPEG_SCANS
from maskprivacy.masking.draw import STYLES

# The sub-commands import their stage modules when they run: those load torch, dlib and MediaPipe,
# and `maskprivacy --help` (or any other command) should not wait for them.

MODEL_HELP = (
    "run directory of the attacker stage (holds train/<unmasked|masked|robust>_<split>/model.pt); "
    "default: $MASKPRIVACY_MODEL, else runs/cpu (what `maskprivacy reproduce --profile cpu --out runs/cpu` writes)"
)


def _default_model() -> str:
    return environ.get("MASKPRIVACY_MODEL", "runs/cpu")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=_default_model(), metavar="RUN_DIR", help=MODEL_HELP)
    p.add_argument("--split", default="uniform", choices=("uniform", "random"), help="which split's models")
    p.add_argument(
        "--detector",
        default="auto",
        choices=("auto", "blazeface", "dlib"),
        help="auto: BlazeFace (finds faces behind real masks) when mediapipe is installed, else dlib",
    )
    p.add_argument(
        "--no-tta",
        action="store_true",
        help="skip the models' flip averaging: about twice as fast, readings differ slightly from the "
        "run's reported metrics",
    )


def _real_mask(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--real-mask-model",
        default="auto",
        choices=("auto", "masked", "robust", "real"),
        help="which attacker reads faces that already wear a real mask: auto = the one the run chose on "
        "validation (RUN/readers.json, any family), else the folder's real-mask attacker (real_<split>, "
        "trained on real masked photos too), else its mask-robust one (robust_<split>), else the paper-style "
        "one (masked_<split>); masked, robust or real force one of the folder's own",
    )
    p.add_argument(
        "--cover-real-masks",
        action="store_true",
        help="paint the paper's white type-a mask over a real mask before reading the face (an adversary "
        "with a digital-mask model would); such faces then go to the paper-style attacker unless "
        "--real-mask-model says otherwise",
    )
    p.add_argument(
        "--mask-check",
        default="auto",
        choices=("auto", "detector", "colour"),
        help="who decides whether a face already wears a mask when nobody says: auto = the run's trained "
        "mask detector (reproduce stage mask_detector) when it has one, else the colour check",
    )


def register(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = sub.add_parser(
        "analyze",
        help="what trained models read from each face of your photos, with and without a mask",
        description="Find every face of each photo, align it to UTKFace's crop geometry, and read sex, race and age "
        "with the run's models: as it is (bare faces: unmasked-face models; faces already wearing a mask: "
        "the mask-robust attacker if the run has one, else the masked-face models) and wearing a digital "
        "mask (masked-face models). Each reading names its model. Shows what the mask changed. "
        "Nothing is written.",
        formatter_class=fmt,
    )
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="image files (JPEG, PNG, ...)")
    _common(p)
    _real_mask(p)
    p.add_argument("--mask", default="a", choices=(*STYLES, "none"), help="digital mask style (none: no digital mask)")
    p.add_argument("--color", default="white", help="mask colour: white, a name, R,G,B, #RRGGBB or random")
    p.add_argument(
        "--already-masked",
        default="auto",
        choices=("auto", "yes", "no"),
        help="do the photos show real masks? auto: the mask check decides per face (--mask-check)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=_analyze)

    e = sub.add_parser(
        "evaluate",
        help="accuracy / MAE of a run's models on any labelled folder of photos",
        description="Evaluate the run's models on your own labelled photos. LABELS is a CSV with a `path` column "
        "(relative to --images) and any of: sex (0 male, 1 female), race (UTKFace codes 0 White, 1 Black, "
        "2 Asian, 3 Indian, 4 Others), age (years), masked (0/1: the photo already shows a real mask; "
        "blank: the mask check decides, see --mask-check). Blanks are allowed; metrics are reported for the labels present. "
        "Bare faces go to the unmasked-face models; faces with a real mask to the mask-robust attacker when "
        "the run has one (else the masked-face models); bare faces given a digital mask (--mask STYLE) to "
        "the masked-face models. The largest face of each photo is read; photos without a face are counted. "
        "Per task: accuracy, balanced accuracy, per-class accuracy, confusion matrix and class counts.",
        formatter_class=fmt,
    )
    e.add_argument("--images", required=True, metavar="DIR", help="folder the paths in LABELS are relative to")
    e.add_argument("--labels", required=True, metavar="LABELS", help="labels.csv")
    _common(e)
    _real_mask(e)
    e.add_argument(
        "--mask",
        default="none",
        choices=(*STYLES, "none"),
        help="draw this digital mask on bare faces first (none: evaluate the photos as they are)",
    )
    e.add_argument("--color", default="white", help="mask colour")
    e.add_argument(
        "--json",
        action="store_true",
        help='print one object: {"n", "faces_found", "sex", "race", "age_bucket": {"accuracy", '
        '"balanced_accuracy", "per_class", "support", "predicted", "confusion" (rows: true class), "n"}, '
        'sex also "auc" (ROC AUC of its female probability: threshold-free), '
        '"age": {"mae", "rmse", "n"}, "models": {model: faces read}, "already_masked": {"yes", "no"}} '
        "(tasks only for labels present; age_bucket from the age label) plus not_found and errors lists",
    )
    e.add_argument(
        "--predictions",
        metavar="CSV",
        help="also write one row per photo: path, found, already_masked, model, true labels, predicted "
        "labels (codes as in LABELS) and every class probability, predicted age, error",
    )
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=_evaluate)

    s = sub.add_parser(
        "serve",
        help="web page and JSON API: upload a photo, see what a mask hides",
        description="Serve a page where you upload a photo, pick a mask style and see the original and masked faces "
        "side by side with the predictions and a plain-language summary, plus the same as a JSON API "
        "(POST /api/analyze; OpenAPI schema at /openapi.json). Uploads stay in memory and are never "
        "written to disk or logs. Other web sites cannot use it: only image/* or multipart/form-data "
        "bodies are accepted, requests from another Origin get 403, and the Host header must name this "
        "server (--allow-host adds names). At most --max-concurrent photos are processed at once and "
        "--max-waiting more wait up to --wait seconds; others get 503 with Retry-After. Time is bounded too: "
        f"a body must arrive within {BODY_GRACE_S:g} s plus 1 s per {MIN_BODY_RATE // 1024} KB "
        f"({BODY_TIMEOUT_S:g} s at most), else 408, and holds no place in that queue while it arrives "
        "(--max-receiving bodies arrive at once); a photo may take --budget seconds of decoding and "
        f"analysis, else 503. Only {', '.join(FORMATS)} images are opened, a JPEG of more than "
        f"{MAX_JPEG_SCANS} scans is refused undecoded (413), and a form may have at most {MAX_PARTS} parts.",
        formatter_class=fmt,
    )
    _common(s)
    s.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 exposes the page to your network)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host header is NAME (repeatable; a reverse proxy's or LAN name; "
        "'*' turns the DNS-rebinding check off). Loopback names are always allowed; with --host "
        "0.0.0.0, also this machine's host name and addresses",
    )
    s.add_argument(
        "--max-concurrent",
        type=int,
        default=MAX_CONCURRENT,
        metavar="N",
        help="photos decoded and analysed at once (memory per photo: see docs/ANALYZE.md, Limits and memory)",
    )
    s.add_argument(
        "--max-waiting",
        type=int,
        default=MAX_WAITING,
        metavar="N",
        help="requests that may wait for a free slot; beyond that the answer is 503 at once",
    )
    s.add_argument(
        "--wait",
        type=float,
        default=WAIT_S,
        metavar="SECONDS",
        help="how long a waiting request waits for a slot before its 503",
    )
    s.add_argument(
        "--max-receiving",
        type=int,
        default=MAX_RECEIVING,
        metavar="N",
        help="uploads whose body may be arriving at once (they hold no place among --max-waiting); beyond "
        "that the answer is 503 at once",
    )
    s.add_argument(
        "--budget",
        type=float,
        default=PROCESS_BUDGET_S,
        metavar="SECONDS",
        help="time budget for decoding and analysing one photo once it has a slot: past it the answer is 503 "
        "and the work stops when its current step (decoding, analysis) ends",
    )
    s.add_argument(
        "--docs",
        action="store_true",
        help="serve Swagger UI at /docs; its script and style load from cdn.jsdelivr.net, so it is off "
        "by default (the OpenAPI schema at /openapi.json is always served)",
    )
    s.set_defaults(func=_serve)


def _flag(v: str) -> bool | None:
    return {"auto": None, "yes": True, "no": False}[v]


def _analyze(args: argparse.Namespace) -> int:
    from maskprivacy.analysis.analyzer import get_analyzer
    from maskprivacy.data.imageio import ImageError, decode_image
    from maskprivacy.masking.colors import parse_color

    parse_color(args.color)  # a bad colour fails before the models load (exit 2, with the reason)
    analyzer = get_analyzer(
        args.model,
        args.split,
        args.detector,
        False if args.no_tta else None,
        args.real_mask_model,
        args.cover_real_masks,
        args.mask_check,
    )
    style = None if args.mask == "none" else args.mask
    photos, failed = [], 0
    for path in args.photos:
        try:
            rgb = decode_image(Path(path).read_bytes())
            res = analyzer.analyze(rgb, style, args.color, _flag(args.already_masked))
            photos.append({"path": path, **res.to_dict()})
            if not args.json:
                print(f"{path}: {res.summary}")
                for note in res.notes:
                    print(f"  note: {note}")
                for i, f in enumerate(res.faces, 1):
                    print(
                        f"  face {i} box {f.box} ({f.detector}); "
                        + ("already masked" if f.already_masked else "bare")
                        + f": {f.masked_reason}"
                    )
        except (OSError, ImageError) as e:
            failed += 1
            photos.append({"path": path, "error": str(e)})
            print(f"{path}: skipped: {e}", file=sys.stderr)
    if args.json:
        print(json.dumps({"model": str(analyzer.models.run), "mask_style": style, "photos": photos}, indent=1))
    return 1 if failed == len(args.photos) else 0


def _evaluate(args: argparse.Namespace) -> int:
    from maskprivacy.analysis.labelled_folder import evaluate

    res = evaluate(
        args.images,
        args.labels,
        args.model,
        None if args.mask == "none" else args.mask,
        args.color,
        args.split,
        args.detector,
        progress=not (args.quiet or args.json),
        tta=False if args.no_tta else None,
        real_mask=args.real_mask_model,
        cover=args.cover_real_masks,
        predictions=args.predictions,
        mask_check=args.mask_check,
    )
    if args.json:
        print(json.dumps(res.to_dict()))
        return 0
    print(
        f"photos: {res.n}   faces found: {res.faces_found}   not found: {len(res.not_found)}   "
        f"unreadable or bad rows: {len(res.errors)}"
    )
    print("  read by: " + (", ".join(f"{m} ({k} faces)" for m, k in res.models.items()) or "no model"))

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f}%"

    for task, m in res.metrics.items():
        if task == "age":
            shown = "n/a" if m["mae"] is None else f"{m['mae']:.2f} years"
            print(f"  age mae: {shown} (n={m['n']})")
            continue
        per = ", ".join(f"{c} {pct(v)} (n={m['support'][c]})" for c, v in m["per_class"].items() if m["support"][c])
        auc = f", AUC {m['auc']:.3f}" if m.get("auc") is not None else ""
        print(
            f"  {task} accuracy: {pct(m['accuracy'])}, balanced {pct(m['balanced_accuracy'])}{auc} (n={m['n']})"
            + (f"; per class: {per}" if per else "")
        )
    if res.framing is not None:
        from maskprivacy.analysis.framing import framing_text

        b = res.framing["buckets"]
        print(f"  by framing ({res.framing['measure']}: none {b['none']}, some {b['some']}, most {b['most']}):")
        print(f"    every face: {framing_text(res.framing['all_faces'], pct)}")
        if any(d["n"] for d in res.framing["already_masked"].values()):
            print(f"    faces already wearing a mask: {framing_text(res.framing['already_masked'], pct)}")
    from maskprivacy.analysis.mask_decision import decision_counts

    for m in ((res.mask_check or {}).get("checks") or {}).values():
        print(f"  masked or bare, {m['what']} on the labelled photos: {pct(m['accuracy'])} ({decision_counts(m)})")
    if args.predictions:
        print(f"  one row per photo: {args.predictions}")
    for p in res.not_found[:20]:
        print(f"  no face: {p}")
    for e in res.errors[:20]:
        print(f"  skipped {e['path']}: {e['reason']}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    # The models load now: a missing run fails with a clear error before a port is bound.
    from maskprivacy.analysis.app import create_app
    from maskprivacy.analysis.security import allowed_hosts_for

    app = create_app(
        args.model,
        args.split,
        args.detector,
        tta=False if args.no_tta else None,
        max_concurrent=args.max_concurrent,
        max_waiting=args.max_waiting,
        wait_s=args.wait,
        max_receiving=args.max_receiving,
        budget_s=args.budget,
        allowed_hosts=allowed_hosts_for(args.host, args.allow_host),
        docs=args.docs,
    )
    where = "only this computer" if args.host in ("127.0.0.1", "localhost", "::1") else "your network"
    print(
        f"maskprivacy: serving models from {args.model} at http://{args.host}:{args.port}/ (reachable from {where}); "
        f"Ctrl-C stops",
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")
    return 0
