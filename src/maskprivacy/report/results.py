"""results.json: one run's figures gathered from its attackers' metrics, styles and PVI.

The machine-readable summary of a run (``RUN/results.json``); the report is rendered from it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from maskprivacy.atomic import write_json
from maskprivacy.bootstrap import N_RESAMPLES
from maskprivacy.data.labels import CLASS_NAMES
from maskprivacy.layout import CONDITIONS, SPLITS, RunLayout
from maskprivacy.paper import (
    PAPER_RESULTS,
)
from maskprivacy.privacy.discovery import DEFAULT_ATTACKER, AttackerDir
from maskprivacy.privacy.significance import ALPHA, figure_intervals, paired_tests
from maskprivacy.privacy.strongest import RULE, load_predictions, rank, read_attackers, validation_scores

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
    """Every attacker folder of ``run``, its metrics and the problems met (read as the answer's rule reads them)."""
    return read_attackers(run)


def strongest(
    entries: Mapping[str, Mapping[str, Any]],
    predictions: Mapping[str, pd.DataFrame] | None = None,
    val_scores: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, dict]:
    """Per task, the strongest attacker among ``{attacker: headline}`` and its test figure.

    Ranked by :func:`maskprivacy.privacy.strongest.rank`, the rule the PVI and the report's verdict
    use too: with ``val_scores`` (``{attacker: {task: validation score}}``) for every candidate of a
    task, on the validation faces (``chosen_on: "validation"``), the chosen one's test figure reported;
    ``best_on_test`` names the attacker with the best test figure when that is another one. Without,
    on the test figures themselves (``chosen_on: "test"``: optimistic, the largest of noisy
    estimates). Each figure carries its interval (``<metric>_ci``, from the entry's ``intervals``).
    With ``predictions`` (``{attacker: predictions rows}`` on the same test faces), the strongest is
    tested against the second on the paired faces (``vs_second``: McNemar / Wilcoxon), so the table
    can say whether "strongest" is more than noise."""
    best: dict[str, dict] = {}
    tested: dict[tuple[str, str], dict] = {}  # one paired test of a pair serves every task

    def figure(a: str, task: str, metric: str, value: float) -> dict[str, Any]:
        return {metric: value, f"{metric}_ci": interval_of(entries[a], task, metric)}

    for _key, task, metric, _label, higher in METRICS:
        if metric == "rmse":
            continue
        test = {a: v for a, e in entries.items() if (v := value_of(e, task, metric)) is not None}
        if not test:
            continue
        val = {a: float(v[task]) for a, v in (val_scores or {}).items() if a in test and task in (v or {})}
        order, on_val = rank(test, val, higher)
        a = order[0]
        best[task] = {
            "attacker": a,
            **figure(a, task, metric, test[a]),
            "of": sorted(entries),
            "chosen_on": "validation" if on_val else "test",
        }
        if on_val:
            best[task]["val"] = val[a]
            top = sorted(test, key=lambda x: (test[x], x), reverse=higher)[0]
            if top != a:
                best[task]["best_on_test"] = {"attacker": top, **figure(top, task, metric, test[top]), "val": val[top]}
        if len(order) > 1:
            a2 = order[1]
            best[task]["second"] = {
                "attacker": a2,
                **figure(a2, task, metric, test[a2]),
                **({"val": val[a2]} if on_val else {}),
            }
            if predictions and a in predictions and a2 in predictions:
                if (a, a2) not in tested:
                    tested[(a, a2)] = paired_tests(predictions[a], predictions[a2])
                t = tested[(a, a2)].get(task)
                if t is not None:
                    best[task]["vs_second"] = t
    return best


def interval_of(entry: Mapping[str, Any] | None, task: str, metric: str) -> list[float | None] | None:
    """The 95% interval of one figure of a results.json entry (its ``intervals``), None without one."""
    return (((entry or {}).get("intervals") or {}).get(task) or {}).get(metric)


def with_intervals(entry: dict[str, Any], attacker: str | None = None) -> dict[str, Any]:
    """``entry`` with each figure's interval beside it (``sex: {accuracy, accuracy_ci, ...}``; None when
    the attacker has no predictions to resample) and, given ``attacker``, its name in every task."""
    for task, figures in entry.items():
        if task not in CLASS_NAMES and task != "age":
            continue
        for metric in [m for m in figures if not m.endswith("_ci") and m != "attacker"]:
            figures[f"{metric}_ci"] = interval_of(entry, task, metric)
        if attacker is not None:
            figures["attacker"] = attacker
    return entry


def answer_problems(best: Mapping[str, Any], pvi: Mapping[str, Any] | None) -> list[str]:
    """Where the PVI's attackers are not the strongest of ``best`` (results.json ``strongest``): a PVI
    computed for one attacker, or before the attackers changed. Empty when they agree."""
    if not pvi or not pvi.get("attributes"):
        return []
    split = pvi.get("split") or "uniform"
    out = []
    for c, attrs in (pvi.get("attributes") or {}).items():
        for a, d in attrs.items():
            task = d.get("task", a)
            want = (((best.get(c) or {}).get(split) or {}).get(task) or {}).get("attacker")
            got = d.get("attacker") or pvi.get("attacker")
            if want is not None and got != want:
                out.append(
                    f"the PVI's {c} {a} reader is {got}, but the strongest {c} {task} attacker of the {split} split "
                    f"is {want}: recompute the PVI (`maskprivacy privacy pvi RUN` or reproduce --force pvi)"
                )
    return out


def paired_comparisons(preds: Mapping[tuple[str, str, str], pd.DataFrame]) -> dict[str, Any]:
    """results.json ``tests.masked_vs_unmasked``: masked vs unmasked on the paired test faces of each
    split, for every attacker trained on both."""
    out: dict[str, Any] = {}
    for (a, c, s), df in sorted(preds.items()):
        if c != "masked" or (a, "unmasked", s) not in preds:
            continue
        out.setdefault(a, {})[s] = paired_tests(df, preds[(a, "unmasked", s)])
    return out


def strongest_vs_strongest(best: Mapping[str, Any], preds: Mapping[tuple[str, str, str], pd.DataFrame]) -> dict:
    """Per split and task: the strongest masked-face reader against the strongest unmasked one, on
    the paired test faces (does the mask hide the attribute from the best attacker we have?)."""
    out: dict[str, dict] = {}
    tested: dict[tuple[str, str, str], dict] = {}  # one paired test of a pair serves every task
    for s in SPLITS:
        bm, bu = (best.get(c, {}).get(s) or {} for c in CONDITIONS)
        for task in bm.keys() & bu.keys():
            am, au = bm[task]["attacker"], bu[task]["attacker"]
            if (am, "masked", s) in preds and (au, "unmasked", s) in preds:
                if (am, au, s) not in tested:
                    tested[(am, au, s)] = paired_tests(preds[(am, "masked", s)], preds[(au, "unmasked", s)])
                t = tested[(am, au, s)].get(task)
                if t is not None:
                    out.setdefault(s, {})[task] = {"masked": am, "unmasked": au, **t}
    return out


def seed_summary(run: str | os.PathLike, metrics: Mapping[tuple[str, str, str], dict] | None = None) -> dict | None:
    """results.json ``seeds``: each attacker's figures over the main run and its seed repeats
    (``reproduce --seeds N``: same test faces, another training seed), as mean, sample standard
    deviation, min, max and the values; None when the run has no repeat. Attackers that are not
    retrained by a seed (e.g. dlib's fixed descriptor) appear in one run only and are left out.
    ``metrics``: the main run's attacker metrics when the caller has read them already."""
    run = Path(run)
    repeats = RunLayout(run).seed_runs()
    if not repeats:
        return None
    folders = [run] + [r.root for r in repeats]
    values: dict[tuple[str, str, str, str, str], list[float]] = {}
    for folder in folders:
        found = metrics if folder == run and metrics is not None else load_attackers(folder)[1]
        for (a, c, s), m in found.items():
            e = results_entry(m)
            for _key, task, metric, _label, _higher in METRICS:
                for mm in (metric, "balanced_accuracy") if metric == "accuracy" else (metric,):
                    v = value_of(e, task, mm)
                    if v is not None:
                        values.setdefault((a, c, s, task, mm), []).append(v)
    out: dict[str, Any] = {}
    for (a, c, s, task, metric), vs in sorted(values.items()):
        if len(vs) < 2:
            continue
        arr = np.asarray(vs, float)
        out.setdefault(a, {}).setdefault(c, {}).setdefault(s, {}).setdefault(task, {})[metric] = {
            "mean": float(arr.mean()),
            "std": float(arr.std(ddof=1)),
            "min": float(arr.min()),
            "max": float(arr.max()),
            "n": int(arr.size),
            "values": [float(v) for v in arr],
        }
    return {"runs": [str(f.relative_to(run)) if f != run else "." for f in folders], "attackers": out}


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
    found, metrics, problems = load_attackers(run)
    preds, pred_problems = load_predictions(found)
    val_scores, val_problems = validation_scores(found, metrics)
    problems += pred_problems + val_problems
    res: dict[str, Any] = {c: {} for c in CONDITIONS}
    attackers: dict[str, dict] = {}
    for (a, c, s), m in sorted(metrics.items()):
        h = results_entry(m)
        h["intervals"] = figure_intervals(preds[(a, c, s)], n_boot=N_RESAMPLES) if (a, c, s) in preds else {}
        with_intervals(h)
        if m.get("wall_s"):
            h["wall_s"] = m["wall_s"]
        attackers.setdefault(a, {}).setdefault(c, {})[s] = h
        if a == main_attacker:  # the paper-style attacker: the figures that compare with the paper
            main = json.loads(json.dumps({k: v for k, v in h.items() if k != "wall_s"}))
            res[c][s] = {**with_intervals(main, a), "attacker": a}
    res["attackers"] = attackers
    res["main_attacker"] = main_attacker
    res["main_attacker_role"] = (
        "the paper-style attacker: masked/unmasked hold its figures, the ones that compare with the paper; "
        "the run's answer (strongest, pvi, the report's verdict) uses the strongest attacker per attribute"
    )
    res["strongest_rule"] = RULE
    res["strongest"] = {
        c: {
            s: strongest(
                {a: attackers[a][c][s] for a in attackers if s in attackers[a].get(c, {})},
                {a: df for (a, c2, s2), df in preds.items() if (c2, s2) == (c, s)},
                {a: v for (a, c2, s2), v in val_scores.items() if (c2, s2) == (c, s)},
            )
            for s in SPLITS
            if any(s in attackers[a].get(c, {}) for a in attackers)
        }
        for c in CONDITIONS
    }
    res["tests"] = {
        "masked_vs_unmasked": paired_comparisons(preds),
        "strongest_masked_vs_unmasked": strongest_vs_strongest(res["strongest"], preds),
        "alpha": ALPHA,
        "method": "95% percentile bootstrap intervals over the test faces (n_boot "
        f"{N_RESAMPLES}); paired tests on the faces two readers share: McNemar's exact test (sex, race, age bucket), "
        "Wilcoxon signed-rank on the absolute age errors",
    }
    if pvi is not None and hasattr(pvi, "to_dict"):
        pvi = pvi.to_dict()
    res["pvi"] = pvi if pvi is not None else old.get("pvi")
    problems += answer_problems(res["strongest"], res["pvi"])
    res["styles"] = read_styles(run)
    res["occlusions"] = read_json(RunLayout(run).occlusions_json)  # what would protect me (privacy/occlusions.py)
    res["readers"] = read_json(RunLayout(run).readers_json)  # which model analyze/evaluate/serve read with
    res["seeds"] = seed_summary(run, metrics)
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
