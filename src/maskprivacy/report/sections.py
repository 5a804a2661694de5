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

import json
import os
from pathlib import Path
from typing import Mapping

from maskprivacy.analysis.evaluate import per_class_text
from maskprivacy.analysis.framing import framing_figures
from maskprivacy.data.labels import AGE_BUCKET_NAMES, CLASS_NAMES, RACE_NAMES, SEX_NAMES
from maskprivacy.faces.align import FRAMINGS
from maskprivacy.layout import CONDITIONS, PARTS, SPLITS, RunLayout
from maskprivacy.paper import (
    CITATION,
    PAPER_COLUMNS,
    PAPER_N_TEST,
    PAPER_PER_CLASS_UNIFORM,
    PAPER_PVI_REDUCTION,
    PAPER_RESULTS,
)
from maskprivacy.privacy.discovery import DEFAULT_ATTACKER, AttackerDir
from maskprivacy.provenance import machine_line
from maskprivacy.report.blocks import (
    NOT_RUN,
    Block,
    fmt_ci,
    fmt_metric,
    fmt_num,
    fmt_pct,
    fmt_pct_ci,
    heading,
    image_block,
    paragraph,
    table_block,
)
from maskprivacy.report.protection import protection_blocks
from maskprivacy.report.results import METRICS, answer_problems, build_results, load_attackers, read_json, value_of
from maskprivacy.tasks import CLASS_TASKS, TASK_NAMES

FIGURES = {
    "pipeline": "figures/pipeline.png",
    "distributions": "figures/distributions.png",
    "pvi": "figures/pvi.png",
    "styles": "figures/styles.png",
}


def _sec_results(res: dict) -> list[Block]:
    cols = [(c, s) for c in CONDITIONS for s in SPLITS]
    header = ["metric", *PAPER_COLUMNS.values(), *[f"this run: {c}, {s}" for c, s in cols]]
    rows = []
    for key, task, metric, label, _ in METRICS:
        row = [label]
        row += ["-" if (v := PAPER_RESULTS[p][key]) is None else fmt_metric(metric, v) for p in PAPER_COLUMNS]
        row += [_with_ci(res.get(c, {}).get(s), task, metric) for c, s in cols]
        rows.append(row)
    n = [str(res.get(c, {}).get(s, {}).get("n_test", NOT_RUN)) for c, s in cols]
    rows.append(["test images", "-", "-", str(PAPER_N_TEST), *n])
    return [
        heading(2, "Results beside the paper"),
        paragraph(
            f"Attacker: {res.get('main_attacker', DEFAULT_ATTACKER)}, the paper-style CNN: this is the row that compares "
            "with the paper (the answer above uses the strongest attacker per attribute instead). Paper: "
            f"{CITATION}. "
            "'-': the paper does not report it; the unmasked column quotes other papers' state of the art, "
            "while this run trains its unmasked attacker with the same method as the masked one. "
            "Brackets: 95% bootstrap intervals over this run's test faces."
        ),
        table_block(header, rows),
    ]


def _with_ci(entry: Mapping | None, task: str, metric: str) -> str:
    """A figure and its 95% bootstrap interval (results.json ``intervals``), as the report prints it."""
    v = value_of(entry, task, metric)
    ci = ((entry or {}).get("intervals") or {}).get(task, {}).get(metric)
    pct = metric == "accuracy" or metric.endswith("_accuracy")
    return fmt_metric(metric, v) + (fmt_ci(ci, pct) if v is not None else "")


def fmt_p(p: float | None) -> str:
    """A p-value as papers print it (two significant digits, 'p < 0.0001' below that)."""
    if p is None:
        return NOT_RUN
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.2g}"


def _test_cell(t: Mapping | None) -> str:
    if not t:
        return NOT_RUN
    return fmt_p(t["p"]) + (" (significant)" if t.get("significant") else "")


def _sec_masked_vs_unmasked(res: dict) -> list[Block]:
    out = [
        heading(2, "Masked vs unmasked, per attribute"),
        paragraph(
            "How much the mask takes away from the attacker (same method, same test faces). Difference = masked - "
            "unmasked: negative accuracy points or more years of error mean the mask hides something. "
            "Brackets: 95% bootstrap intervals over the test faces. Test: paired on the test faces, McNemar's exact "
            "test for the classes, Wilcoxon signed-rank on the absolute age errors (significant: p < "
            f"{(res.get('tests') or {}).get('alpha', 0.05)})."
        ),
    ]
    main = res.get("main_attacker", DEFAULT_ATTACKER)
    paired = ((res.get("tests") or {}).get("masked_vs_unmasked") or {}).get(main, {})
    for s in SPLITS:
        m, u = res.get("masked", {}).get(s), res.get("unmasked", {}).get(s)
        rows = []
        for _key, task, metric, label, _ in METRICS:
            vm, vu = value_of(m, task, metric), value_of(u, task, metric)
            if vm is None or vu is None:
                diff = NOT_RUN
            elif metric == "accuracy":
                diff = f"{100 * (vm - vu):+.2f} points"
            else:
                diff = f"{vm - vu:+.2f} years"
            test = _test_cell(paired.get(s, {}).get(task)) if metric != "rmse" else ""
            rows.append([label, _with_ci(m, task, metric), _with_ci(u, task, metric), diff, test])
        out += [
            heading(3, f"{s} split"),
            table_block(["attribute", "masked", "unmasked", "difference", "paired test"], rows),
        ]
    top = (res.get("tests") or {}).get("strongest_masked_vs_unmasked") or {}
    if top:
        rows = []
        for s in SPLITS:
            for task, t in sorted((top.get(s) or {}).items()):
                rows.append([s, task, t["masked"], t["unmasked"], str(t["n"]), _test_cell(t)])
        out += [
            heading(3, "The strongest masked-face reader against the strongest unmasked one"),
            paragraph("Per attribute, the best attacker of each condition, tested on the test faces both read."),
            table_block(["split", "attribute", "strongest masked", "strongest unmasked", "faces", "paired test"], rows),
        ]
    return out


