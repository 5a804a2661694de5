#!/usr/bin/env python3
"""Print what a finished run says about the mask-robust attacker, against the paper-style one.

    python scripts/robust_targets.py RUN [--json OUT]

Reads only what `maskprivacy reproduce ... --real-masks DIR` wrote into RUN (results.json,
realmask.json, stages.json), so the figures it prints are the run's own:

* on UTKFace's test faces with the paper's white type-"a" mask: sex, race and age-bucket accuracy of
  the paper-style attacker (`cnn_masked`) and the mask-robust one (`cnn_robust`), and the difference
  in points (the robust attacker must not buy robustness with accuracy);
* on the real masks of the --real-masks folder: sex balanced accuracy of each masked-face attacker,
  beside the same people's bare photos with the digital mask "a" read by the paper-style attacker;
* the wall time of the stages the mask-robust attacker added (train_robust_*, styles, realmask)
  against the wall time of the other stages of the same run folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from maskprivacy.tasks import CLASS_TASKS

ADDED = ("train_robust_uniform", "train_robust_random", "styles", "realmask")


def _load(path: Path) -> dict:
    if not path.is_file():
        sys.exit(f"{path}: missing (run `maskprivacy reproduce ... --real-masks DIR` to the end first)")
    return json.loads(path.read_text())


def stage_walls(run: Path) -> dict[str, float]:
    """Wall seconds of each stage the run folder's ``stages.json`` marks done."""
    stages = _load(run / "stages.json")
    return {k: float(v.get("wall_s") or 0.0) for k, v in stages.items() if v.get("done")}


def targets(run: Path) -> dict:
    """The comparisons, as a dict (fractions and seconds)."""
    res = _load(run / "results.json")
    out: dict = {"run": str(run)}
    att = res.get("attackers") or {}
    paper = (att.get("cnn") or {}).get("masked") or {}
    robust = (att.get("cnn_robust") or {}).get("masked") or {}
    out["type_a"] = {}
    for split in ("uniform", "random"):
        if split not in paper or split not in robust:
            continue
        row = {}
        for task in CLASS_TASKS:
            p, r = paper[split][task]["accuracy"], robust[split][task]["accuracy"]
            row[task] = {"cnn_masked": p, "cnn_robust": r, "points": 100 * (r - p)}
        row["age_mae"] = {"cnn_masked": paper[split]["age"]["mae"], "cnn_robust": robust[split]["age"]["mae"]}
        out["type_a"][split] = row
    real_path = run / "realmask.json"
    if real_path.is_file():
        real = json.loads(real_path.read_text())
        out["real_masks"] = {
            "population": real.get("population"),
            "attackers": {
                name: {
                    "sex_balanced": a["sex"]["balanced_accuracy"],
                    "sex_balanced_ci": a["sex"].get("balanced_ci"),
                    "sex_accuracy": a["sex"]["accuracy"],
                    "race_accuracy": (a.get("race") or {}).get("accuracy"),
                    "n": a.get("n"),
                    "photos": a.get("photos"),
                }
                for name, a in (real.get("attackers") or {}).items()
                if a.get("sex")
            },
        }
    walls = stage_walls(run)
    added = sum(walls.get(k, 0.0) for k in ADDED)
    rest = sum(v for k, v in walls.items() if k not in ADDED)
    out["wall_s"] = {
        "added_stages": {k: walls[k] for k in ADDED if k in walls},
        "added": added,
        "other_stages": rest,
        "growth": added / rest if rest else None,
    }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    t = targets(args.run)
    for split, row in t["type_a"].items():
        print(f"type-a test faces, {split} split (paper-style -> mask-robust):")
        for task in CLASS_TASKS:
            c = row[task]
            print(
                f"  {task:<10} {100 * c['cnn_masked']:.2f}% -> {100 * c['cnn_robust']:.2f}%  ({c['points']:+.2f} points)"
            )
        print(f"  age MAE    {row['age_mae']['cnn_masked']:.2f} -> {row['age_mae']['cnn_robust']:.2f}")
    if "real_masks" in t:
        print(f"real masks: {t['real_masks']['population']}")
        for name, a in t["real_masks"]["attackers"].items():
            ci = a.get("sex_balanced_ci")
            ci_s = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
            race = "-" if a["race_accuracy"] is None else f"{a['race_accuracy']:.3f}"
            print(
                f"  {name:<22} sex balanced {a['sex_balanced']:.3f}{ci_s}, accuracy {a['sex_accuracy']:.3f}; "
                f"race accuracy {race}; n={a['n']} ({a['photos']})"
            )
    w = t["wall_s"]
    print(
        "wall time: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in w["added_stages"].items())
        + f"; added {w['added']:.0f} s against {w['other_stages']:.0f} s of the other stages"
        + ("" if w["growth"] is None else f" (+{100 * w['growth']:.1f}%)")
    )
    if args.json:
        args.json.write_text(json.dumps(t, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
