"""The results table of a run, read from its metrics.json files (never typed by hand).

Rows: condition x split x approach. Columns: the paper's headline figures (sex, race and 7-bucket
accuracy; age MAE and RMSE), balanced accuracies, and the wall time of every stage.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

from maskprivacy.layout import SPLITS, RunLayout
from maskprivacy.paper import PAPER_RESULTS
from maskprivacy.records import APPROACHES, TRAINED_ON

TARGETS_CPU = {"sex": 0.90, "race": 0.78, "age_bucket": 0.60, "age_mae": 7.0}


def collect(run: str | os.PathLike) -> list[dict[str, Any]]:
    """One row per trained network of RUN/train (main approach and per_task), from its metrics.json;
    ``condition`` is the faces it was trained on."""
    lay = RunLayout.of(run)
    rows = []
    for trained_on, split, approach in itertools.product(TRAINED_ON, SPLITS, APPROACHES):
        p = lay.attacker(trained_on, split, approach).metrics
        if not p.is_file():
            continue
        m = json.loads(p.read_text())
        rows.append(
            {
                "condition": trained_on,
                "split": split,
                "approach": approach,
                "n_test": m.get("n_test"),
                "sex": (m.get("sex") or {}).get("accuracy"),
                "sex_bal": (m.get("sex") or {}).get("balanced_accuracy"),
                "race": (m.get("race") or {}).get("accuracy"),
                "race_bal": (m.get("race") or {}).get("balanced_accuracy"),
                "age_bucket": (m.get("age_bucket") or {}).get("accuracy"),
                "age_bucket_bal": (m.get("age_bucket") or {}).get("balanced_accuracy"),
                "age_mae": (m.get("age") or {}).get("mae"),
                "age_rmse": (m.get("age") or {}).get("rmse"),
                "wall_s": m.get("wall_s", {}),
                "commit": m.get("commit"),
                "machine": m.get("machine", {}),
                "profile": (m.get("config") or {}).get("profile"),
                "path": str(p),
                "shared": bool(((m.get("config") or {}).get("finetune") or {}).get("shared_splits")),
                "cpu_s": m.get("cpu_s", {}),
            }
        )
    order = {"masked": 0, "robust": 1, "unmasked": 2, "uniform": 0, "random": 1, "multitask": 0, "per_task": 1}
    rows.sort(key=lambda r: (order.get(r["condition"], 9), order.get(r["split"], 9), order.get(r["approach"], 9)))
    return rows


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _pct2(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def format_table(run: str | os.PathLike) -> str:
    """Markdown: the full table, then the headline (targets) table, then stage times."""
    rows = collect(run)
    if not rows:
        return f"no results under {Path(run) / 'train'} yet"
    out = [
        "| faces | split | model | n test | sex acc (bal) | race acc (bal) | age bucket acc (bal) | age MAE | age RMSE |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['condition']} | {r['split']} | {r['approach']} | {r['n_test']} | {_pct(r['sex'])} ({_pct(r['sex_bal'])}) | "
            f"{_pct(r['race'])} ({_pct(r['race_bal'])}) | {_pct(r['age_bucket'])} ({_pct(r['age_bucket_bal'])}) | "
            f"{_num(r['age_mae'])} | {_num(r['age_rmse'])} |"
        )
    head = headline_table(rows)
    if head:
        out += [
            "",
            "Headline (as the paper reports it: sex, race and bucket on the uniform split, age on the random split):",
            "",
        ]
        out += head
    out += [
        "",
        "| faces | split | model | "
        + " | ".join(f"{s} (s)" for s in ("cache", "pretrain", "finetune", "evaluate"))
        + " |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        w = r["wall_s"]
        out.append(
            f"| {r['condition']} | {r['split']} | {r['approach']} | "
            + " | ".join(
                _num(w.get(s)) if w.get(s) is not None else "-" for s in ("cache", "pretrain", "finetune", "evaluate")
            )
            + " |"
        )
    out += [""] + totals(rows)
    commits = sorted({r["commit"] for r in rows if r["commit"]})
    machines = sorted(
        {
            f"{r['machine'].get('cpu_count')} CPU cores{', ' + r['machine']['gpu'] if r['machine'].get('gpu') else ''}, torch {r['machine'].get('torch')}"
            for r in rows
            if r["machine"]
        }
    )
    out += [
        "",
        f"commit: {', '.join(commits)}; machine: {'; '.join(machines)}; profile: {', '.join(sorted({str(r['profile']) for r in rows}))}",
    ]
    return "\n".join(out)


def totals(rows: list[dict[str, Any]]) -> list[str]:
    """Wall time of each condition's whole table: cache + pretraining + every distinct fine-tuning
    (a model shared by both splits counts once) + every evaluation."""
    out = []
    for cond in ("masked", "robust", "unmasked"):
        rs = [r for r in rows if r["condition"] == cond]
        if not rs:
            continue
        w = rs[0]["wall_s"]
        total = float(w.get("cache") or 0) + float(w.get("pretrain") or 0)
        seen = set()
        for r in rs:
            key = (r["approach"], "shared" if r["shared"] else r["split"])
            if key not in seen:
                seen.add(key)
                total += float(r["wall_s"].get("finetune") or 0)
            total += float(r["wall_s"].get("evaluate") or 0)
        shared = any(r["shared"] for r in rs)
        out.append(
            f"{cond}: {len(rs)} results in {total / 60:.1f} min of stage wall time"
            + (
                " (one fine-tuned model per approach serves both splits: trained on the faces in the train part of both)"
                if shared
                else ""
            )
        )
    return out


def headline_table(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| faces | model | sex acc (uniform) | race acc (uniform) | age bucket acc (uniform) | age MAE (random) | age RMSE (random) |",
        "|---|---|---|---|---|---|---|",
    ]
    by = {(r["condition"], r["split"], r["approach"]): r for r in rows}
    n = 0
    for cond in ("masked", "robust", "unmasked"):  # robust: the mask-robust attacker, tested on the masked faces
        for appr in ("multitask", "per_task"):
            u, r = by.get((cond, "uniform", appr)), by.get((cond, "random", appr))
            if not u and not r:
                continue
            n += 1
            out.append(
                f"| {cond} | {appr} | {_pct(u and u['sex'])} | {_pct(u and u['race'])} | {_pct(u and u['age_bucket'])} | "
                f"{_num(r and r['age_mae'])} | {_num(r and r['age_rmse'])} |"
            )
    u, r = PAPER_RESULTS["masked_uniform"], PAPER_RESULTS["masked_random"]  # one source for the paper's numbers
    out.append(
        f"| paper, masked | per task | {_pct2(u['sex_accuracy'])} | {_pct2(u['race_accuracy'])} | "
        f"{_pct2(u['age_bucket_accuracy'])} | {_num(r['age_mae'])} | {_num(r['age_rmse'])} |"
    )
    t = TARGETS_CPU
    out.append(
        f"| target, `cpu` profile | | >= {t['sex']:.0%} | >= {t['race']:.0%} | >= {t['age_bucket']:.0%} | "
        f"<= {t['age_mae']:.2f} | |"
    )
    return out if n else []
