"""Perceived-privacy survey: CSV schema, validation, paired statistics, and a SYNTHETIC example generator.

The paper surveyed people on how private they feel with and without a face mask and how much they
care about each attribute; its data are not public (it reports P = 0.00964 and that about half
believed a mask makes them more private). This module lets a researcher run the same analysis on
their own survey, and turns the importance ratings into PVI weights.

CSV schema (one respondent per line; lines starting with ``#`` are comments; docs/SURVEY.md):

==========================  ========  =====================================================
column                      required  meaning
==========================  ========  =====================================================
respondent_id               yes       unique per row (any text)
privacy_without_mask        yes       1-5 Likert: "my face reveals ..." privacy felt unmasked
privacy_with_mask           yes       1-5 Likert: the same question, wearing a mask
importance_sex              yes       1-5 Likert: how important keeping your sex private is
importance_race             yes       1-5 Likert: the same for race/ethnicity
importance_age              yes       1-5 Likert: the same for age
age_group, gender, country  no        demographics, free text, only counted
data_source                 no        free text; ``synthetic`` marks generated example data
==========================  ========  =====================================================

Likert: 1 = not at all private/important ... 5 = completely private/very important, whole numbers.
Blank importance answers are allowed (that attribute's mean uses who answered); a row with exactly
one of the two privacy answers blank is unpaired and is an error, both blank drops the row.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.stats import rankdata

ID = "respondent_id"
WITHOUT, WITH = "privacy_without_mask", "privacy_with_mask"
IMPORTANCE = {"sex": "importance_sex", "race": "importance_race", "age": "importance_age"}
REQUIRED = (ID, WITHOUT, WITH, *IMPORTANCE.values())
DEMOGRAPHICS = ("age_group", "gender", "country")
SOURCE = "data_source"
LIKERT = (1, 5)
MAX_LISTED = 20


class SurveyError(ValueError):
    """Invalid survey file; the message lists every bad line (up to :data:`MAX_LISTED`)."""


@dataclass
class Survey:
    ids: list[str]
    lines: list[int]
    without: np.ndarray
    with_mask: np.ndarray
    importance: dict[str, np.ndarray]  # NaN where blank
    demographics: dict[str, list[str]] = field(default_factory=dict)
    synthetic: bool = False
    dropped: list[str] = field(default_factory=list)  # notes on rows left out


def _likert(value: str) -> int | None:
    """Whole number within the Likert range, None if blank; ValueError with the reason otherwise."""
    v = value.strip()
    if v == "":
        return None
    try:
        x = float(v)
    except ValueError:
        raise ValueError(f"{v!r} is not a number") from None
    if not np.isfinite(x) or x != int(x):
        raise ValueError(f"{v!r} is not a whole number")
    if not LIKERT[0] <= x <= LIKERT[1]:
        raise ValueError(f"{v!r} is outside {LIKERT[0]}-{LIKERT[1]}")
    return int(x)


def _problems(problems: list[str], what: str) -> SurveyError:
    shown = problems[:MAX_LISTED]
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return SurveyError(f"{what}: {len(problems)} problem(s)\n  " + "\n  ".join(shown) + more)


def parse_survey(text: str, source: str = "survey") -> Survey:
    """Validate and parse survey CSV text; every problem is reported with its line number."""
    rows: list[tuple[int, list[str]]] = []
    comments: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            comments.append(line)
            continue
        if not line.strip():
            continue
        rows.append((lineno, next(csv.reader(io.StringIO(line)))))
    if not rows:
        raise SurveyError(f"{source}: no header line (expected columns: {', '.join(REQUIRED)})")
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SurveyError(
            f"{source}: missing column(s) {', '.join(missing)} in the header (line {header_line}); "
            f"required: {', '.join(REQUIRED)}"
        )
    dup_cols = sorted({h for h in header if header.count(h) > 1})
    if dup_cols:
        raise SurveyError(f"{source}: column(s) {', '.join(dup_cols)} appear more than once in the header")
    col = {h: i for i, h in enumerate(header)}

    problems: list[str] = []
    seen: dict[str, int] = {}
    ids, lines, wo, wi, dropped = [], [], [], [], []
    imp: dict[str, list[float]] = {a: [] for a in IMPORTANCE}
    demo: dict[str, list[str]] = {d: [] for d in DEMOGRAPHICS if d in col}
    sources: list[str] = []
    for lineno, cells in rows[1:]:
        if len(cells) != len(header):
            problems.append(f"line {lineno}: {len(cells)} fields, the header has {len(header)}")
            continue
        rid = cells[col[ID]].strip()
        where = f"line {lineno} (respondent_id {rid!r})" if rid else f"line {lineno}"
        if not rid:
            problems.append(f"{where}: respondent_id is blank")
        elif rid in seen:
            problems.append(f"{where}: duplicate respondent_id, first on line {seen[rid]}")
        else:
            seen[rid] = lineno
        values: dict[str, int | None] = {}
        for c in REQUIRED[1:]:
            try:
                values[c] = _likert(cells[col[c]])
            except ValueError as e:
                problems.append(f"{where}: {c}: {e}")
                values[c] = -1  # marks the row bad without a second message
        a, b = values[WITHOUT], values[WITH]
        if (a is None) != (b is None):
            blank = WITHOUT if a is None else WITH
            problems.append(f"{where}: unpaired answer, {blank} is blank")
            continue
        if a is None and b is None:
            dropped.append(f"{where}: both privacy answers blank, row left out")
            continue
        if any(v == -1 for v in values.values()):
            continue
        ids.append(rid)
        lines.append(lineno)
        wo.append(a)
        wi.append(b)
        for attr, c in IMPORTANCE.items():
            imp[attr].append(np.nan if values[c] is None else float(values[c]))
        for d in demo:
            demo[d].append(cells[col[d]].strip())
        if SOURCE in col:
            sources.append(cells[col[SOURCE]].strip().lower())
    if problems:
        raise _problems(problems, source)
    if not ids:
        raise SurveyError(f"{source}: no answered rows")
    synthetic = (bool(sources) and all(s == "synthetic" for s in sources)) or any(
        "SYNTHETIC" in c.upper() for c in comments
    )
    return Survey(
        ids,
        lines,
        np.array(wo, float),
        np.array(wi, float),
        {a: np.array(v) for a, v in imp.items()},
        demo,
        synthetic,
        dropped,
    )


def read_survey(path: str | os.PathLike) -> Survey:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"survey file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise SurveyError(f"{path}: not UTF-8 text ({e}); export the survey as CSV UTF-8") from None
    return parse_survey(text, str(path))


# ---------------------------------------------------------------- statistics


def rank_biserial(d: np.ndarray) -> float | None:
    """Matched-pairs rank-biserial correlation: (R+ - R-) / (R+ + R-), ranks of |d| over the non-zero
    differences (zeros dropped, as the Wilcoxon default). +1: every change is an increase."""
    nz = d[d != 0]
    if nz.size == 0:
        return None
    r = rankdata(np.abs(nz))
    return float((r[nz > 0].sum() - r[nz < 0].sum()) / r.sum())


def wilcoxon_method(d: np.ndarray) -> str:
    """``exact`` for small samples without zeros or ties, else the normal approximation with tie
    correction. Fixed explicitly so results do not depend on SciPy's random permutation fallback."""
    nz = d[d != 0]
    return "exact" if nz.size <= 50 and nz.size == d.size and np.unique(np.abs(nz)).size == nz.size else "asymptotic"


