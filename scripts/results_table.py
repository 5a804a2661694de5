#!/usr/bin/env python3
"""Print (or write into docs/RESULTS.md) the training results table of a run, from its metrics.json files.

    python scripts/results_table.py RUN                       # print markdown
    python scripts/results_table.py RUN --command "maskprivacy train ..." --update docs/RESULTS.md

With --update, the text between the markers <!-- training:begin --> and <!-- training:end --> of the
file is replaced (the markers are added at the end if missing), so the numbers in the docs are
always the ones the run wrote, never typed by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from maskprivacy.training.metrics_table import collect, format_table

BEGIN, END = "<!-- training:begin -->", "<!-- training:end -->"


def stage_block(run: Path) -> list[str]:
    """Where each stage's time went, including CPU time (the machine may be shared)."""
    out = []
    for cond in ("masked", "unmasked"):
        pj = run / "pretrain" / cond / "pretrain.json"
        meta = next((run / "cache").glob(f"{cond}_s*/meta.json"), None)
        if meta:
            m = json.loads(meta.read_text())
            out.append(f"- cache ({cond}, {m['n']} faces at {m['size']} px): {m['wall_s']:.0f} s wall")
        if pj.is_file():
            p = json.loads(pj.read_text())
            out.append(
                f"- MoCo v2 pretraining ({cond}, {p['n_images']} faces, {p['epochs']} epochs at {p.get('input_size', '?')} px): "
                f"{p['wall_s']:.0f} s wall, {p.get('cpu_s', 0):.0f} s CPU"
            )
    seen = set()
    for r in collect(run):
        d = Path(r["path"]).parent
        for info in sorted(d.glob("model*.json")):
            i = json.loads(info.read_text())
            task = info.stem.replace("model_", "").replace("model", "")
            key = (r["condition"], r["approach"], task, "shared" if i.get("shared_splits") else r["split"])
            if key in seen:
                continue
            seen.add(key)
            where = "both splits (one model)" if i.get("shared_splits") else r["split"]
            out.append(
                f"- fine-tuning {r['condition']}/{where} {r['approach']} {task}: "
                f"{i['finetune_wall_s']:.0f} s wall, {i.get('finetune_cpu_s', 0):.0f} s CPU, {i['epochs_run']} epochs"
                + (f", {i['n_train']} train / {i['n_val']} val faces" if "n_train" in i else "")
                + f", best {i.get('best_checkpoint')}"
                + (" (resumed)" if i.get("resumed") else "")
            )
        out.append(
            f"- evaluation {r['condition']}/{r['split']} {r['approach']}: {r['wall_s'].get('evaluate', 0):.0f} s wall"
        )
    return out


def render(run: Path, command: str | None) -> str:
    lines = []
    if command:
        lines += ["Command:", "", "```bash", command, "```", ""]
    lines += [format_table(run), "", "Stages:", ""] + stage_block(run)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="run folder given to `maskprivacy train --out`")
    ap.add_argument("--command", help="the command that produced the run (printed above the table)")
    ap.add_argument("--update", help="markdown file whose training section to replace")
    args = ap.parse_args(argv)
    run = Path(args.run)
    if not (run / "train").is_dir():
        print(f"results_table: no {run / 'train'}", file=sys.stderr)
        return 2
    text = render(run, args.command)
    if not args.update:
        print(text, end="")
        return 0
    path = Path(args.update)
    doc = path.read_text() if path.is_file() else ""
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + block + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip() + ("\n\n" if doc.strip() else "") + block + "\n"
    path.write_text(doc)
    print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
