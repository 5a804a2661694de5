"""A run's summary (results.json) and its report (report.md, self-contained report.html).

Both read a run folder laid out as in docs/ARCHITECTURE.md. The report is built once as a list
of blocks (headings, paragraphs, tables, images) and rendered twice, so the Markdown and the HTML
always say the same thing. The HTML embeds every PNG as a base64 data URI and carries its CSS
inline: it opens offline, can be mailed as one file, and makes no network request.

Anything missing (a condition not trained, no PVI yet, no figures) renders as "not run" rather
than failing, so the report is useful at every point of an interrupted run.

Figures the report looks for (the ``reproduce`` pipeline writes them): ``figures/pipeline.png``,
``figures/distributions.png`` and ``figures/pvi.png`` (re-drawn here from results.json's PVI), and
each attacker's ``confusion_<task>.png``.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..data.labels import AGE_BUCKET_NAMES, RACE_NAMES, SEX_NAMES
from ..privacy.runs import CONDITIONS, DEFAULT_ATTACKER, SPLITS, AttackerDir, discover, read_metrics
from .paper import (CITATION, PAPER_COLUMNS, PAPER_N_TEST, PAPER_PER_CLASS_UNIFORM, PAPER_PVI_REDUCTION,
                    PAPER_RESULTS)

RESULTS_JSON = "results.json"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
FIGURES = {"pipeline": "figures/pipeline.png", "distributions": "figures/distributions.png", "pvi": "figures/pvi.png",
           "styles": "figures/styles.png"}
NOT_RUN = "not run"
CLASS_TASKS = {"sex": SEX_NAMES, "race": RACE_NAMES, "age_bucket": AGE_BUCKET_NAMES}
# (results key, task, metric, label, higher is better)
METRICS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("sex_accuracy", "sex", "accuracy", "sex accuracy", True),
    ("race_accuracy", "race", "accuracy", "race accuracy", True),
    ("age_bucket_accuracy", "age_bucket", "accuracy", "age 7-bucket accuracy", True),
    ("age_mae", "age", "mae", "age MAE (years)", False),
    ("age_rmse", "age", "rmse", "age RMSE (years)", False),
)


# ---------------------------------------------------------------- results.json

def headline(metrics: Mapping[str, Any]) -> dict:
    """The results.json entry of one attacker: accuracy per class task, MAE and RMSE for age."""
    out: dict[str, Any] = {}
    for task in CLASS_TASKS:
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


def _value(entry: Mapping[str, Any] | None, task: str, metric: str) -> float | None:
    if not entry:
        return None
    v = (entry.get(task) or {}).get(metric)
    return None if v is None else float(v)


def _load_attackers(run: Path) -> tuple[list[AttackerDir], dict[tuple[str, str, str], dict], list[str]]:
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
        cands = [(v, a) for a, e in entries.items() if (v := _value(e, task, metric)) is not None]
        if cands:
            v, a = max(cands) if higher else min(cands)
            best[task] = {"attacker": a, metric: v, "of": sorted(entries)}
    return best


def build_results(run: str | os.PathLike, pvi: Any = None, stages: Mapping[str, Any] | None = None,
                  main_attacker: str = DEFAULT_ATTACKER) -> dict:
    """results.json's content from the run's metrics.json files, a PVI result and stage timings.

    ``pvi``: a :class:`maskprivacy.privacy.pvi.PVIResult` or its ``to_dict()``. ``stages``:
    ``{stage: seconds}`` or ``{stage: {"wall_s": seconds, ...}}``. Values already in
    ``RUN/results.json`` are kept unless given again, so stages can record themselves one by one.
    """
    run = Path(run)
    old = _read_json(run / RESULTS_JSON) or {}
    _, metrics, problems = _load_attackers(run)
    res: dict[str, Any] = {c: {} for c in CONDITIONS}
    attackers: dict[str, dict] = {}
    for (a, c, s), m in sorted(metrics.items()):
        h = headline(m)
        if m.get("wall_s"):
            h["wall_s"] = m["wall_s"]
        attackers.setdefault(a, {}).setdefault(c, {})[s] = h
        if a == main_attacker:
            res[c][s] = headline(m)
    res["attackers"] = attackers
    res["main_attacker"] = main_attacker
    res["strongest"] = {c: {s: strongest({a: attackers[a][c][s] for a in attackers if s in attackers[a].get(c, {})})
                            for s in SPLITS if any(s in attackers[a].get(c, {}) for a in attackers)}
                        for c in CONDITIONS}
    if pvi is not None and hasattr(pvi, "to_dict"):
        pvi = pvi.to_dict()
    res["pvi"] = pvi if pvi is not None else old.get("pvi")
    res["styles"] = read_styles(run)
    merged = dict(old.get("stages") or {})
    for name, v in (stages or {}).items():
        merged[name] = dict(v) if isinstance(v, Mapping) else {"wall_s": float(v)}
    res["stages"] = merged
    for k, v in old.items():  # keep whatever else the pipeline recorded (dataset counts, profile, ...)
        res.setdefault(k, v)
    res["problems"] = problems
    res["paper"] = PAPER_RESULTS
    res["generated_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return res


def read_styles(run: str | os.PathLike) -> dict | None:
    """RUN/styles.json (protection by mask style), with RUN/realmask.json's row read afresh: the real
    photos may be evaluated after the styles stage ran. None when the styles stage has not run."""
    from ..privacy.by_style import STYLES_JSON, read_realmask

    run = Path(run)
    st = _read_json(run / STYLES_JSON)
    if st is None:
        return None
    st["realmask"] = read_realmask(run)
    return st


def write_results(run: str | os.PathLike, pvi: Any = None, stages: Mapping[str, Any] | None = None,
                  main_attacker: str = DEFAULT_ATTACKER) -> Path:
    """Write RUN/results.json (atomically) and return its path."""
    run = Path(run)
    data = build_results(run, pvi, stages, main_attacker)
    path = run / RESULTS_JSON
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
    os.replace(tmp, path)
    return path


def _jsonable(x: Any) -> Any:
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, (set, tuple)):
        return list(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return d if isinstance(d, dict) else None


# ---------------------------------------------------------------- document model

@dataclass
class Block:
    kind: str  # h1 h2 h3 p table img details note
    text: str = ""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    path: Path | None = None
    children: tuple["Block", ...] = ()


def _h(level: int, text: str) -> Block:
    return Block(f"h{level}", text)


def _p(text: str) -> Block:
    return Block("p", text)


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Block:
    return Block("table", header=tuple(header), rows=tuple(tuple(str(c) for c in r) for r in rows))


def _img(path: Path, caption: str) -> Block:
    return Block("img", caption, path=path)


def _pct(v: float | None, digits: int = 2) -> str:
    return NOT_RUN if v is None else f"{100 * v:.{digits}f}%"


def _num(v: float | None, digits: int = 2) -> str:
    return NOT_RUN if v is None else f"{v:.{digits}f}"


def _fmt(metric: str, v: float | None) -> str:
    return _pct(v) if metric == "accuracy" or metric.endswith("_accuracy") else _num(v)


def _ci(ci: list | None, pct: bool = False) -> str:
    if not ci or ci[0] is None:
        return ""
    f = (lambda x: f"{100 * x:.1f}%") if pct else (lambda x: f"{x:.3f}")
    return f" [{f(ci[0])}, {f(ci[1])}]"


# ---------------------------------------------------------------- sections

def _sec_results(res: dict) -> list[Block]:
    cols = [(c, s) for c in CONDITIONS for s in SPLITS]
    header = ["metric", *PAPER_COLUMNS.values(), *[f"this run: {c}, {s}" for c, s in cols]]
    rows = []
    for key, task, metric, label, _ in METRICS:
        row = [label]
        row += ["-" if (v := PAPER_RESULTS[p][key]) is None else _fmt(metric, v) for p in PAPER_COLUMNS]
        row += [_fmt(metric, _value(res.get(c, {}).get(s), task, metric)) for c, s in cols]
        rows.append(row)
    n = [str(res.get(c, {}).get(s, {}).get("n_test", NOT_RUN)) for c, s in cols]
    rows.append(["test images", "-", "-", str(PAPER_N_TEST), *n])
    return [_h(2, "Results beside the paper"),
            _p(f"Attacker: {res.get('main_attacker', DEFAULT_ATTACKER)}. Paper: {CITATION}. "
               "'-': the paper does not report it; the unmasked column quotes other papers' state of the art, "
               "while this run trains its unmasked attacker with the same method as the masked one."),
            _table(header, rows)]


def _sec_masked_vs_unmasked(res: dict) -> list[Block]:
    out = [_h(2, "Masked vs unmasked, per attribute"),
           _p("How much the mask takes away from the attacker (same method, same test faces). Difference = masked - "
              "unmasked: negative accuracy points or more years of error mean the mask hides something.")]
    for s in SPLITS:
        m, u = res.get("masked", {}).get(s), res.get("unmasked", {}).get(s)
        rows = []
        for _key, task, metric, label, _ in METRICS:
            vm, vu = _value(m, task, metric), _value(u, task, metric)
            if vm is None or vu is None:
                diff = NOT_RUN
            elif metric == "accuracy":
                diff = f"{100 * (vm - vu):+.2f} points"
            else:
                diff = f"{vm - vu:+.2f} years"
            rows.append([label, _fmt(metric, vm), _fmt(metric, vu), diff])
        out += [_h(3, f"{s} split"), _table(["attribute", "masked", "unmasked", "difference"], rows)]
    return out


def _sec_attackers(res: dict) -> list[Block]:
    attackers = res.get("attackers") or {}
    out = [_h(2, "Attackers")]
    if not attackers:
        return out + [_p(f"No attacker results: {NOT_RUN}.")]
    rows = []
    for a in sorted(attackers):
        for c in CONDITIONS:
            for s in SPLITS:
                e = attackers[a].get(c, {}).get(s)
                if e is None:
                    continue
                rows.append([a, c, s, *[_fmt(metric, _value(e, task, metric)) for _k, task, metric, _l, _ in METRICS],
                             str(e.get("n_test", ""))])
    out.append(_table(["attacker", "condition", "split", *[m[3] for m in METRICS], "test images"], rows))
    if len(attackers) > 1:
        srows = []
        for c in CONDITIONS:
            for s in SPLITS:
                best = (res.get("strongest") or {}).get(c, {}).get(s) or {}
                for task, b in best.items():
                    metric = "mae" if task == "age" else "accuracy"
                    srows.append([c, s, task, b["attacker"], _fmt(metric, b[metric]), ", ".join(b["of"])])
        out += [_h(3, "Strongest attacker per attribute"),
                _p("Highest accuracy (lowest MAE for age) among the attackers evaluated on that condition and split."),
                _table(["condition", "split", "attribute", "strongest", "value", "among"], srows)]
    return out


def _sec_pvi(run: Path, res: dict) -> list[Block]:
    out = [_h(2, "Privacy Vulnerability Index (PVI)")]
    pvi = res.get("pvi")
    if not pvi:
        return out + [_p(f"PVI: {NOT_RUN}. Compute it with `maskprivacy privacy pvi RUN_DIR`.")]
    lvl = f"{100 * pvi.get('ci_level', 0.95):.0f}%"
    out.append(_p(
        f"Predictability per attribute (0 = no better than the training majority class or median age, 1 = perfect), "
        f"weighted by importance; definition in docs/PRIVACY.md. Attacker {pvi.get('attacker') or '-'}, split "
        f"{pvi.get('split') or '-'}, {pvi.get('n_test', '?')} paired test faces, {lvl} bootstrap intervals from "
        f"{pvi.get('n_boot', '?')} resamples (seed {pvi.get('seed', '?')}); baseline: {pvi.get('baseline', '?')}, "
        f"age as {pvi.get('age_measure', '?')}."))
    rows = []
    for c in CONDITIONS:
        v = pvi.get(c)
        rows.append([f"PVI {c}", NOT_RUN if v is None else f"{v:.3f}{_ci(pvi.get(c + '_ci'))}"])
    red = pvi.get("reduction")
    rows.append(["reduction (1 - masked/unmasked)", NOT_RUN if red is None else f"{100 * red:.1f}%{_ci(pvi.get('reduction_ci'), True)}"])
    rows.append(["paper's reported reduction", f"{100 * PAPER_PVI_REDUCTION:.1f}% (its formula and weights are not public; "
                                               "`maskprivacy privacy paper` puts its numbers through this formula)"])
    out.append(_table(["", f"value [{lvl} CI]"], rows))
    attrs = pvi.get("attributes") or {}
    arows = []
    weights = pvi.get("weights") or {}
    for a in weights:
        row = [a, f"{weights[a]:.3f}"]
        for c in CONDITIONS:
            d = (attrs.get(c) or {}).get(a)
            if d is None:
                row += [NOT_RUN, NOT_RUN]
                continue
            model = _pct(d["model"]) if d["kind"] == "classification" else f"MAE {d['model']:.2f}"
            base = _pct(d["baseline"]) if d["kind"] == "classification" else f"MAE {d['baseline']:.2f}"
            p = NOT_RUN if d["predictability"] is None else f"{d['predictability']:.3f}{_ci(d.get('predictability_ci'))}"
            row += [f"{model} (baseline {base})", p]
        arows.append(row)
    out.append(_table(["attribute", "weight", "masked: attacker", "masked: predictability",
                       "unmasked: attacker", "unmasked: predictability"], arows))
    fig = run / FIGURES["pvi"]
    if fig.is_file():
        out.append(_img(fig, "PVI and per-attribute predictability, masked vs unmasked"))
    for w in pvi.get("warnings") or []:
        out.append(Block("note", w))
    return out


def _strongest_cell(styles: dict, style: str) -> tuple[str, dict] | None:
    row = (styles.get("styles") or {}).get(style)
    if not row:
        return None
    return row["strongest"], row["attackers"][row["strongest"]]


def _pct_ci(v: float | None, ci: list | None) -> str:
    return f"{_pct(v, 1)}{_ci(ci, True)}"


def _sec_answer(res: dict) -> list[Block]:
    """The answer first, in plain words, from the run's own numbers (styles.json, else the PVI)."""
    out = [_h(2, "The answer")]
    st = res.get("styles") or {}
    lvl = f"{100 * float(st.get('ci_level') or (res.get('pvi') or {}).get('ci_level') or 0.95):.0f}%"
    paper = _strongest_cell(st, "a") if st else None
    ref = st.get("reference") or {}
    bare = ((st.get("styles") or {}).get(ref.get("style", "")) or {}).get("attackers", {}).get(ref.get("attacker", ""))
    if paper and bare:
        name, c = paper
        text = (f"Behind the paper's mask (shape a, white) the strongest attacker ({name}) still reads sex correctly "
                f"{_pct_ci(c['sex']['accuracy'], c['sex']['ci'])} of the time, race {_pct_ci(c['race']['accuracy'], c['race']['ci'])} "
                f"and the age bucket {_pct_ci(c['age_bucket']['accuracy'], c['age_bucket']['ci'])} (age within "
                f"{c['age']['mae']:.1f} years on average); without a mask the unmasked attacker reads "
                f"{_pct(bare['sex']['accuracy'], 1)}, {_pct(bare['race']['accuracy'], 1)} and "
                f"{_pct(bare['age_bucket']['accuracy'], 1)}. In terms of the Privacy Vulnerability Index (0 = nothing "
                f"readable beyond guessing from the population, 1 = everything), it is {bare['pvi']:.3f} without a mask "
                f"and {c['pvi']:.3f}{_ci(c.get('pvi_ci'))} behind this one: a reduction of "
                f"{_pct_ci(c.get('reduction'), c.get('reduction_ci'))}.")
        best, worst = st.get("best"), st.get("worst")
        n_styles = len([k for k in st.get("styles") or {} if k != "bare"])
        if best and worst and best != worst:
            (bn, b), (wn, w) = _strongest_cell(st, best), _strongest_cell(st, worst)  # type: ignore[misc]
            text += (f" Of the {n_styles} mask styles tried on the same {st.get('n_test', '?')} test faces, {best} protects "
                     f"best (strongest attacker {bn}: sex {_pct(b['sex']['accuracy'], 1)}, PVI reduction "
                     f"{_pct_ci(b.get('reduction'), b.get('reduction_ci'))}) and {worst} least ({wn}: sex "
                     f"{_pct(w['sex']['accuracy'], 1)}, reduction {_pct_ci(w.get('reduction'), w.get('reduction_ci'))}).")
        text += f" Intervals: {lvl} bootstrap over the test faces."
        return out + [_p(text)]
    pvi = res.get("pvi") or {}
    m = (res.get("masked") or {}).get("uniform") or {}
    if pvi.get("reduction") is not None and m:
        return out + [_p(
            f"Behind the paper's mask (shape a, white) the attacker ({res.get('main_attacker', DEFAULT_ATTACKER)}) still "
            f"reads sex correctly {_pct(_value(m, 'sex', 'accuracy'), 1)} of the time, race "
            f"{_pct(_value(m, 'race', 'accuracy'), 1)} and the age bucket {_pct(_value(m, 'age_bucket', 'accuracy'), 1)}; "
            f"the mask lowers the Privacy Vulnerability Index by {_pct_ci(pvi['reduction'], pvi.get('reduction_ci'))}. "
            f"Protection by mask style: {NOT_RUN} (reproduce stage `styles`).")]
    return out + [_p(f"{NOT_RUN}: train the masked and unmasked attackers and compute the PVI first.")]