def analyze(s: Survey) -> dict:
    """Paired tests of with-mask vs without-mask privacy, effect sizes, shares and PVI weights."""
    d = s.with_mask - s.without
    n = int(d.size)
    out: dict = {
        "n": n,
        "synthetic": s.synthetic,
        "dropped": s.dropped,
        "mean_without": float(s.without.mean()),
        "mean_with": float(s.with_mask.mean()),
        "median_without": float(np.median(s.without)),
        "median_with": float(np.median(s.with_mask)),
        "mean_difference": float(d.mean()),
        "share_more_private": float(np.mean(d > 0)),
        "share_equal": float(np.mean(d == 0)),
        "share_less_private": float(np.mean(d < 0)),
    }
    if np.any(d != 0):
        method = wilcoxon_method(d)
        w2 = stats.wilcoxon(d, method=method)
        w1 = stats.wilcoxon(d, method=method, alternative="greater")
        out["wilcoxon"] = {
            "statistic": float(w2.statistic),
            "p_two_sided": float(w2.pvalue),
            "p_greater": float(w1.pvalue),
            "method": method,
            "zero_method": "wilcox",
            "n_nonzero": int(np.count_nonzero(d)),
            "rank_biserial": rank_biserial(d),
        }
    else:
        out["wilcoxon"] = None  # no one changed their answer: nothing to test
    sd = float(d.std(ddof=1)) if n > 1 else 0.0
    if n > 1 and sd > 0:
        t2 = stats.ttest_rel(s.with_mask, s.without)
        t1 = stats.ttest_rel(s.with_mask, s.without, alternative="greater")
        half = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n))
        out["ttest"] = {
            "statistic": float(t2.statistic),
            "df": n - 1,
            "p_two_sided": float(t2.pvalue),
            "p_greater": float(t1.pvalue),
            "cohens_dz": float(d.mean() / sd),
            "mean_difference_ci95": [float(d.mean()) - half, float(d.mean()) + half],
        }
    else:
        out["ttest"] = None
    out["importance_mean"] = {
        a: float(np.nanmean(v)) if np.isfinite(v).any() else None for a, v in s.importance.items()
    }
    out["importance_n"] = {a: int(np.isfinite(v).sum()) for a, v in s.importance.items()}
    try:
        out["weights"] = importance_weights(s)
    except SurveyError as e:  # the paired tests stand on their own
        out["weights"], out["weights_error"] = None, str(e)
    out["demographics"] = {k: dict(sorted(_count(v).items())) for k, v in s.demographics.items()}
    return out