def _sec_attackers(res: dict) -> list[Block]:
    attackers = res.get("attackers") or {}
    out = [heading(2, "Attackers")]
    if not attackers:
        return out + [paragraph(f"No attacker results: {NOT_RUN}.")]
    rows, brows = [], []
    for a in sorted(attackers):
        for c in CONDITIONS:
            for s in SPLITS:
                e = attackers[a].get(c, {}).get(s)
                if e is None:
                    continue
                rows.append(
                    [
                        a,
                        c,
                        s,
                        trained_on(a, c),
                        *[_with_ci(e, task, metric) for _k, task, metric, _l, _ in METRICS],
                        str(e.get("n_test", "")),
                    ]
                )
                brows.append([a, c, s, *[_with_ci(e, t, "balanced_accuracy") for t in CLASS_NAMES]])
    out += [
        paragraph("Brackets: 95% bootstrap intervals over the test faces (results.json `intervals`)."),
        table_block(["attacker", "condition", "split", "trained on", *[m[3] for m in METRICS], "test images"], rows),
        heading(3, "Balanced accuracy (mean recall over the classes)"),
        table_block(["attacker", "condition", "split", *[f"{t} balanced" for t in CLASS_NAMES]], brows),
    ]
    if len(attackers) > 1:
        srows = []
        for c in CONDITIONS:
            for s in SPLITS:
                best = (res.get("strongest") or {}).get(c, {}).get(s) or {}
                for task, b in best.items():
                    metric = "mae" if task == "age" else "accuracy"
                    second = b.get("second") or {}
                    srows.append(
                        [
                            c,
                            s,
                            task,
                            b["attacker"],
                            _chosen_cell(b, metric),
                            fmt_metric(metric, b[metric]),
                            f"{second['attacker']} ({fmt_metric(metric, second[metric])})" if second else "-",
                            _test_cell(b.get("vs_second")) if second else "-",
                            ", ".join(b["of"]),
                        ]
                    )
        out += [
            heading(3, "Strongest attacker per attribute"),
            paragraph(
                "The attacker with the highest accuracy (lowest MAE for age) on the split's validation faces among those "
                "evaluated on that condition and split, its figure on the test faces, and whether it beats the second "
                "(ranked the same way) on the same test faces (McNemar's exact test / Wilcoxon signed-rank; not "
                "significant: the two are not told apart by this test set). Ranking on the test faces and reporting "
                "the winner's test figure would report the largest of several noisy estimates; 'chosen on' says "
                "which faces ranked them and names the best on the test faces when that is another attacker."
            ),
            table_block(
                [
                    "condition",
                    "split",
                    "attribute",
                    "strongest",
                    "chosen on",
                    "value (test)",
                    "second",
                    "strongest vs second",
                    "among",
                ],
                srows,
            ),
        ]
    return out


def _chosen_cell(b: dict, metric: str) -> str:
    """Which faces ranked the attackers: 'validation (value)', and the best on the test faces if another."""
    if b.get("chosen_on") != "validation":
        return "test faces (not every attacker has validation predictions)"
    cell = f"validation ({fmt_metric(metric, b['val'])})"
    top = b.get("best_on_test")
    return cell + (f"; best on test: {top['attacker']} ({fmt_metric(metric, top[metric])})" if top else "")