def _sec_styles(run: Path, res: dict) -> list[Block]:
    out = [_h(2, "Protection by mask style")]
    st = res.get("styles")
    if not st:
        return out + [_p(f"{NOT_RUN} (reproduce stage `styles`).")]
    lvl = f"{100 * float(st.get('ci_level', 0.95)):.0f}%"
    out.append(_p(
        f"Every CNN attacker on the same {st.get('n_test', '?')} test faces ({st.get('split')} split, cached at "
        f"the training size) wearing each mask style, drawn from the face's key points with a fixed seed "
        f"({st.get('seed')}); row a is the paper's mask exactly as the masked attacker is tested on it. Accuracy "
        f"[{lvl} bootstrap interval, {st.get('n_boot')} paired resamples]; PVI reduction against the unmasked "
        f"attacker on bare faces. Strongest = the attacker with the highest PVI on that style (the worst case "
        f"for the wearer). Sorted from best to worst protection, then no mask (bare). Best: {st.get('best')}; worst: {st.get('worst')}."))
    rows_ = st.get("styles") or {}
    order = sorted((s_ for s_ in rows_ if s_ != "bare"), key=lambda s: rows_[s]["attackers"][rows_[s]["strongest"]]["pvi"])
    order += ["bare"] if "bare" in rows_ else []  # no mask: the reference, last
    rows = []
    for s_ in order:
        r = rows_[s_]
        for a, c in sorted(r["attackers"].items()):
            rows.append([s_, a + (" (strongest)" if a == r["strongest"] else ""), _pct_ci(c["sex"]["accuracy"], c["sex"]["ci"]),
                         _pct_ci(c["race"]["accuracy"], c["race"]["ci"]),
                         _pct_ci(c["age_bucket"]["accuracy"], c["age_bucket"]["ci"]),
                         f"{c['age']['mae']:.2f}{_ci(c['age']['ci'])}", f"{c['pvi']:.3f}{_ci(c.get('pvi_ci'))}",
                         NOT_RUN if c.get("reduction") is None else _pct_ci(c["reduction"], c.get("reduction_ci"))])
    real = st.get("realmask")
    if isinstance(real, Mapping) and real.get("error"):
        out.append(Block("note", str(real["error"])))
    elif isinstance(real, Mapping):
        label = f"real masks ({real.get('population') or 'realmask-dev'}; different population)"
        for a, c in sorted((real.get("attackers") or {}).items()):
            def acc(t: str) -> str:
                d = c.get(t) or {}
                v = _pct_ci(d.get("accuracy"), d.get("ci"))
                return v + (f" (balanced {_pct(d['balanced_accuracy'], 1)})" if d.get("balanced_accuracy") is not None else "")
            rows.append([label, f"{a} (n={c.get('n', '?')})", acc("sex"), acc("race"), "-", "-", "-", "-"])
    out.append(_table(["style", "attacker", "sex acc", "race acc", "age bucket acc", "age MAE", "PVI", "PVI reduction"], rows))
    desc = [[s_, rows_[s_].get("description", "")] for s_ in order]
    out.append(Block("details", "what each style is", children=(_table(["style", "description"], desc),)))
    fig = run / FIGURES["styles"]
    if fig.is_file():
        out.append(_img(fig, "PVI per mask style and attacker (best-protecting first)"))
    return out


