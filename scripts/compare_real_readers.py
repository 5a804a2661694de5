"""Every masked-face attacker of one or more runs, side by side: UTKFace's test faces with the paper's
mask, the validation part of the real training photos, and the real masks of realmask-dev.

    python scripts/compare_real_readers.py RUN [RUN ...] [--split uniform]

Reads what the reproduce stages wrote (nothing is recomputed): each attacker's ``metrics.json``
(UTKFace test faces, mask "a"), ``readers.json``'s candidates (the real validation photos: whole
people or near-duplicate clusters never trained on, intervals over those groups) and ``realmask.json``
(the real masks of ``--real-masks``, people never trained on, intervals over people). So a
variant run (e.g. ``--set real.share=0.25``) compares with the main one on the same faces.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from maskprivacy.layout import MASKED_FACE_CONDITIONS, RunLayout
from maskprivacy.tasks import CLASS_TASKS
from maskprivacy.training.runtime import family_roots


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _ci(v: float | None, ci: list | None, pct: bool = True) -> str:
    if v is None:
        return "-"
    f = (lambda x: f"{100 * x:.1f}") if pct else (lambda x: f"{x:.3f}")
    return f"{f(v)} [{f(ci[0])}, {f(ci[1])}]" if ci and ci[0] is not None else f(v)


def rows(run: Path, split: str) -> list[list[str]]:
    readers = json.loads(RunLayout(run).readers_json.read_text()) if RunLayout(run).readers_json.is_file() else {}
    real_val = ((readers.get("splits") or {}).get(split) or {}).get("real_mask", {}).get("candidates") or {}
    chosen = ((readers.get("splits") or {}).get(split) or {}).get("real_mask", {}).get("name")
    dev = json.loads(RunLayout(run).realmask_json.read_text()) if RunLayout(run).realmask_json.is_file() else {}
    out = []
    for family, root in family_roots(run):
        for cond in MASKED_FACE_CONDITIONS:
            d = RunLayout(root).train_dir(cond, split)
            if not (d / "metrics.json").is_file():
                continue
            m = json.loads((d / "metrics.json").read_text())
            name = d.relative_to(run).as_posix().replace("train/", "")
            v = real_val.get(name) if isinstance(real_val.get(name), dict) else {}
            r = (dev.get("attackers") or {}).get(f"{family}_{cond}") or {}
            vs, rs = v.get("sex") or {}, r.get("sex") or {}
            out.append(
                [
                    f"{run.name}:{name}" + (" (chosen)" if name == chosen else ""),
                    "/".join(_pct(m[t]["accuracy"]) for t in CLASS_TASKS),
                    _ci(vs.get("balanced_accuracy"), vs.get("balanced_ci")),
                    _ci(vs.get("auc"), vs.get("auc_ci"), pct=False),
                    _ci((v.get("race") or {}).get("accuracy"), (v.get("race") or {}).get("ci")),
                    _ci(rs.get("balanced_accuracy"), rs.get("balanced_ci")),
                    _ci(rs.get("auc"), rs.get("auc_ci"), pct=False),
                ]
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--split", default="uniform")
    a = ap.parse_args()
    head = [
        "attacker",
        "UTKFace mask a: sex/race/bucket %",
        "real val: sex balanced %",
        "real val: sex AUC",
        "real val: race %",
        "realmask-dev: sex balanced %",
        "realmask-dev: sex AUC",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for run in a.runs:
        for r in rows(run, a.split):
            print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