def _sec_seeds(res: dict) -> list[Block]:
    """Mean and spread over training seeds (``reproduce --seeds N``); nothing when one seed ran."""
    seeds = res.get("seeds")
    if not seeds or not seeds.get("attackers"):
        return []
    rows = []
    for a, by_c in sorted(seeds["attackers"].items()):
        for c in CONDITIONS:
            for s in SPLITS:
                e = by_c.get(c, {}).get(s)
                if not e:
                    continue
                cells = []
                for _k, task, metric, _l, _ in METRICS:
                    st = (e.get(task) or {}).get(metric)
                    if st is None:
                        cells.append(NOT_RUN)
                    elif metric == "accuracy":
                        cells.append(f"{100 * st['mean']:.2f}% ± {100 * st['std']:.2f}")
                    else:
                        cells.append(f"{st['mean']:.2f} ± {st['std']:.2f}")
                n = max(((e.get(t) or {}).get(m) or {}).get("n", 0) for _k, t, m, _l, _ in METRICS)
                rows.append([a, c, s, *cells, str(n)])
    return [
        heading(2, "Across training seeds"),
        paragraph(
            f"Mean ± sample standard deviation over {len(seeds['runs'])} training seeds (runs: "
            f"{', '.join(seeds['runs'])}), the same splits and test faces; attackers that no seed retrains are "
            "left out. The spread is what one more training run can move a figure by."
        ),
        table_block(["attacker", "condition", "split", *[m[3] for m in METRICS], "seeds"], rows),
    ]


def _sec_pvi(run: Path, res: dict) -> list[Block]:
    out = [heading(2, "Privacy Vulnerability Index (PVI)")]
    pvi = res.get("pvi")
    if not pvi:
        return out + [paragraph(f"PVI: {NOT_RUN}. Compute it with `maskprivacy privacy pvi RUN_DIR`.")]
    lvl = f"{100 * pvi.get('ci_level', 0.95):.0f}%"
    out.append(
        paragraph(
            f"Predictability per attribute (0 = no better than the training majority class or median age, 1 = perfect), "
            f"weighted by importance; definition in docs/PRIVACY.md. {_pvi_attackers(pvi)}; split "
            f"{pvi.get('split') or '-'}, {pvi.get('n_test', '?')} paired test faces, {lvl} bootstrap intervals from "
            f"{pvi.get('n_boot', '?')} resamples (seed {pvi.get('seed', '?')}); baseline: {pvi.get('baseline', '?')}, "
            f"age as {pvi.get('age_measure', '?')}."
        )
    )
    rows = []
    for c in CONDITIONS:
        v = pvi.get(c)
        rows.append([f"PVI {c}", NOT_RUN if v is None else f"{v:.3f}{fmt_ci(pvi.get(c + '_ci'))}"])
    red = pvi.get("reduction")
    rows.append(
        [
            "reduction (1 - masked/unmasked)",
            NOT_RUN if red is None else f"{100 * red:.1f}%{fmt_ci(pvi.get('reduction_ci'), True)}",
        ]
    )
    rows.append(
        [
            "paper's reported reduction",
            f"{100 * PAPER_PVI_REDUCTION:.1f}% (its formula and weights are not public; "
            "`maskprivacy privacy paper` puts its numbers through this formula)",
        ]
    )
    out.append(table_block(["", f"value [{lvl} CI]"], rows))
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
            # the figure's interval is printed where the figure is reported (the answer, the attackers' table)
            model = fmt_pct(d["model"]) if d["kind"] == "classification" else f"MAE {d['model']:.2f}"
            model += f" by {d['attacker']}" if d.get("attacker") else ""
            base = fmt_pct(d["baseline"]) if d["kind"] == "classification" else f"MAE {d['baseline']:.2f}"
            p = (
                NOT_RUN
                if d["predictability"] is None
                else f"{d['predictability']:.3f}{fmt_ci(d.get('predictability_ci'))}"
            )
            row += [f"{model} (baseline {base})", p]
        arows.append(row)
    out.append(
        table_block(
            [
                "attribute",
                "weight",
                "masked: attacker",
                "masked: predictability",
                "unmasked: attacker",
                "unmasked: predictability",
            ],
            arows,
        )
    )
    fig = run / FIGURES["pvi"]
    if fig.is_file():
        out.append(image_block(fig, "PVI and per-attribute predictability, masked vs unmasked"))
    for w in pvi.get("warnings") or []:
        out.append(Block("note", w))
    return out


def _pvi_attackers(pvi: Mapping) -> str:
    """Who the PVI's figures come from: the attacker, or per side and attribute the strongest ones."""
    chosen = pvi.get("attackers") or {}
    if pvi.get("attacker") != "strongest" or not chosen:
        return f"Attacker {pvi.get('attacker') or '-'}"
    sides = [
        f"{c}: " + ", ".join(f"{a} {d['attacker']}" for a, d in chosen[c].items()) for c in CONDITIONS if c in chosen
    ]
    return "Attackers: the strongest per attribute, as in the answer (" + "; ".join(sides) + ")"


def _strongest_cell(styles: dict, style: str) -> tuple[str, dict] | None:
    row = (styles.get("styles") or {}).get(style)
    if not row:
        return None
    return row["strongest"], row["attackers"][row["strongest"]]


ANSWER_SPLIT = "uniform"  # the paper's split: the one the verdict and the PVI answer for
ANSWER_TASKS = TASK_NAMES


def answer_side(res: Mapping, condition: str) -> dict[str, dict] | None:
    """results.json ``strongest.<condition>.uniform`` when it has every attribute, else None: the
    attackers (and their test figures) that the verdict, the PVI and the style table's headline use."""
    side = ((res.get("strongest") or {}).get(condition) or {}).get(ANSWER_SPLIT) or {}
    return side if all(t in side for t in ANSWER_TASKS) else None