def _sec_per_class(metrics: dict, main: str) -> list[Block]:
    out = [_h(2, "Per-class accuracy, masked faces, uniform split")]
    m = metrics.get((main, "masked", "uniform"))
    u = metrics.get((main, "unmasked", "uniform"))
    rows = []
    for task, names in CLASS_TASKS.items():
        for name in names:
            def pc(x):
                v = ((x or {}).get(task) or {}).get("per_class", {}).get(name)
                return _pct(v, 1) if v is not None else NOT_RUN
            rows.append([task, name, _pct(PAPER_PER_CLASS_UNIFORM[task][name], 1), pc(m), pc(u)])
    return out + [_table(["task", "class", "paper (masked)", "this run: masked", "this run: unmasked"], rows)]


def _confusion_table(matrix: list[list[float]], names: tuple[str, ...]) -> Block:
    rows = [[f"true {names[i]}", *[str(int(v)) for v in r]] for i, r in enumerate(matrix)]
    return _table(["", *[f"pred {n}" for n in names]], rows)


def _sec_confusion(attackers: list[AttackerDir], metrics: dict) -> list[Block]:
    out = [_h(2, "Confusion matrices")]
    if not attackers:
        return out + [_p(f"{NOT_RUN}.")]
    for a in attackers:
        m = metrics.get((a.attacker, a.condition, a.split), {})
        inner: list[Block] = []
        for task, names in CLASS_TASKS.items():
            png = a.path / f"confusion_{task}.png"
            conf = (m.get(task) or {}).get("confusion")
            if png.is_file():
                inner.append(_img(png, f"{task}"))
            elif conf:
                inner += [_h(4, task), _confusion_table(conf, names)]
            else:
                inner.append(_p(f"{task}: {NOT_RUN}"))
        out.append(Block("details", f"{a.attacker}, {a.condition}, {a.split} split", children=tuple(inner)))
    return out


