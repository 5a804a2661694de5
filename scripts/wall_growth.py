#!/usr/bin/env python3
"""How much longer the whole `reproduce` is than before issues 11 and 13, from run folders.

    python scripts/wall_growth.py RUN [--before OLD_RUN] [--json OUT]

RUN is a finished `maskprivacy reproduce` run folder of this code; OLD_RUN (optional) a folder made
on the same machine, in the same session, by the code before both issues (commit ce4b243, whose
stages are BEFORE_STAGES), running as many of its stages as time allows, best those whose code
changed since (inspect, mask, figures, cache, splits, dlib). A stage of BEFORE_STAGES that OLD_RUN
did not run (every one, without --before) is counted at RUN's time for it. Without --before the
dlib stage is so counted too: it now describes every training face in torch batches where it
described a 3,000-face subsample face by face with dlib, so the "before" figure is then today's
dlib stage, and the ratio an upper bound only if the old stage was not faster than today's (earlier
sessions measured it slower: docs/RESULTS.md). The CNN's pretraining and fine-tuning stages run
the same profile settings as then (`git diff ce4b243 -- src/maskprivacy/training/profiles/cpu.yaml`
adds only the robust and facenet sections), so their cost did not change. The script says which
stages it took from where. Both folders' `stages.json` hold each stage's wall time as it ran.

It prints each stage's wall time before and after, the whole run before and after, and the growth
due to each issue's new stages, against the targets of the issues (issue 11: at most +30%; issue 13:
at most 1.5x the whole run before it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from robust_targets import ADDED as ISSUE_11_STAGES
from robust_targets import stage_walls

#: The stages of `reproduce` at commit ce4b243, the last commit before issues 11 and 13.
BEFORE_STAGES = (
    "inspect",
    "mask",
    "figures",
    "cache",
    "splits",
    "pretrain_masked",
    "train_masked_uniform",
    "train_masked_random",
    "pretrain_unmasked",
    "train_unmasked_uniform",
    "train_unmasked_random",
    "dlib",
    "pvi",
    "report",
)
#: The stages each issue added.
ADDED = {
    "issue 11": ISSUE_11_STAGES,
    "issue 13": ("train_facenet_masked", "train_facenet_robust", "train_facenet_unmasked", "ensemble"),
}
TARGETS = {"issue 11": 1.30, "issue 13": 1.50}


def growth(run: Path, before: Path | None = None) -> dict:
    """Per-stage and whole-run wall times before and after, and the growth of each issue's stages."""
    new, old = stage_walls(run), (stage_walls(before) if before else {})
    missing = [s for s in BEFORE_STAGES if s not in new]
    if missing:
        sys.exit(f"{run}: stages not done: {', '.join(missing)} (run reproduce to the end first)")
    stages = {}
    for s in BEFORE_STAGES:
        b, src = (old[s], "before run") if s in old else (new[s], "this run's own time")
        stages[s] = {"before_s": b, "before_from": src, "after_s": new[s]}
    known = set(BEFORE_STAGES).union(*ADDED.values())
    other = {s: w for s, w in new.items() if s not in known}
    before_total = sum(v["before_s"] for v in stages.values())
    added = {issue: {s: new[s] for s in names if s in new} for issue, names in ADDED.items()}
    after_total = sum(new.values())
    return {
        "run": str(run),
        "before_run": None if before is None else str(before),
        "stages": stages,
        "added": added,
        "other_new_stages": other,
        "before_total_s": before_total,
        "after_total_s": after_total,
        "ratio": after_total / before_total,
        "growth_by_issue": {issue: sum(v.values()) / before_total for issue, v in added.items()},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="a finished reproduce run folder of this code")
    ap.add_argument("--before", type=Path, help="a run folder of commit ce4b243 made on the same machine")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    g = growth(args.run, args.before)
    print(f"{'stage':<24} {'before s':>9} {'after s':>9}  before taken from")
    for s, v in g["stages"].items():
        print(f"{s:<24} {v['before_s']:>9.0f} {v['after_s']:>9.0f}  {v['before_from']}")
    for issue, st in g["added"].items():
        for s, w in st.items():
            print(f"{s:<24} {'-':>9} {w:>9.0f}  added by {issue}")
    for s, w in g["other_new_stages"].items():
        print(f"{s:<24} {'-':>9} {w:>9.0f}  new, not of issue 11 or 13")
    print(
        f"whole run: before {g['before_total_s']:.0f} s, after {g['after_total_s']:.0f} s: {g['ratio']:.2f}x"
        f" (issue 13 target: at most {TARGETS['issue 13']:.2f}x)"
    )
    for issue, frac in g["growth_by_issue"].items():
        print(
            f"  stages added by {issue}: +{100 * frac:.1f}% of the run before (target: at most +{100 * (TARGETS[issue] - 1):.0f}%)"
        )
    if args.json:
        args.json.write_text(json.dumps(g, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