def _read(b: Mapping, task: str) -> str:
    """One attribute as the verdict reads it: figure, interval, attacker."""
    if task == "age":
        return f"{fmt_num(b['mae'], 2)}{fmt_ci(b.get('mae_ci'))} years ({b['attacker']})"
    return f"{fmt_pct_ci(b['accuracy'], b.get('accuracy_ci'))} ({b['attacker']})"


def _chosen_on(*sides: Mapping[str, dict]) -> str:
    ons = {b.get("chosen_on") for side in sides for b in side.values()}
    if ons == {"validation"}:
        return "chosen on the validation faces"
    return "chosen on the test faces, since not every attacker has validation predictions (optimistic)"


def _sec_answer(res: dict) -> list[Block]:
    """The answer first, in plain words, from results.json alone: the strongest attacker per attribute
    on each side (``strongest``, chosen on validation), the PVI of those same attackers (``pvi``), and
    the paper-style CNN's figures named as such."""
    out = [heading(2, "The answer")]
    st = res.get("styles") or {}
    pvi = res.get("pvi") or {}
    lvl = f"{100 * float(pvi.get('ci_level') or st.get('ci_level') or 0.95):.0f}%"
    m, u = answer_side(res, "masked"), answer_side(res, "unmasked")
    if m is None:
        return out + [paragraph(f"{NOT_RUN}: train the masked and unmasked attackers and compute the PVI first.")]
    n_att = len(m["sex"].get("of") or [])
    text = (
        f"Behind the paper's mask (shape a, white) the strongest attacker of this run for each attribute "
        f"({_chosen_on(m, *([u] if u else []))}, among the {n_att} attackers of masked faces; {ANSWER_SPLIT} split) "
        f"still reads sex correctly {_read(m['sex'], 'sex')} of the time, race {_read(m['race'], 'race')} and the "
        f"age bucket {_read(m['age_bucket'], 'age_bucket')}, age within {_read(m['age'], 'age')} on average"
    )
    if u is not None:
        text += (
            f"; without a mask the strongest unmasked attacker reads sex {_read(u['sex'], 'sex')}, race "
            f"{_read(u['race'], 'race')} and the age bucket {_read(u['age_bucket'], 'age_bucket')}, age within "
            f"{_read(u['age'], 'age')}"
        )
    text += "."
    mismatch = answer_problems(res.get("strongest") or {}, pvi)
    if pvi.get("masked") is not None and not mismatch:
        text += (
            " In terms of the Privacy Vulnerability Index of these same attackers (0 = nothing readable beyond "
            "guessing from the population, 1 = everything), it is "
            + (
                f"{pvi['unmasked']:.3f}{fmt_ci(pvi.get('unmasked_ci'))} without a mask and "
                if pvi.get("unmasked") is not None
                else ""
            )
            + f"{pvi['masked']:.3f}{fmt_ci(pvi.get('masked_ci'))} behind this one"
            + (
                f": a reduction of {fmt_pct_ci(pvi['reduction'], pvi.get('reduction_ci'))} (paired over the "
                f"{pvi.get('n_test', '?')} test faces both sides read)."
                if pvi.get("reduction") is not None
                else "."
            )
        )
    elif mismatch:
        text += (
            f" The PVI in results.json was computed for other attackers ({pvi.get('attacker')}): see the note above."
        )
    else:
        text += f" PVI: {NOT_RUN}."
    main = res.get("main_attacker", DEFAULT_ATTACKER)
    pm, pu = (((res.get(c) or {}).get(ANSWER_SPLIT) or {}) for c in CONDITIONS)
    if value_of(pm, "sex", "accuracy") is not None:
        text += (
            f" The paper-style CNN ({main}), the row that compares with the paper, reads sex "
            f"{fmt_pct(value_of(pm, 'sex', 'accuracy'), 1)} behind the mask"
            + (
                f" and {fmt_pct(value_of(pu, 'sex', 'accuracy'), 1)} without"
                if value_of(pu, "sex", "accuracy") is not None
                else ""
            )
            + "."
        )
    best, worst = st.get("best"), st.get("worst")
    n_styles = len([k for k in st.get("styles") or {} if k != "bare"])
    if best and worst and best != worst:
        (bn, b), (wn, w) = _strongest_cell(st, best), _strongest_cell(st, worst)  # type: ignore[misc]
        text += (
            f" Of the {n_styles} mask styles tried on the same {st.get('n_test', '?')} test faces with the CNN attackers, "
            f"{best} protects best (highest-PVI CNN {bn}: sex {fmt_pct(b['sex']['accuracy'], 1)}, PVI reduction "
            f"{fmt_pct_ci(b.get('reduction'), b.get('reduction_ci'))}) and {worst} least ({wn}: sex "
            f"{fmt_pct(w['sex']['accuracy'], 1)}, reduction {fmt_pct_ci(w.get('reduction'), w.get('reduction_ci'))})."
        )
    elif not st:
        text += f" Protection by mask style: {NOT_RUN} (reproduce stage `styles`)."
    text += f" Intervals: {lvl} bootstrap over the test faces."
    real = _real_mask_answer(res)
    return out + [paragraph(text)] + ([paragraph(real)] if real else [])