def _sec_breakdown(metrics: dict, main: str) -> list[Block]:
    out = [_h(2, "Breakdown by sex x race x age bucket (uniform split)")]
    m = metrics.get((main, "masked", "uniform"), {}).get("breakdown") or []
    u = metrics.get((main, "unmasked", "uniform"), {}).get("breakdown") or []
    if not m and not u:
        return out + [_p(f"{NOT_RUN}.")]
    key = lambda r: (str(r["sex"]), str(r["race"]), str(r["age_bucket"]))  # noqa: E731
    mm, uu = {key(r): r for r in m}, {key(r): r for r in u}
    order = {n: i for i, n in enumerate((*SEX_NAMES, *RACE_NAMES, *AGE_BUCKET_NAMES))}
    keys = sorted(set(mm) | set(uu), key=lambda k: tuple(order.get(x, 99) for x in k))
    rows = []
    for k in keys:
        a, b = mm.get(k), uu.get(k)
        n = (a or b)["n"]

        def pair(field: str, pct: bool) -> str:
            f = (lambda r: _pct(r.get(field), 1)) if pct else (lambda r: _num(r.get(field), 1))
            return f"{f(a) if a else NOT_RUN} / {f(b) if b else NOT_RUN}"

        rows.append([*k, str(n), pair("sex_acc", True), pair("race_acc", True), pair("age_bucket_acc", True),
                     pair("age_mae", False)])
    table = _table(["sex", "race", "age bucket", "n", "sex acc (masked / unmasked)", "race acc", "age bucket acc",
                    "age MAE"], rows)
    return out + [Block("details", f"{len(rows)} cells (masked / unmasked)", children=(table,))]


