#!/usr/bin/env python
"""What each part of a finished run cost: its stages' wall times and each capability's share.

Reads ``RUN/stages.json`` (every stage's wall seconds, written as it finished) and prints each stage,
the whole run, and per capability the seconds of its stages, their share of the run and how much
they add to the run without them (``sum / (total - sum)``): the figure a cost target such as "adds at
most 15% to ``reproduce --profile cpu``" is about. Every figure comes from one run on one machine,
so the stages ran under the same conditions; compare shares, not seconds, across machines.

    python scripts/stage_costs.py runs/cpu            # a table
    python scripts/stage_costs.py runs/cpu --json     # the same as JSON
    python scripts/stage_costs.py runs/cpu --rerun runs/variant   # the variant's reruns in place of the run's

``--rerun VARIANT``: a folder that reran some stages of RUN (linking the rest) with a change; each stage
VARIANT finished counts with VARIANT's wall time instead of RUN's, and the output names them, since
they ran at another time (compare on one machine, alone on it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from maskprivacy.layout import RunLayout
from maskprivacy.reproduce import OCCLUSION_STAGES, REAL_STAGES, STAGE_NAMES

#: The capabilities whose cost is a target: name -> the stages that exist only for it.
GROUPS: dict[str, tuple[str, ...]] = {
    "real masked photos in training": REAL_STAGES,
    "what would protect me (adaptive attackers + protection)": OCCLUSION_STAGES,
}


def _walls(run: Path) -> dict[str, float]:
    path = RunLayout(run).stages_json
    if not path.is_file():
        raise SystemExit(f"{path}: no stages.json (not a reproduce run folder, or no stage finished yet)")
    recorded = json.loads(path.read_text())
    return {n: float(recorded[n]["wall_s"]) for n in STAGE_NAMES if recorded.get(n, {}).get("done")}


def stage_costs(run: Path, rerun: Path | None = None) -> dict:
    """Wall seconds per finished stage in the order reproduce runs them, the total, and each group's cost;
    with ``rerun``, the stages that folder finished count with its wall times."""
    walls = _walls(run)
    replaced = {}
    if rerun is not None:
        replaced = _walls(rerun)
        walls = {n: replaced.get(n, walls.get(n)) for n in STAGE_NAMES if n in walls or n in replaced}
    total = sum(walls.values())
    groups = {}
    for name, members in GROUPS.items():
        s = sum(walls.get(m, 0.0) for m in members)
        groups[name] = {
            "stages": {m: walls[m] for m in members if m in walls},
            "missing": [m for m in members if m not in walls],
            "wall_s": round(s, 2),
            "share_of_run": round(s / total, 4) if total else None,
            "adds_to_rest": round(s / (total - s), 4) if total > s else None,
        }
    unfinished = [n for n in STAGE_NAMES if n not in walls]
    return {
        "run": str(run),
        "rerun": None if rerun is None else {"run": str(rerun), "stages": sorted(replaced, key=STAGE_NAMES.index)},
        "stages": walls,
        "total_s": round(total, 2),
        "unfinished": unfinished,
        "groups": groups,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a reproduce run folder")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--rerun", type=Path, help="a folder that reran some of RUN's stages: its wall times replace RUN's")
    args = ap.parse_args(argv)
    c = stage_costs(args.run, args.rerun)
    if args.json:
        print(json.dumps(c, indent=2))
        return 0
    again = set(c["rerun"]["stages"]) if c["rerun"] else set()
    for n, w in c["stages"].items():
        print(f"{n:<28} {w:9.1f} s  {w / c['total_s']:6.1%}" + ("  (rerun)" if n in again else ""))
    if c["rerun"]:
        print(f"rerun in {c['rerun']['run']}: {', '.join(c['rerun']['stages'])}")
    print(f"{'all finished stages':<28} {c['total_s']:9.1f} s")
    if c["unfinished"]:
        print("not finished (not counted):", ", ".join(c["unfinished"]))
    for name, g in c["groups"].items():
        gone = f"; not run: {', '.join(g['missing'])}" if g["missing"] else ""
        share = "-" if g["share_of_run"] is None else f"{g['share_of_run']:.1%}"
        adds = "-" if g["adds_to_rest"] is None else f"{g['adds_to_rest']:.1%}"
        print(f"{name}: {g['wall_s']:.1f} s, {share} of the run, adds {adds} to the rest{gone}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