def _real_mask_answer(res: Mapping) -> str | None:
    """What the reader of real masks (chosen on validation, readers.json) reads behind real masks of
    real people (realmask.json: a different population, every figure from a model that never saw them)."""
    chosen = ((res.get("readers") or {}).get("roles") or {}).get("real_mask")
    real = ((res.get("styles") or {}).get("realmask")) or {}
    if not chosen or not isinstance(real.get("attackers"), Mapping):
        return None
    e = real["attackers"].get(f"{chosen.get('family')}_{chosen.get('condition')}")  # realmask.json's key
    if not e or "sex" not in e:
        return None
    sex = e["sex"]
    auc = f", AUC {sex['auc']:.3f}{fmt_ci(sex.get('auc_ci'))}" if sex.get("auc") is not None else ""
    bal = sex.get("balanced_accuracy")
    text = (
        f"Behind a real mask, the run's reader of masked faces ({chosen['attacker']}: {chosen['why']}) reads sex "
        f"correctly {fmt_pct_ci(sex.get('accuracy'), sex.get('ci'))} of {e.get('n', '?')} photos of people wearing "
        "their own masks"
        + (f", balanced {fmt_pct_ci(bal, sex.get('balanced_ci'))}" if bal is not None else "")
        + f"{auc} ({real.get('population', 'a different population')}; {_unseen(e)})."
    )
    if "race" in e:
        text += f" Race: {fmt_pct_ci(e['race'].get('accuracy'), e['race'].get('ci'))}."
    return text


def _unseen(entry: Mapping) -> str:
    """Why a real-mask figure reads people its model never saw: they were never trained on, or (the
    shipped reader having learnt from them) each photo was read by the fold model without its person."""
    cv = entry.get("cross_validated")
    if isinstance(cv, Mapping):
        return (
            f"cross-validated: the reader also learnt from these people, so each photo was read by the one of "
            f"{cv.get('k')} person-disjoint fold models that never saw its person"
        )
    return "none of these people was trained on"


def trained_on(attacker: str, condition: str) -> str:
    """What an attacker learnt from, from its name (the report's attackers table)."""
    if attacker.startswith("ensemble"):
        return "the other attackers' outputs on the validation faces"
    base = "dlib's descriptor + heads on UTKFace" if attacker.startswith("dlib") else "UTKFace"
    if attacker.endswith("_real"):
        return f"{base} + random drawn masks + real masked photos"
    if attacker.endswith("_robust"):
        return f"{base} + random drawn masks"
    return f"{base} + the paper's mask a" if condition == "masked" else f"{base}, bare faces"


STYLE_COLUMNS = ("style", "attacker", "sex acc", "race acc", "age bucket acc", "age MAE", "PVI", "PVI reduction")


ANSWER_STYLE = {"a": "masked", "bare": "unmasked"}  # the style rows whose faces the answer's attackers read


def _answer_name(side: Mapping[str, dict]) -> str:
    """``the answer: dlib`` or, when the attributes have different attackers, ``the answer: sex dlib, ...``."""
    return "the answer: " + _answer_attackers(side)


def _answer_attackers(side: Mapping[str, dict]) -> str:
    names = {t: side[t]["attacker"] for t in ANSWER_TASKS}
    if len(set(names.values())) == 1:
        return names["sex"]
    return ", ".join(f"{t} {a}" for t, a in names.items())


def _answer_rows(res: Mapping, style: str) -> list[list[str]]:
    """The answer's row of style ``a`` (masked) or ``bare`` (unmasked): the strongest attacker per
    attribute and the PVI, copied from results.json ``strongest`` and ``pvi`` (the verdict's figures)."""
    cond = ANSWER_STYLE.get(style)
    side = answer_side(res, cond) if cond else None
    if side is None:
        return []
    pvi = res.get("pvi") or {}
    ok = pvi.get(cond) is not None and not answer_problems(res.get("strongest") or {}, pvi)
    reduction = pvi.get("reduction") if cond == "masked" else None
    return [
        [
            style,
            _answer_name(side),
            *(fmt_pct_ci(side[t]["accuracy"], side[t].get("accuracy_ci")) for t in CLASS_TASKS),
            f"{side['age']['mae']:.2f}{fmt_ci(side['age'].get('mae_ci'))}",
            f"{pvi[cond]:.3f}{fmt_ci(pvi.get(cond + '_ci'))}" if ok else NOT_RUN,
            fmt_pct_ci(reduction, pvi.get("reduction_ci")) if ok and reduction is not None else "-",
        ]
    ]