def _split_counts(run: Path) -> list[list[str]]:
    import csv

    rows = []
    for s in SPLITS:
        p = run / "splits" / f"{s}.csv"
        if not p.is_file():
            rows.append([s, NOT_RUN, NOT_RUN, NOT_RUN])
            continue
        counts = {"train": 0, "val": 0, "test": 0}
        with p.open() as f:
            for r in csv.DictReader(f):
                counts[r.get("part", "")] = counts.get(r.get("part", ""), 0) + 1
        rows.append([s, str(counts["train"]), str(counts["val"]), str(counts["test"])])
    return rows


def _sec_dataset(run: Path, res: dict) -> list[Block]:
    out = [_h(2, "Dataset")]
    ds = res.get("dataset")
    if isinstance(ds, Mapping) and ds:
        out.append(_table(["", "value"], [[k, json.dumps(v) if isinstance(v, (dict, list)) else str(v)] for k, v in ds.items()]))
    out.append(_table(["split", "train", "val", "test"], _split_counts(run)))
    fig = run / FIGURES["distributions"]
    out.append(_img(fig, "Age distribution; race by sex") if fig.is_file() else _p(f"Distributions figure: {NOT_RUN}."))
    out.append(_h(2, "Pipeline"))
    fig = run / FIGURES["pipeline"]
    out.append(_img(fig, "Original, localisation, key points, digital mask") if fig.is_file()
               else _p(f"Pipeline figure: {NOT_RUN}."))
    return out