def _count(values: list[str]) -> dict[str, int]:
    c: dict[str, int] = {}
    for v in values:
        c[v or "(blank)"] = c.get(v or "(blank)", 0) + 1
    return c


def importance_weights(s: Survey) -> dict[str, float]:
    """PVI weights: the mean importance rating of each attribute, scaled to sum to 1.

    Plain means rather than (rating - 1): a 1 is the lowest answer offered, not a claim that the
    attribute is worth nothing, and the weights stay defined when everyone answers 1.
    """
    means = {}
    for a, v in s.importance.items():
        if not np.isfinite(v).any():
            raise SurveyError(f"no respondent rated the importance of {a}; cannot derive weights")
        means[a] = float(np.nanmean(v))
    total = sum(means.values())
    return {a: m / total for a, m in means.items()}


def weights_from_file(path: str | os.PathLike) -> dict[str, float]:
    return importance_weights(read_survey(path))


SYNTHETIC_WARNING = (
    "SYNTHETIC data: generated by `maskprivacy survey example`, not answers from real people "
    "and not the paper's survey (which is not public)"
)


def format_analysis(r: dict, source: str) -> str:
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    lines = []
    if r["synthetic"]:
        lines += [f"*** {SYNTHETIC_WARNING} ***", ""]
    lines += [f"survey: {source}", f"respondents analysed: {r['n']}"]
    lines += [f"  note: {x}" for x in r["dropped"]]
    lines += [
        "",
        f"perceived privacy (1-5)   without mask: mean {r['mean_without']:.2f}, median {r['median_without']:.1f}   "
        f"with mask: mean {r['mean_with']:.2f}, median {r['median_with']:.1f}",
        f"rate the mask as more private: {pct(r['share_more_private'])}   equal: {pct(r['share_equal'])}   "
        f"less private: {pct(r['share_less_private'])}",
        "",
    ]
    w = r["wilcoxon"]
    if w is None:
        lines.append("Wilcoxon signed-rank: not defined (every respondent gave the same answer twice)")
    else:
        lines.append(
            f"Wilcoxon signed-rank (with vs without, {w['n_nonzero']} non-zero differences, {w['method']}): "
            f"W = {w['statistic']:.1f}, p = {w['p_two_sided']:.3g} (two-sided), {w['p_greater']:.3g} (with > without); "
            f"rank-biserial r = {w['rank_biserial']:.3f}"
        )
    t = r["ttest"]
    if t is None:
        lines.append("paired t-test: not defined (the differences do not vary)")
    else:
        lo, hi = t["mean_difference_ci95"]
        lines.append(
            f"paired t-test: t({t['df']}) = {t['statistic']:.3f}, p = {t['p_two_sided']:.3g} (two-sided), "
            f"{t['p_greater']:.3g} (with > without); Cohen's d_z = {t['cohens_dz']:.3f}; "
            f"mean difference {r['mean_difference']:.3f} [95% CI {lo:.3f}, {hi:.3f}]"
        )
    lines += [
        "",
        "importance (1-5, mean; n):  "
        + "   ".join(f"{a} {m:.2f} ({r['importance_n'][a]})" for a, m in r["importance_mean"].items() if m is not None),
        (
            "PVI weights (sum 1):        " + "   ".join(f"{a} {v:.3f}" for a, v in r["weights"].items())
            if r["weights"]
            else f"PVI weights: not available ({r.get('weights_error')})"
        ),
        "  use them with: maskprivacy privacy pvi RUN --weights-from " + source,
    ]
    for k, counts in r["demographics"].items():
        lines.append(f"{k}: " + ", ".join(f"{v} {n}" for v, n in counts.items()))
    return "\n".join(lines)