def _styles_headline(res: Mapping) -> str:
    m = answer_side(res, "masked")
    if m is None:
        return ""
    return (
        f"The first row of a and of bare is the answer ({_answer_attackers(m)} on masked faces; the strongest attacker "
        "per attribute, chosen on validation, as in the verdict and the PVI); the other rows are the CNN "
        "attackers, the only ones run on every style, and row a's cnn_masked is the paper-style CNN."
    )


def _realmask_rows(real: object, out: list[Block]) -> list[list[str]]:
    """The "real masks" rows of the protection-by-style table from RUN/realmask.json's content (a note
    is appended to ``out`` when the file is unreadable; no rows when there is none)."""
    rows: list[list[str]] = []
    if isinstance(real, Mapping) and real.get("error"):
        out.append(Block("note", str(real["error"])))
    elif isinstance(real, Mapping):
        label = f"real masks ({real.get('population') or 'realmask-dev'}; different population)"
        for a, c in sorted((real.get("attackers") or {}).items()):

            def acc(t: str) -> str:
                d = c.get(t) or {}
                v = fmt_pct_ci(d.get("accuracy"), d.get("ci"))
                if d.get("balanced_accuracy") is None:
                    return v
                per = per_class_text(d.get("per_class") or {}, lambda v: fmt_pct(v, 1))
                auc = f"; AUC {d['auc']:.3f}{fmt_ci(d.get('auc_ci'))}" if d.get("auc") is not None else ""
                return v + f" (balanced {fmt_pct(d['balanced_accuracy'], 1)}{auc}" + (f"; {per})" if per else ")")

            cv = c.get("cross_validated")
            how = f", out of {cv.get('k')} person folds" if isinstance(cv, Mapping) else ""
            rows.append([label, f"{a}{how} (n={c.get('n', '?')})", acc("sex"), acc("race"), "-", "-", "-", "-"])
    return rows


def _framing_note(real: object) -> list[Block]:
    """The "real masks" rows again, per framing bucket (RUN/realmask.json's ``framing``): a close-up that
    ends at the forehead and chin is read differently from a photo with hair and head outline in frame,
    so the reader sees which kind of photo each figure rests on."""
    attackers = (real.get("attackers") or {}) if isinstance(real, Mapping) else {}
    framed = {a: c["framing"] for a, c in sorted(attackers.items()) if isinstance(c.get("framing"), Mapping)}
    if not framed:
        return []
    b = real.get("framing_buckets") or {}
    words = ", ".join(f"{k} {v}" for k, v in b.items() if k != "measure")
    buckets = ("none", "some", "most")
    rows = [
        [a] + [framing_figures(f.get(k) or {}, lambda v: fmt_pct(v, 1)) for k in buckets] for a, f in framed.items()
    ]
    return [
        paragraph(
            f"The real-mask rows by framing ({b.get('measure', 'share of the aligned face beyond the photo')}"
            + (f": {words}" if words else "")
            + "). The attackers learned on crops with hair and head outline in frame."
        ),
        table_block(["attacker", *FRAMINGS], rows),
    ]


def _mask_check_note(real: object) -> list[Block]:
    """One paragraph: how well each masked-or-bare check told the real masks from the bare photos."""
    checks = ((real.get("mask_check") or {}).get("checks") or {}) if isinstance(real, Mapping) else {}
    if not checks:
        return []
    from maskprivacy.analysis.mask_decision import decision_counts

    parts = [
        f"{m.get('what', name)}: {fmt_pct(m['accuracy'], 1)} right ({decision_counts(m)})" for name, m in checks.items()
    ]
    return [
        paragraph(
            "Masked or bare? On the same real photos, unlabelled, the check that routes each face decides: "
            + "; ".join(parts)
            + "."
        )
    ]