def _sec_wall_time(res: dict) -> list[Block]:
    out = [_h(2, "Wall time")]
    stages = res.get("stages") or {}
    if stages:
        rows = [[k, _num((v or {}).get("wall_s"), 1)] for k, v in stages.items()]
        total = sum(float((v or {}).get("wall_s") or 0) for v in stages.values())
        rows.append(["total", f"{total:.1f}"])
        out.append(_table(["stage", "seconds"], rows))
    else:
        out.append(_p(f"Pipeline stages: {NOT_RUN} (no timings recorded)."))
    arows = []
    for a, conds in sorted((res.get("attackers") or {}).items()):
        for c, splits in conds.items():
            for s, e in splits.items():
                for stage, sec in (e.get("wall_s") or {}).items():
                    arows.append([a, c, s, stage, _num(sec, 1)])
    if arows:
        out += [_h(3, "Per attacker"), _table(["attacker", "condition", "split", "stage", "seconds"], arows)]
    return out


def _header(run: Path, res: dict, metrics: dict) -> list[Block]:
    first = next(iter(metrics.values()), {})
    facts = [f"Run: `{run}`", f"generated {res.get('generated_at', '')}"]
    # A resumed run may hold attackers trained at different commits: name every one, in first-seen order.
    commits = list(dict.fromkeys(str(m["commit"]) for m in metrics.values() if m.get("commit")))
    if commits:
        facts.append(("commit: " if len(commits) == 1 else "commits: ") + ", ".join(commits))
    if first.get("machine"):
        v = first["machine"]
        facts.append("machine: " + (", ".join(f"{a} {b}" for a, b in v.items()) if isinstance(v, Mapping) else str(v)))
    profile = (first.get("config") or {}).get("profile") or res.get("profile")
    if profile:
        facts.append(f"profile: {profile}")
    out = [_h(1, "Does a face mask protect my privacy? - run report"), _p(" · ".join(facts))]
    out += [Block("note", p) for p in res.get("problems") or []]
    return out


