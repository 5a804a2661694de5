"""``maskprivacy privacy ...`` (the PVI) and ``maskprivacy survey ...`` (perceived-privacy statistics)."""

from __future__ import annotations

import argparse
import json
import sys

from maskprivacy.bootstrap import N_RESAMPLES
from maskprivacy.defaults import DEFAULT_DATA


def register(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = sub.add_parser(
        "privacy",
        help="Privacy Vulnerability Index (PVI) of a run; the paper's numbers through it",
        description="The Privacy Vulnerability Index: how predictable sex, race and age are from a "
        "face (0 = no better than guessing from training labels, 1 = perfect), weighted "
        "by importance. Definition: docs/PRIVACY.md.",
    )
    psub = p.add_subparsers(dest="privacy_cmd", required=True, metavar="COMMAND")
    pvi = psub.add_parser(
        "pvi",
        help="PVI of masked and unmasked faces, the reduction, 95%% bootstrap intervals",
        formatter_class=fmt,
        description="Reads the attackers' predictions.csv under RUN_DIR (by default, per attribute, those of "
        "the strongest masked and unmasked attackers, chosen on the validation faces) and the training "
        "faces of RUN_DIR/splits/<split>.csv (for the baselines), and prints the PVI of "
        "masked and unmasked faces, the relative reduction and paired bootstrap intervals.",
    )
    pvi.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (docs/ARCHITECTURE.md)")
    pvi.add_argument(
        "--weights", help="importance weights, e.g. sex=0.4,race=0.4,age=0.2 (normalised to sum 1; default: equal)"
    )
    pvi.add_argument(
        "--weights-from",
        metavar="SURVEY_CSV",
        help="take the weights from a survey's importance ratings (see `maskprivacy survey analyze`)",
    )
    pvi.add_argument(
        "--attacker",
        default="strongest",
        help="which attacker: strongest (the run's answer: per attribute and side, the strongest attacker "
        "chosen on the validation faces, as in the report and results.json), cnn (the paper-style CNN, "
        "train/<cond>_<split>), cnn_per_task (its per_task/ folder), dlib or another name "
        "(train/<name>_<cond>_<split> or <name>_<cond>_<split>)",
    )
    pvi.add_argument("--split", default="uniform", choices=("uniform", "random"))
    pvi.add_argument(
        "--baseline",
        default="majority",
        choices=("majority", "prior"),
        help="chance level of the classification tasks: majority class, or guessing from class shares",
    )
    pvi.add_argument(
        "--age",
        dest="age_measure",
        default="regression",
        choices=("regression", "bucket"),
        help="age predictability from the MAE (vs the median) or from the 7-bucket accuracy",
    )
    pvi.add_argument("--n-boot", type=int, default=N_RESAMPLES, help="bootstrap resamples")
    pvi.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    pvi.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pvi.set_defaults(func=_pvi)
    paper = psub.add_parser(
        "paper",
        help="the paper's published numbers through the same PVI formula, vs its 2.9%%",
        formatter_class=fmt,
        description="Puts the paper's published accuracies (masked vs the unmasked state of the "
        "art) through maskprivacy's PVI and a few variants, next to the paper's 2.9%% "
        "reduction, and lists what the paper's exact formula would need. Age baselines "
        "come from the labels in the dataset's file names.",
    )
    paper.add_argument(
        "--data", default=DEFAULT_DATA, help="UTKFace folder or UTKFace.tar.gz (names are read, not images)"
    )
    paper.add_argument("--weights", help="importance weights, e.g. sex=1,race=1,age=1")
    paper.add_argument("--json", action="store_true", help="print JSON")
    paper.set_defaults(func=_paper)

    s = sub.add_parser(
        "survey",
        help="perceived-privacy survey: analyse a CSV, or write a synthetic example",
        description="Perceived privacy with vs without a face mask. CSV schema and questionnaire: "
        "docs/SURVEY.md, examples/survey/.",
    )
    ssub = s.add_subparsers(dest="survey_cmd", required=True, metavar="COMMAND")
    an = ssub.add_parser(
        "analyze",
        help="paired tests (Wilcoxon, t), effect sizes, shares, PVI weights",
        formatter_class=fmt,
        description="Wilcoxon signed-rank and paired t-test of perceived privacy with vs without a "
        "mask, rank-biserial r and Cohen's d_z, the share rating the mask as more private, "
        "and importance weights for `maskprivacy privacy pvi --weights-from`.",
    )
    an.add_argument("file", metavar="FILE", help="survey CSV")
    an.add_argument("--json", action="store_true", help="print JSON")
    an.set_defaults(func=_analyze)
    ex = ssub.add_parser(
        "example",
        help="write a SYNTHETIC example survey CSV (seeded; not real data)",
        formatter_class=fmt,
        description="Write a SYNTHETIC survey CSV drawn from a fixed, documented model (docs/SURVEY.md) "
        "to try the analysis. It is not real data and not the paper's survey; the file "
        "says so in its header and in its data_source column.",
    )
    ex.add_argument("--n", type=int, default=200, help="respondents")
    ex.add_argument("--seed", type=int, default=0, help="random seed")
    ex.add_argument("--out", required=True, help="CSV to write (a name containing 'synthetic' is advised)")
    ex.set_defaults(func=_example)


def _weights(args: argparse.Namespace) -> dict[str, float] | None:
    from maskprivacy.privacy.pvi import normalise_weights, parse_weights

    if getattr(args, "weights", None) and getattr(args, "weights_from", None):
        raise ValueError("give --weights or --weights-from, not both")
    if getattr(args, "weights_from", None):
        from maskprivacy.privacy.survey import SYNTHETIC_WARNING, importance_weights, read_survey

        survey = read_survey(args.weights_from)
        if survey.synthetic:
            print(f"warning: weights from {args.weights_from}: {SYNTHETIC_WARNING}", file=sys.stderr)
        return normalise_weights(importance_weights(survey))
    if args.weights:
        return normalise_weights(parse_weights(args.weights))
    return None


def _pvi(args: argparse.Namespace) -> int:
    from maskprivacy.privacy.pvi_for_run import pvi_for_run
    from maskprivacy.privacy.report_text import format_pvi

    r = pvi_for_run(
        args.run_dir, args.attacker, args.split, _weights(args), args.baseline, args.age_measure, args.n_boot, args.seed
    )
    if args.weights_from:
        r.warnings.append(f"weights from survey {args.weights_from}")
    print(json.dumps(r.to_dict(), indent=2) if args.json else format_pvi(r))
    return 0


def _paper(args: argparse.Namespace) -> int:
    from maskprivacy.privacy.paper_pvi import format_paper_check, paper_check

    d = paper_check(args.data, _weights(args))
    print(json.dumps(d, indent=2) if args.json else format_paper_check(d))
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from maskprivacy.privacy.survey import SYNTHETIC_WARNING, analyze, format_analysis, read_survey

    r = analyze(read_survey(args.file))
    if args.json:
        if r["synthetic"]:
            r = {"warning": SYNTHETIC_WARNING, **r}
        print(json.dumps(r, indent=2))
    else:
        print(format_analysis(r, args.file))
    return 0


def _example(args: argparse.Namespace) -> int:
    from maskprivacy.privacy.survey_example import write_example

    path = write_example(args.out, args.n, args.seed)
    print(
        f"wrote {path}: {args.n} SYNTHETIC respondents (seed {args.seed}) - generated example data, "
        "not real answers and not the paper's survey"
    )
    if "synthetic" not in path.name.lower():
        print("note: consider a file name containing 'synthetic' so nobody mistakes it for real data", file=sys.stderr)
    return 0