def _sec_styles(run: Path, res: dict) -> list[Block]:
    out = [heading(2, "Protection by mask style")]
    st = res.get("styles")
    if not st:  # the real masks may have been read without the styles stage: show them all the same
        from maskprivacy.privacy.by_style import read_realmask

        out.append(paragraph(f"{NOT_RUN} (reproduce stage `styles`)."))
        real = read_realmask(run)
        rows = _realmask_rows(real, out)
        table = [table_block(list(STYLE_COLUMNS), rows)] if rows else []
        return out + table + _framing_note(real) + _mask_check_note(real)
    lvl = f"{100 * float(st.get('ci_level', 0.95)):.0f}%"
    out.append(
        paragraph(
            f"Every CNN attacker on the same {st.get('n_test', '?')} test faces ({st.get('split')} split, cached at "
            f"the training size) wearing each mask style, drawn from the face's key points with a fixed seed "
            f"({st.get('seed')}); row a is the paper's mask exactly as the masked attacker is tested on it. Accuracy "
            f"[{lvl} bootstrap interval, {st.get('n_boot')} paired resamples]; PVI reduction against the unmasked "
            f"attacker on bare faces. {_styles_headline(res)} '(highest PVI)' marks the CNN with the highest PVI on "
            f"that style, chosen on the test faces (the worst case among the CNNs for the wearer). Sorted from best "
            f"to worst protection, then no mask (bare). Best: {st.get('best')}; worst: {st.get('worst')}."
        )
    )
    rows_ = st.get("styles") or {}
    order = sorted(
        (s_ for s_ in rows_ if s_ != "bare"), key=lambda s: rows_[s]["attackers"][rows_[s]["strongest"]]["pvi"]
    )
    order += ["bare"] if "bare" in rows_ else []  # no mask: the reference, last
    rows = []
    for s_ in order:
        r = rows_[s_]
        rows += _answer_rows(res, s_)
        for a, c in sorted(r["attackers"].items()):
            rows.append(
                [
                    s_,
                    a + (" (highest PVI)" if a == r["strongest"] else ""),
                    fmt_pct_ci(c["sex"]["accuracy"], c["sex"]["ci"]),
                    fmt_pct_ci(c["race"]["accuracy"], c["race"]["ci"]),
                    fmt_pct_ci(c["age_bucket"]["accuracy"], c["age_bucket"]["ci"]),
                    f"{c['age']['mae']:.2f}{fmt_ci(c['age']['ci'])}",
                    f"{c['pvi']:.3f}{fmt_ci(c.get('pvi_ci'))}",
                    NOT_RUN if c.get("reduction") is None else fmt_pct_ci(c["reduction"], c.get("reduction_ci")),
                ]
            )
    rows += _realmask_rows(st.get("realmask"), out)
    out.append(table_block(list(STYLE_COLUMNS), rows))
    out += _framing_note(st.get("realmask"))
    out += _mask_check_note(st.get("realmask"))
    desc = [[s_, rows_[s_].get("description", "")] for s_ in order]
    out.append(Block("details", "what each style is", children=(table_block(["style", "description"], desc),)))
    fig = run / FIGURES["styles"]
    if fig.is_file():
        out.append(image_block(fig, "PVI per mask style and attacker (best-protecting first)"))
    return out


def _sec_per_class(metrics: dict, main: str) -> list[Block]:
    out = [heading(2, "Per-class accuracy, masked faces, uniform split")]
    m = metrics.get((main, "masked", "uniform"))
    u = metrics.get((main, "unmasked", "uniform"))
    rows = []
    for task, names in CLASS_NAMES.items():
        for name in names:

            def pc(x):
                v = ((x or {}).get(task) or {}).get("per_class", {}).get(name)
                return fmt_pct(v, 1) if v is not None else NOT_RUN

            rows.append([task, name, fmt_pct(PAPER_PER_CLASS_UNIFORM[task][name], 1), pc(m), pc(u)])
    return out + [table_block(["task", "class", "paper (masked)", "this run: masked", "this run: unmasked"], rows)]


def _confusion_table(matrix: list[list[float]], names: tuple[str, ...]) -> Block:
    rows = [[f"true {names[i]}", *[str(int(v)) for v in r]] for i, r in enumerate(matrix)]
    return table_block(["", *[f"pred {n}" for n in names]], rows)


def _sec_confusion(attackers: list[AttackerDir], metrics: dict) -> list[Block]:
    out = [heading(2, "Confusion matrices")]
    if not attackers:
        return out + [paragraph(f"{NOT_RUN}.")]
    for a in attackers:
        m = metrics.get(a.key, {})
        inner: list[Block] = []
        for task, names in CLASS_NAMES.items():
            png = a.files.confusion_png(task)
            conf = (m.get(task) or {}).get("confusion")
            if png.is_file():
                inner.append(image_block(png, f"{task}"))
            elif conf:
                inner += [heading(4, task), _confusion_table(conf, names)]
            else:
                inner.append(paragraph(f"{task}: {NOT_RUN}"))
        out.append(Block("details", f"{a.attacker}, {a.test_faces}, {a.split} split", children=tuple(inner)))
    return out


def _sec_breakdown(metrics: dict, main: str) -> list[Block]:
    out = [heading(2, "Breakdown by sex x race x age bucket (uniform split)")]
    m = metrics.get((main, "masked", "uniform"), {}).get("breakdown") or []
    u = metrics.get((main, "unmasked", "uniform"), {}).get("breakdown") or []
    if not m and not u:
        return out + [paragraph(f"{NOT_RUN}.")]
    key = lambda r: (str(r["sex"]), str(r["race"]), str(r["age_bucket"]))  # noqa: E731
    mm, uu = {key(r): r for r in m}, {key(r): r for r in u}
    order = {n: i for i, n in enumerate((*SEX_NAMES, *RACE_NAMES, *AGE_BUCKET_NAMES))}
    keys = sorted(set(mm) | set(uu), key=lambda k: tuple(order.get(x, 99) for x in k))
    rows = []
    for k in keys:
        a, b = mm.get(k), uu.get(k)
        n = (a or b)["n"]

        def pair(field: str, pct: bool) -> str:
            f = (lambda r: fmt_pct(r.get(field), 1)) if pct else (lambda r: fmt_num(r.get(field), 1))
            return f"{f(a) if a else NOT_RUN} / {f(b) if b else NOT_RUN}"

        rows.append(
            [
                *k,
                str(n),
                pair("sex_acc", True),
                pair("race_acc", True),
                pair("age_bucket_acc", True),
                pair("age_mae", False),
            ]
        )
    table = table_block(
        ["sex", "race", "age bucket", "n", "sex acc (masked / unmasked)", "race acc", "age bucket acc", "age MAE"], rows
    )
    return out + [Block("details", f"{len(rows)} cells (masked / unmasked)", children=(table,))]