def build_blocks(run: str | os.PathLike, results: dict | None = None) -> list[Block]:
    """The whole report as blocks; ``results`` defaults to RUN/results.json (or a fresh build)."""
    run = Path(run)
    res = results or _read_json(run / RESULTS_JSON) or build_results(run)
    attackers, metrics, _ = _load_attackers(run)
    main = res.get("main_attacker", DEFAULT_ATTACKER)
    blocks = _header(run, res, metrics)
    blocks += _sec_answer(res)
    blocks += _sec_results(res)
    blocks += _sec_masked_vs_unmasked(res)
    blocks += _sec_pvi(run, res)
    blocks += _sec_styles(run, res)
    blocks += _sec_attackers(res)
    blocks += _sec_per_class(metrics, main)
    blocks += _sec_confusion(attackers, metrics)
    blocks += _sec_breakdown(metrics, main)
    blocks += _sec_dataset(run, res)
    blocks += _sec_wall_time(res)
    return blocks


# ---------------------------------------------------------------- renderers

def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], base: Path) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind.startswith("h"):
            out += ["#" * int(b.kind[1]) + " " + b.text, ""]
        elif b.kind == "p":
            out += [b.text, ""]
        elif b.kind == "note":
            out += [f"> note: {b.text}", ""]
        elif b.kind == "table":
            out.append("| " + " | ".join(_md_cell(h) for h in b.header) + " |")
            out.append("|" + "---|" * len(b.header))
            out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in b.rows]
            out.append("")
        elif b.kind == "img":
            assert b.path is not None
            rel = os.path.relpath(b.path, base).replace(os.sep, "/")
            out += [f"![{b.text}]({rel})", ""]
        elif b.kind == "details":
            out += [f"**{b.text}**", ""]
            out.append(to_markdown(list(b.children), base))
    return "\n".join(out)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.88em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f4f6}tr:nth-child(even) td{background:#fafafa}
td:not(:first-child){font-variant-numeric:tabular-nums}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
details{margin:.4em 0}summary{cursor:pointer;font-weight:600}
.note{background:#fff8e1;border-left:4px solid #f0b429;padding:.4em .8em;font-size:.9em}
code{background:#f3f4f6;padding:0 .2em}
"""


def _inline(text: str) -> str:
    """Escape, then render `code` spans (the only inline Markdown the report uses)."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _html_blocks(blocks: Iterable[Block]) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if b.kind.startswith("h"):
            out.append(f"<{b.kind}>{_inline(b.text)}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "note":
            out.append(f'<p class="note">note: {_inline(b.text)}</p>')
        elif b.kind == "table":
            head = "".join(f"<th>{_inline(h)}</th>" for h in b.header)
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in b.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif b.kind == "img":
            assert b.path is not None
            out.append(f'<figure><img alt="{html.escape(b.text)}" src="{_data_uri(b.path)}">'
                       f"<figcaption>{_inline(b.text)}</figcaption></figure>")
        elif b.kind == "details":
            out.append(f"<details><summary>{_inline(b.text)}</summary>{''.join(_html_blocks(b.children))}</details>")
    return out


def to_html(blocks: list[Block], title: str = "maskprivacy run report") -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(_html_blocks(blocks)) + "\n</body></html>\n")


def render_report(run: str | os.PathLike, results: dict | None = None, draw_pvi: bool = True) -> tuple[Path, Path]:
    """Write RUN/report.md and RUN/report.html; return their paths.

    With ``draw_pvi``, figures/pvi.png is (re)drawn from the PVI in results.json first.
    """
    run = Path(run)
    if not run.is_dir():
        raise FileNotFoundError(f"run folder not found: {run}")
    res = results or _read_json(run / RESULTS_JSON) or build_results(run)
    if draw_pvi and res.get("pvi") and (res["pvi"].get("attributes") or {}):
        from .figures import pvi_figure

        pvi_figure(res["pvi"], run / FIGURES["pvi"])
    blocks = build_blocks(run, res)
    md, page = run / REPORT_MD, run / REPORT_HTML
    md.write_text(to_markdown(blocks, run))
    page.write_text(to_html(blocks))
    return md, page


def main(argv: list[str] | None = None) -> int:
    """``python -m maskprivacy.report.report RUN [--results]``: (re)write results.json and the report."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m maskprivacy.report.report",
                                description="Write RUN/report.md and a self-contained RUN/report.html "
                                            "(with --results, first rewrite RUN/results.json from the metrics).")
    p.add_argument("run", help="run folder")
    p.add_argument("--results", action="store_true", help="rewrite results.json from the metrics.json files first")
    args = p.parse_args(argv)
    if args.results:
        print(write_results(args.run))
    for path in render_report(args.run):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
