"""Survey: validation names the bad rows, statistics match SciPy, the synthetic example is reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from maskprivacy.privacy.survey import (
    REQUIRED,
    SurveyError,
    analyze,
    importance_weights,
    parse_survey,
    rank_biserial,
    read_survey,
    wilcoxon_method,
)
from maskprivacy.privacy.survey_example import example_csv

REPO = Path(__file__).resolve().parents[4]
EXAMPLE = REPO / "examples" / "survey" / "synthetic_example.csv"
HEADER = ",".join(REQUIRED)


def _csv(rows: list[str], header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def test_parse_valid_file_with_comments_and_demographics():
    text = "# a comment\n" + _csv(["r1,2,4,1,2,3,18-24", "r2,3,3,5,5,5,", "r3,1,2,,4,4,55+"], HEADER + ",age_group")
    s = parse_survey(text)
    assert s.ids == ["r1", "r2", "r3"] and s.lines == [3, 4, 5]
    np.testing.assert_array_equal(s.with_mask - s.without, [2, 0, 1])
    assert np.isnan(s.importance["sex"][2])
    assert s.demographics == {"age_group": ["18-24", "", "55+"]}
    assert not s.synthetic
    w = importance_weights(s)
    means = {"sex": 3.0, "race": 11 / 3, "age": 4.0}
    assert w == pytest.approx({a: m / sum(means.values()) for a, m in means.items()})
    assert sum(w.values()) == pytest.approx(1.0)


def test_missing_column_is_named():
    with pytest.raises(SurveyError, match="missing column.*privacy_with_mask"):
        parse_survey("respondent_id,privacy_without_mask,importance_sex,importance_race,importance_age\nr1,1,1,1,1\n")


def test_every_bad_row_is_reported_with_its_line_and_id():
    text = _csv(
        [
            "r1,2,4,1,2,3",  # line 2 fine
            "r2,6,4,1,2,3",  # line 3 out of range
            "r3,2,abc,1,2,3",  # line 4 not a number
            "r4,2,,1,2,3",  # line 5 unpaired
            "r1,2,3,1,2,3",  # line 6 duplicate of line 2
            "r6,2.5,3,1,2,3",  # line 7 not whole
            "r7,2,3,1,2",  # line 8 wrong field count
            ",2,3,1,2,3",  # line 9 blank id
        ]
    )
    with pytest.raises(SurveyError) as e:
        parse_survey(text, "s.csv")
    msg = str(e.value)
    assert "7 problem(s)" in msg
    assert "line 3 (respondent_id 'r2'): privacy_without_mask: '6' is outside 1-5" in msg
    assert "line 4 (respondent_id 'r3'): privacy_with_mask: 'abc' is not a number" in msg
    assert "line 5 (respondent_id 'r4'): unpaired answer, privacy_with_mask is blank" in msg
    assert "line 6 (respondent_id 'r1'): duplicate respondent_id, first on line 2" in msg
    assert "line 7 (respondent_id 'r6'): privacy_without_mask: '2.5' is not a whole number" in msg
    assert "line 8: 5 fields, the header has 6" in msg
    assert "line 9: respondent_id is blank" in msg


def test_both_privacy_answers_blank_drops_the_row_with_a_note():
    s = parse_survey(_csv(["r1,2,4,1,2,3", "r2,,,1,2,3", "r3,1,1,1,1,1"]))
    assert s.ids == ["r1", "r3"] and "line 3" in s.dropped[0]


def test_statistics_match_scipy_on_a_constructed_case():
    without = np.array([1, 2, 2, 3, 3, 3, 4, 2, 1, 5, 3, 2, 4, 1, 2, 3, 2, 1, 3, 4])
    with_ = np.array([3, 3, 2, 4, 5, 3, 4, 4, 2, 4, 4, 3, 5, 3, 2, 5, 3, 1, 4, 4])
    rows = [f"p{i},{a},{b},3,3,3" for i, (a, b) in enumerate(zip(without, with_))]
    r = analyze(parse_survey(_csv(rows)))
    d = with_ - without
    assert wilcoxon_method(d) == "asymptotic"  # ties and zeros
    w = stats.wilcoxon(d, method="asymptotic")
    assert r["wilcoxon"]["p_two_sided"] == pytest.approx(w.pvalue, rel=1e-12)
    assert r["wilcoxon"]["statistic"] == w.statistic
    assert r["wilcoxon"]["p_greater"] == pytest.approx(
        stats.wilcoxon(d, method="asymptotic", alternative="greater").pvalue
    )
    t = stats.ttest_rel(with_, without)
    assert r["ttest"]["p_two_sided"] == pytest.approx(t.pvalue, rel=1e-12)
    assert r["ttest"]["statistic"] == pytest.approx(t.statistic)
    assert r["ttest"]["cohens_dz"] == pytest.approx(d.mean() / d.std(ddof=1))
    lo, hi = r["ttest"]["mean_difference_ci95"]
    assert lo < d.mean() < hi
    assert r["share_more_private"] == pytest.approx(np.mean(d > 0))
    assert r["share_equal"] == pytest.approx(np.mean(d == 0))
    assert r["share_less_private"] == pytest.approx(np.mean(d < 0))
    assert r["share_more_private"] + r["share_equal"] + r["share_less_private"] == pytest.approx(1.0)


def test_rank_biserial_by_hand_and_exact_method():
    # differences 1, 2, -3: ranks 1, 2, 3 -> (1 + 2 - 3) / 6 = 0
    assert rank_biserial(np.array([1, 2, -3, 0])) == pytest.approx(0.0)
    assert rank_biserial(np.array([1, 2, 3])) == pytest.approx(1.0)
    assert rank_biserial(np.array([-1, -2])) == pytest.approx(-1.0)
    assert rank_biserial(np.array([0, 0])) is None
    d = np.array([1, 2, 3, 4, 5, -6, 7, 8])  # no ties, no zeros: exact
    assert wilcoxon_method(d) == "exact"


def test_no_change_at_all_is_reported_not_crashed():
    r = analyze(parse_survey(_csv(["a,3,3,1,1,1", "b,2,2,1,1,1"])))
    assert r["wilcoxon"] is None and r["ttest"] is None and r["share_equal"] == 1.0


def test_no_importance_answers_keeps_the_tests_and_explains_the_weights():
    r = analyze(parse_survey(_csv(["a,1,3,,1,1", "b,2,3,,1,1", "c,2,4,,2,2"])))
    assert r["weights"] is None and "importance of sex" in r["weights_error"]
    assert r["ttest"] is not None


def test_example_is_seeded_and_labelled_synthetic():
    a, b, c = example_csv(50, 1), example_csv(50, 1), example_csv(50, 2)
    assert a == b and a != c
    assert a.startswith("# SYNTHETIC EXAMPLE SURVEY")
    s = parse_survey(a)
    assert s.synthetic and len(s.ids) == 50 and all(i.startswith("synthetic-") for i in s.ids)
    assert analyze(s)["synthetic"] is True


def test_committed_example_regenerates_to_identical_bytes():
    assert EXAMPLE.is_file(), f"{EXAMPLE} missing: maskprivacy survey example --n 200 --seed 0 --out {EXAMPLE}"
    assert EXAMPLE.read_bytes() == example_csv(200, 0).encode("utf-8")
    assert read_survey(EXAMPLE).synthetic


def test_read_survey_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="survey file not found"):
        read_survey(tmp_path / "none.csv")
    p = tmp_path / "latin1.csv"
    p.write_bytes(HEADER.encode() + b"\n\xe9t\xe9,1,2,3,4,5\n")
    with pytest.raises(SurveyError, match="not UTF-8"):
        read_survey(p)
    p.write_text("# only a comment\n")
    with pytest.raises(SurveyError, match="no header"):
        read_survey(p)