def _split_counts(run: Path) -> list[list[str]]:
    from maskprivacy.training.splits import counts, read_split

    rows = []
    for s in SPLITS:
        p = RunLayout(run).split_csv(s)
        if not p.is_file():
            rows.append([s, NOT_RUN, NOT_RUN, NOT_RUN])
            continue
        c = counts(read_split(p))
        rows.append([s, *(str(c[part]) for part in PARTS)])
    return rows


def _sec_dataset(run: Path, res: dict) -> list[Block]:
    out = [heading(2, "Dataset")]
    ds = res.get("dataset")
    if isinstance(ds, Mapping) and ds:
        out.append(
            table_block(
                ["", "value"], [[k, json.dumps(v) if isinstance(v, (dict, list)) else str(v)] for k, v in ds.items()]
            )
        )
    out.append(table_block(["split", "train", "val", "test"], _split_counts(run)))
    fig = run / FIGURES["distributions"]
    out.append(
        image_block(fig, "Age distribution; race by sex")
        if fig.is_file()
        else paragraph(f"Distributions figure: {NOT_RUN}.")
    )
    out.append(heading(2, "Pipeline"))
    fig = run / FIGURES["pipeline"]
    out.append(
        image_block(fig, "Original, localisation, key points, digital mask")
        if fig.is_file()
        else paragraph(f"Pipeline figure: {NOT_RUN}.")
    )
    return out


def _sec_wall_time(res: dict) -> list[Block]:
    out = [heading(2, "Wall time")]
    stages = res.get("stages") or {}
    if stages:
        rows = [[k, fmt_num((v or {}).get("wall_s"), 1)] for k, v in stages.items()]
        total = sum(float((v or {}).get("wall_s") or 0) for v in stages.values())
        rows.append(["total", f"{total:.1f}"])
        out.append(table_block(["stage", "seconds"], rows))
    else:
        out.append(paragraph(f"Pipeline stages: {NOT_RUN} (no timings recorded)."))
    arows = []
    for a, conds in sorted((res.get("attackers") or {}).items()):
        for c, splits in conds.items():
            for s, e in splits.items():
                for stage, sec in (e.get("wall_s") or {}).items():
                    arows.append([a, c, s, stage, fmt_num(sec, 1)])
    if arows:
        out += [heading(3, "Per attacker"), table_block(["attacker", "condition", "split", "stage", "seconds"], arows)]
    return out


def header_blocks(run: Path, res: dict, metrics: dict) -> list[Block]:
    first = next(iter(metrics.values()), {})
    facts = [f"Run: `{run}`", f"generated {res.get('generated_at', '')}"]
    # A resumed run may hold attackers trained at different commits: name every one, in first-seen order.
    commits = list(dict.fromkeys(str(m["commit"]) for m in metrics.values() if m.get("commit")))
    if commits:
        facts.append(("commit: " if len(commits) == 1 else "commits: ") + ", ".join(commits))
    if first.get("machine"):
        v = first["machine"]
        facts.append("machine: " + (machine_line(v) if isinstance(v, Mapping) else str(v)))
    profile = (first.get("config") or {}).get("profile") or res.get("profile")
    if profile:
        facts.append(f"profile: {profile}")
    out = [heading(1, "Does a face mask protect my privacy? - run report"), paragraph(" · ".join(facts))]
    out += [Block("note", p) for p in res.get("problems") or []]
    return out


def build_blocks(run: str | os.PathLike, results: dict | None = None) -> list[Block]:
    """The whole report as blocks; ``results`` defaults to RUN/results.json (or a fresh build)."""
    run = Path(run)
    res = results or read_json(RunLayout(run).results_json) or build_results(run)
    attackers, metrics, _ = load_attackers(run)
    main = res.get("main_attacker", DEFAULT_ATTACKER)
    blocks = header_blocks(run, res, metrics)
    blocks += _sec_answer(res)
    blocks += _sec_results(res)
    blocks += _sec_masked_vs_unmasked(res)
    blocks += _sec_pvi(run, res)
    blocks += _sec_styles(run, res)
    blocks += protection_blocks(run, res)
    blocks += _sec_attackers(res)
    blocks += _sec_seeds(res)
    blocks += _sec_per_class(metrics, main)
    blocks += _sec_confusion(attackers, metrics)
    blocks += _sec_breakdown(metrics, main)
    blocks += _sec_dataset(run, res)
    blocks += _sec_wall_time(res)
    return blocks
