"""results.json: one run's figures gathered from its attackers' metrics, styles and PVI.

The machine-readable summary of a run (``RUN/results.json``); the report is rendered from it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any, Mapping

from maskprivacy.atomic import write_json
from maskprivacy.data.labels import CLASS_NAMES
from maskprivacy.layout import CONDITIONS, SPLITS, RunLayout
from maskprivacy.paper import (
    PAPER_RESULTS,
)
from maskprivacy.privacy.runs import DEFAULT_ATTACKER, AttackerDir, discover, read_metrics

# (results key, task, metric, label, higher is better)
METRICS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("sex_accuracy", "sex", "accuracy", "sex accuracy", True),
    ("race_accuracy", "race", "accuracy", "race accuracy", True),
    ("age_bucket_accuracy", "age_bucket", "accuracy", "age 7-bucket accuracy", True),
    ("age_mae", "age", "mae", "age MAE (years)", False),
    ("age_rmse", "age", "rmse", "age RMSE (years)", False),
)


def results_entry(metrics: Mapping[str, Any]) -> dict:
    """The results.json entry of one attacker: accuracy per class task, MAE and RMSE for age."""
    out: dict[str, Any] = {}
    for task in CLASS_NAMES:
        t = metrics.get(task) or {}
        if "accuracy" in t:
            out[task] = {"accuracy": t["accuracy"]}
            if "balanced_accuracy" in t:
                out[task]["balanced_accuracy"] = t["balanced_accuracy"]
    age = metrics.get("age") or {}
    if "mae" in age:
        out["age"] = {k: age[k] for k in ("mae", "rmse") if k in age}
    if "n_test" in metrics:
        out["n_test"] = metrics["n_test"]
    return out


def value_of(entry: Mapping[str, Any] | None, task: str, metric: str) -> float | None:
    if not entry:
        return None
    v = (entry.get(task) or {}).get(metric)
    return None if v is None else float(v)


def load_attackers(run: Path) -> tuple[list[AttackerDir], dict[tuple[str, str, str], dict], list[str]]:
    attackers = discover(run)
    metrics, problems = {}, []
    for a in attackers:
        if a.metrics_path.is_file():
            try:
                metrics[(a.attacker, a.condition, a.split)] = read_metrics(a.metrics_path)
            except ValueError as e:
                problems.append(str(e))
    return attackers, metrics, problems


def strongest(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    """Per task, the attacker with the best value among ``{attacker: headline}``."""
    best: dict[str, dict] = {}
    for _key, task, metric, _label, higher in METRICS:
        if metric == "rmse":
            continue
        cands = [(v, a) for a, e in entries.items() if (v := value_of(e, task, metric)) is not None]
        if cands:
            v, a = max(cands) if higher else min(cands)
            best[task] = {"attacker": a, metric: v, "of": sorted(entries)}
    return best


def build_results(
    run: str | os.PathLike,
    pvi: Any = None,
    stages: Mapping[str, Any] | None = None,
    main_attacker: str = DEFAULT_ATTACKER,
    extra: Mapping[str, Any] | None = None,
) -> dict:
    """results.json's content from the run's metrics.json files, a PVI result and stage timings.

    ``pvi``: a :class:`maskprivacy.privacy.pvi.PVIResult` or its ``to_dict()``. ``stages``:
    ``{stage: seconds}`` or ``{stage: {"wall_s": seconds, ...}}``. Values already in
    ``RUN/results.json`` are kept unless given again, so stages can record themselves one by one.
    ``extra``: run-level facts the caller knows (profile, data, mask, dataset counts).
    """
    run = Path(run)
    old = read_json(RunLayout(run).results_json) or {}
    _, metrics, problems = load_attackers(run)
    res: dict[str, Any] = {c: {} for c in CONDITIONS}
    attackers: dict[str, dict] = {}
    for (a, c, s), m in sorted(metrics.items()):
        h = results_entry(m)
        if m.get("wall_s"):
            h["wall_s"] = m["wall_s"]
        attackers.setdefault(a, {}).setdefault(c, {})[s] = h
        if a == main_attacker:
            res[c][s] = results_entry(m)
    res["attackers"] = attackers
    res["main_attacker"] = main_attacker
    res["strongest"] = {
        c: {
            s: strongest({a: attackers[a][c][s] for a in attackers if s in attackers[a].get(c, {})})
            for s in SPLITS
            if any(s in attackers[a].get(c, {}) for a in attackers)
        }
        for c in CONDITIONS
    }
    if pvi is not None and hasattr(pvi, "to_dict"):
        pvi = pvi.to_dict()
    res["pvi"] = pvi if pvi is not None else old.get("pvi")
    res["styles"] = read_styles(run)
    merged = dict(old.get("stages") or {})
    for name, v in (stages or {}).items():
        merged[name] = dict(v) if isinstance(v, Mapping) else {"wall_s": float(v)}
    res["stages"] = merged
    res.update(extra or {})
    for k, v in old.items():  # keep whatever else the pipeline recorded (dataset counts, profile, ...)
        res.setdefault(k, v)
    res["problems"] = problems
    res["paper"] = PAPER_RESULTS
    res["generated_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return res


def read_styles(run: str | os.PathLike) -> dict | None:
    """RUN/styles.json (protection by mask style), with RUN/realmask.json's row read afresh: the real
    photos may be evaluated after the styles stage ran. None when the styles stage has not run."""
    from maskprivacy.privacy.by_style import read_realmask

    run = Path(run)
    st = read_json(RunLayout(run).styles_json)
    if st is None:
        return None
    st["realmask"] = read_realmask(run)
    return st


def write_results(
    run: str | os.PathLike,
    pvi: Any = None,
    stages: Mapping[str, Any] | None = None,
    main_attacker: str = DEFAULT_ATTACKER,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write RUN/results.json (atomically) and return its path."""
    run = Path(run)
    data = build_results(run, pvi, stages, main_attacker, extra)
    path = RunLayout(run).results_json
    write_json(path, data)
    return path


def read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return d if isinstance(d, dict) else None
