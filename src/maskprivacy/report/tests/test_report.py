"""results.json and the report, built from a FAKE run folder made by a test fixture (no real results)."""

from __future__ import annotations

import base64
import json
import re

import pytest

from maskprivacy.cli import main as cli_main
from maskprivacy.privacy.pvi_for_run import pvi_for_run
from maskprivacy.report.blocks import NOT_RUN
from maskprivacy.report.render import render_report
from maskprivacy.report.results import build_results, strongest, write_results


@pytest.fixture()
def fake_run(tmp_path, make_fake_run):
    """TEST FIXTURE: cnn and dlib attackers, masked and unmasked, uniform split; values made up in fakerun.py."""
    return make_fake_run(tmp_path / "run")


def _metrics(run, name):
    return json.loads((run / "train" / name / "metrics.json").read_text())


def test_results_json_follows_the_contract(fake_run):
    pvi = pvi_for_run(fake_run, n_boot=200)
    path = write_results(fake_run, pvi=pvi, stages={"mask": 12.5, "pretrain": {"wall_s": 30.0, "epochs": 2}})
    res = json.loads(path.read_text())
    m = _metrics(fake_run, "masked_uniform")
    u = _metrics(fake_run, "unmasked_uniform")
    assert res["masked"]["uniform"]["sex"]["accuracy"] == m["sex"]["accuracy"]
    assert res["masked"]["uniform"]["race"]["accuracy"] == m["race"]["accuracy"]
    assert res["masked"]["uniform"]["age_bucket"]["accuracy"] == m["age_bucket"]["accuracy"]
    age = res["unmasked"]["uniform"]["age"]
    assert {k: age[k] for k in ("mae", "rmse", "attacker")} == {
        "mae": u["age"]["mae"],
        "rmse": u["age"]["rmse"],
        "attacker": "cnn",
    }
    # every figure of the paper-style row carries its interval, and the interval holds the figure
    sex = res["masked"]["uniform"]["sex"]
    assert sex["accuracy_ci"][0] <= sex["accuracy"] <= sex["accuracy_ci"][1] and sex["attacker"] == "cnn"
    assert age["mae_ci"][0] <= age["mae"] <= age["mae_ci"][1]
    assert "random" not in res["masked"]
    assert res["pvi"]["masked"] == pytest.approx(pvi.pvi("masked"))
    assert res["pvi"]["reduction"] == pytest.approx(1 - res["pvi"]["masked"] / res["pvi"]["unmasked"])
    assert res["stages"] == {"mask": {"wall_s": 12.5}, "pretrain": {"wall_s": 30.0, "epochs": 2}}
    assert set(res["attackers"]) == {"cnn", "dlib"}
    assert (
        res["attackers"]["dlib"]["masked"]["uniform"]["sex"]["accuracy"]
        == _metrics(fake_run, "dlib_masked_uniform")["sex"]["accuracy"]
    )
    # strongest attacker per attribute is the argmax over the metrics files
    for c in ("masked", "unmasked"):
        cnn, dlib = _metrics(fake_run, f"{c}_uniform"), _metrics(fake_run, f"dlib_{c}_uniform")
        best = res["strongest"][c]["uniform"]
        assert best["race"]["attacker"] == ("cnn" if cnn["race"]["accuracy"] >= dlib["race"]["accuracy"] else "dlib")
        assert best["age"]["attacker"] == ("cnn" if cnn["age"]["mae"] <= dlib["age"]["mae"] else "dlib")


def test_results_carry_intervals_and_paired_tests(fake_run):
    res = json.loads(write_results(fake_run).read_text())
    for a in ("cnn", "dlib"):
        for c in ("masked", "unmasked"):
            e = res["attackers"][a][c]["uniform"]
            for task in ("sex", "race", "age_bucket"):
                for metric in ("accuracy", "balanced_accuracy"):
                    lo, hi = e["intervals"][task][metric]
                    assert lo <= e[task][metric] <= hi
            assert e["intervals"]["age"]["mae"][0] <= e["age"]["mae"] <= e["intervals"]["age"]["mae"][1]
    assert res["masked"]["uniform"]["intervals"] == res["attackers"]["cnn"]["masked"]["uniform"]["intervals"]
    # the fixture's masked attackers flip 25-35% of labels against 10-20% unmasked: the mask "hides" it
    t = res["tests"]["masked_vs_unmasked"]["cnn"]["uniform"]
    assert t["n"] == 300
    assert t["sex"]["test"] == "McNemar exact" and t["sex"]["significant"] and t["sex"]["better"] == "b"
    assert t["age"]["test"] == "Wilcoxon signed-rank" and t["age"]["p"] < 0.05
    best = res["strongest"]["masked"]["uniform"]["sex"]
    assert {best["attacker"], best["second"]["attacker"]} == {"cnn", "dlib"}
    assert best["vs_second"]["n"] == 300 and 0 <= best["vs_second"]["p"] <= 1
    top = res["tests"]["strongest_masked_vs_unmasked"]["uniform"]["race"]
    assert top["masked"] == res["strongest"]["masked"]["uniform"]["race"]["attacker"]
    assert top["unmasked"] == res["strongest"]["unmasked"]["uniform"]["race"]["attacker"]


def test_results_keep_earlier_stages_and_pvi(fake_run):
    write_results(fake_run, pvi=pvi_for_run(fake_run, n_boot=50), stages={"mask": 1.0})
    res = json.loads(write_results(fake_run, stages={"finetune": 2.0}).read_text())
    assert res["stages"] == {"mask": {"wall_s": 1.0}, "finetune": {"wall_s": 2.0}}
    assert res["pvi"]["n_boot"] == 50


def test_strongest_picks_max_accuracy_and_min_mae():
    best = strongest(
        {"a": {"sex": {"accuracy": 0.9}, "age": {"mae": 7.0}}, "b": {"sex": {"accuracy": 0.8}, "age": {"mae": 6.0}}}
    )
    assert best["sex"]["attacker"] == "a" and best["age"]["attacker"] == "b"


def test_strongest_is_ranked_on_validation_and_reports_its_test_figure():
    entries = {
        "a": {"sex": {"accuracy": 0.90}, "age": {"mae": 6.0}, "intervals": {"sex": {"accuracy": [0.86, 0.93]}}},
        "b": {"sex": {"accuracy": 0.88}, "age": {"mae": 7.0}, "intervals": {"sex": {"accuracy": [0.84, 0.91]}}},
    }
    val = {"a": {"sex": 0.80, "age": 5.0}, "b": {"sex": 0.85, "age": 6.0}}
    best = strongest(entries, val_scores=val)
    # b wins on validation: its test figure and interval are reported, and a is named as the best on the test faces
    assert best["sex"] == {
        "attacker": "b",
        "accuracy": 0.88,
        "accuracy_ci": [0.84, 0.91],
        "of": ["a", "b"],
        "chosen_on": "validation",
        "val": 0.85,
        "best_on_test": {"attacker": "a", "accuracy": 0.90, "accuracy_ci": [0.86, 0.93], "val": 0.80},
        "second": {"attacker": "a", "accuracy": 0.90, "accuracy_ci": [0.86, 0.93], "val": 0.80},
    }
    assert best["age"]["mae_ci"] is None  # no predictions to resample: no interval, and it says so
    assert best["age"]["attacker"] == "a" and "best_on_test" not in best["age"]
    # one candidate without a validation score: every candidate is ranked on the test figures, and it says so
    partial = strongest(entries, val_scores={"b": val["b"]})
    assert partial["sex"]["attacker"] == "a" and partial["sex"]["chosen_on"] == "test" and "val" not in partial["sex"]


def test_results_rank_the_strongest_on_validation_predictions(fake_run):
    import pandas as pd

    for name, right in (("masked_uniform", False), ("dlib_masked_uniform", True)):
        d = fake_run / "train" / name
        df = pd.read_csv(d / "predictions.csv")
        df["sex_pred"] = df["sex_true"] if right else 1 - df["sex_true"]
        df.to_csv(d / "val_predictions.csv", index=False)
    res = json.loads(write_results(fake_run).read_text())
    best = res["strongest"]["masked"]["uniform"]["sex"]
    cnn, dlib = _metrics(fake_run, "masked_uniform"), _metrics(fake_run, "dlib_masked_uniform")
    assert best["chosen_on"] == "validation" and best["attacker"] == "dlib" and best["val"] == 1.0
    assert best["accuracy"] == dlib["sex"]["accuracy"] and best["second"]["val"] == 0.0
    assert cnn["sex"]["accuracy"] > dlib["sex"]["accuracy"] and best["best_on_test"]["attacker"] == "cnn"
    assert res["strongest"]["unmasked"]["uniform"]["sex"]["chosen_on"] == "test"  # no validation files there
    md = render_report(fake_run)[0].read_text()
    assert (
        "validation (100.00%); best on test: cnn" in md
        and "test faces (not every attacker has validation predictions)" in md
    )


def test_report_is_self_contained_and_complete(fake_run):
    write_results(fake_run, pvi=pvi_for_run(fake_run, n_boot=100), stages={"mask": 12.5})
    md_path, html_path = render_report(fake_run)
    md, page = md_path.read_text(), html_path.read_text()
    m = _metrics(fake_run, "masked_uniform")
    # the table beside the paper: paper value, this run's value, not-run cells
    assert "94.65%" in md and f"{100 * m['sex']['accuracy']:.2f}%" in md and NOT_RUN in md
    for section in (
        "Results beside the paper",
        "Masked vs unmasked",
        "Privacy Vulnerability Index",
        "Strongest attacker per attribute",
        "Confusion matrices",
        "Breakdown by sex x race x age",
        "Dataset",
        "Pipeline",
        "Wall time",
    ):
        assert section in md and section in page
    assert "figures/pipeline.png" in md and "2.9%" in md
    # every figure with its interval, masked vs unmasked and strongest-vs-second with a p-value
    res = json.loads((fake_run / "results.json").read_text())
    lo, hi = res["attackers"]["dlib"]["masked"]["uniform"]["intervals"]["race"]["balanced_accuracy"]
    assert f"[{100 * lo:.1f}%, {100 * hi:.1f}%]" in md
    p = res["tests"]["masked_vs_unmasked"]["cnn"]["uniform"]["sex"]["p"]
    assert "paired test" in md and "strongest vs second" in md and "Balanced accuracy" in md
    assert ("p < 0.0001" if p < 1e-4 else f"p = {p:.2g}") in md
    # offline: no external resources, every image inline
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<script" not in page and "<link" not in page
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert len(srcs) == 3 + 4 * 3  # pipeline, distributions, pvi + 3 confusion PNGs per attacker folder
    decoded = {base64.b64decode(s.split(",", 1)[1]) for s in srcs}
    assert (fake_run / "figures" / "pipeline.png").read_bytes() in decoded
    assert (fake_run / "figures" / "pvi.png").is_file()
    # breakdown: one row per cell of the masked metrics
    assert md.count("| male |") + md.count("| female |") >= len(m["breakdown"])
    assert "| mask | 12.5 |" in md


def test_missing_pieces_render_as_not_run(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    md, page = render_report(empty)
    text = md.read_text()
    assert text.count(NOT_RUN) > 10 and "PVI: not run" in text
    assert "<img" not in page.read_text()


def test_confusion_tables_when_pngs_are_missing(tmp_path, make_fake_run):
    run = make_fake_run(tmp_path / "run", attackers={("cnn", "masked"): (0.2, 5.0)}, figures=False, confusion_png=False)
    md, _ = render_report(run, draw_pvi=False)
    text = md.read_text()
    m = _metrics(run, "masked_uniform")
    assert "| true male |" in text and f"| true male | {m['sex']['confusion'][0][0]} |" in text
    assert "Distributions figure: not run" in text


def test_report_command(fake_run, capsys):
    assert cli_main(["report", str(fake_run)]) == 0
    out = capsys.readouterr().out
    assert "results.json" in out and "report.html" in out
    assert build_results(fake_run)["pvi"] is None  # nothing computed the PVI in this run


def test_header_names_every_commit_of_a_resumed_run(tmp_path):
    from maskprivacy.report.sections import header_blocks

    metrics = {
        ("cnn", "masked", "uniform"): {"commit": "aaaaaaa", "machine": "m"},
        ("cnn", "unmasked", "uniform"): {"commit": "aaaaaaa"},
        ("cnn_robust", "masked", "uniform"): {"commit": "bbbbbbb"},
    }
    text = " ".join(b.text for b in header_blocks(tmp_path, {}, metrics) if getattr(b, "text", None))
    assert "commits: aaaaaaa, bbbbbbb" in text and "machine: m" in text
    one = " ".join(
        b.text
        for b in header_blocks(tmp_path, {}, {("cnn", "masked", "uniform"): {"commit": "aaaaaaa"}})
        if getattr(b, "text", None)
    )
    assert "commit: aaaaaaa" in one and "commits" not in one


def test_seed_summary_gives_mean_and_spread_of_retrained_attackers(tmp_path, make_fake_run):
    run = make_fake_run(tmp_path / "run", seed=0)
    make_fake_run(run / "seeds" / "seed_7", seed=1, attackers={("cnn", "masked"): (0.25, 7.0)}, figures=False)
    res = json.loads(write_results(run).read_text())
    a = _metrics(run, "masked_uniform")["sex"]["accuracy"]
    b = json.loads((run / "seeds" / "seed_7" / "train" / "masked_uniform" / "metrics.json").read_text())["sex"][
        "accuracy"
    ]
    st = res["seeds"]["attackers"]["cnn"]["masked"]["uniform"]["sex"]["accuracy"]
    assert st["values"] == [a, b] and st["mean"] == pytest.approx((a + b) / 2) and st["n"] == 2
    assert st["std"] == pytest.approx(abs(a - b) / 2**0.5)
    assert res["seeds"]["runs"] == [".", "seeds/seed_7"]
    assert set(res["seeds"]["attackers"]) == {"cnn"} and set(res["seeds"]["attackers"]["cnn"]) == {"masked"}
    assert set(res["attackers"]) == {"cnn", "dlib"}  # the repeats are not attackers of the main run
    md = render_report(run)[0].read_text()
    assert "Across training seeds" in md and f"{100 * st['mean']:.2f}% ± {100 * st['std']:.2f}" in md
    assert (
        write_results(make_fake_run(tmp_path / "one"))
        and json.loads((tmp_path / "one" / "results.json").read_text())["seeds"] is None
    )


def test_real_masks_show_without_the_styles_stage(tmp_path):
    """realmask.json written (reproduce --only realmask) but no styles stage: its rows still show."""
    run = tmp_path / "run"
    run.mkdir()
    sex = {
        "accuracy": 0.75,
        "ci": [0.5, 1.0],
        "balanced_accuracy": 0.5,
        "per_class": {
            "male": {"accuracy": 1.0, "photos": 3, "people": 2},
            "female": {"accuracy": 0.0, "photos": 1, "people": 1},
        },
        "auc": 0.625,
        "auc_ci": [0.25, 1.0],
    }
    real = {"population": "realmask-dev: 4 photos", "attackers": {"cnn_robust": {"n": 4, "sex": sex}}}
    (run / "realmask.json").write_text(json.dumps(real))
    text = render_report(run, draw_pvi=False)[0].read_text()
    assert "Protection by mask style" in text and "(reproduce stage `styles`)" in text
    assert "cnn_robust (n=4)" in text and "different population" in text
    assert "balanced 50.0%; AUC 0.625 [0.250, 1.000]; male 100.0% of 3 photos / 2 people" in text


def _answer_paragraph(md: str) -> str:
    return md.split("## The answer", 1)[1].strip().split("\n\n", 1)[0]


def _dlib_wins_on_validation(run) -> None:
    """val_predictions.csv where dlib reads every validation face right and cnn none."""
    import pandas as pd

    for name, right in (
        ("masked_uniform", False),
        ("unmasked_uniform", False),
        ("dlib_masked_uniform", True),
        ("dlib_unmasked_uniform", True),
    ):
        d = run / "train" / name
        df = pd.read_csv(d / "predictions.csv")
        for t, k in (("sex", 2), ("race", 5), ("age_bucket", 7)):
            df[f"{t}_pred"] = df[f"{t}_true"] if right else (df[f"{t}_true"] + 1) % k
        df["age_pred"] = df["age_true"] + (0 if right else 30)
        df.to_csv(d / "val_predictions.csv", index=False)


def test_verdict_pvi_and_strongest_name_the_same_attacker_when_the_cnn_is_not_the_strongest(fake_run):
    """The fixture's cnn beats dlib on the test faces, but dlib reads every validation face right and
    cnn none: dlib is the answer on both sides, and the verdict, the PVI and `strongest` all say so."""
    _dlib_wins_on_validation(fake_run)
    write_results(fake_run, pvi=pvi_for_run(fake_run, n_boot=200))
    md = render_report(fake_run)[0].read_text()
    res = json.loads((fake_run / "results.json").read_text())
    dlib = {c: _metrics(fake_run, f"dlib_{c}_uniform") for c in ("masked", "unmasked")}
    cnn = _metrics(fake_run, "masked_uniform")
    assert cnn["sex"]["accuracy"] > dlib["masked"]["sex"]["accuracy"]  # the cnn is the best on the test faces
    for c in ("masked", "unmasked"):
        for t in ("sex", "race", "age_bucket", "age"):
            b = res["strongest"][c]["uniform"][t]
            assert (b["attacker"], b["chosen_on"]) == ("dlib", "validation")
            metric = "mae" if t == "age" else "accuracy"
            assert b[metric] == dlib[c][t][metric] and b[f"{metric}_ci"][0] <= b[metric] <= b[f"{metric}_ci"][1]
    # the PVI is dlib's on both sides: the same figures as asking for dlib by name
    pvi, only_dlib = res["pvi"], pvi_for_run(fake_run, attacker="dlib", n_boot=200).to_dict()
    assert pvi["attacker"] == "strongest" and pvi["paired"]
    assert {d["attacker"] for side in pvi["attributes"].values() for d in side.values()} == {"dlib"}
    for k in ("masked", "unmasked", "reduction", "masked_ci", "unmasked_ci", "reduction_ci"):
        assert pvi[k] == only_dlib[k]
    assert pvi["attributes"]["masked"]["sex"]["model"] == res["strongest"]["masked"]["uniform"]["sex"]["accuracy"]
    assert not [p for p in res["problems"] if "PVI" in p]
    # the verdict names dlib for masked sex, prints its figure, and the PVI's figures
    verdict = _answer_paragraph(md)
    sex = re.search(r"reads sex correctly ([\d.]+%) \[[^]]+\] \((\w+)\)", verdict)
    assert sex and sex.group(2) == res["strongest"]["masked"]["uniform"]["sex"]["attacker"] == "dlib"
    assert sex.group(1) == f"{100 * dlib['masked']['sex']['accuracy']:.1f}%"
    assert f"{pvi['masked']:.3f}" in verdict and f"{pvi['unmasked']:.3f}" in verdict
    assert f"{100 * pvi['reduction']:.1f}%" in verdict and "chosen on the validation faces" in verdict
    # the paper-style CNN is still there, named as such, with its own figure
    assert (
        f"paper-style CNN (cnn), the row that compares with the paper, reads sex {100 * cnn['sex']['accuracy']:.1f}%"
        in verdict
    )
    assert "Attacker: cnn, the paper-style CNN" in md


def test_a_pvi_of_another_attacker_is_not_printed_as_the_answer(fake_run):
    """A PVI computed for one named attacker that is not the strongest (an older pvi.json, or `--attacker`)
    is flagged, and the verdict does not present its figures as the answer's."""
    dlib_pvi = pvi_for_run(fake_run, attacker="dlib", n_boot=50)
    res = json.loads(write_results(fake_run, pvi=dlib_pvi).read_text())
    assert any("recompute the PVI" in p for p in res["problems"])
    verdict = _answer_paragraph(render_report(fake_run, draw_pvi=False)[0].read_text())
    assert "computed for other attackers (dlib)" in verdict and f"{dlib_pvi.pvi('masked'):.3f}" not in verdict


def test_style_table_opens_with_the_answer(fake_run):
    """The style table's a and bare groups start with the answer's row (dlib here, not a CNN), with the
    figures of `strongest` and the PVI; the CNN rows follow, the highest-PVI one marked as such."""
    _dlib_wins_on_validation(fake_run)

    def cell(acc: float, pvi: float) -> dict:
        ci = [acc - 0.01, acc + 0.01]
        return {
            **{t: {"accuracy": acc, "ci": ci} for t in ("sex", "race", "age_bucket")},
            "age": {"mae": 5.0, "ci": [4.5, 5.5]},
            **{"pvi": pvi, "pvi_ci": [pvi - 0.01, pvi + 0.01], "reduction": 0.1, "reduction_ci": [0.05, 0.15]},
        }

    styles = {
        "split": "uniform",
        "n_test": 300,
        "seed": 0,
        "n_boot": 10,
        "ci_level": 0.95,
        "reference": {"attacker": "cnn_unmasked", "style": "bare"},
        "styles": {
            "bare": {"strongest": "cnn_unmasked", "attackers": {"cnn_unmasked": cell(0.93, 0.75)}},
            "a": {
                "strongest": "cnn_masked",
                "attackers": {"cnn_masked": cell(0.81, 0.6), "cnn_robust": cell(0.8, 0.5)},
            },
        },
        "best": "a",
        "worst": "a",
    }
    (fake_run / "styles.json").write_text(json.dumps(styles))
    res = json.loads(write_results(fake_run, pvi=pvi_for_run(fake_run, n_boot=100)).read_text())
    md = render_report(fake_run, draw_pvi=False)[0].read_text()
    rows = [r for r in md.split("## Protection by mask style", 1)[1].splitlines() if r.startswith("| a |")]
    m, pvi = res["strongest"]["masked"]["uniform"], res["pvi"]
    assert rows[0].startswith(f"| a | the answer: dlib | {100 * m['sex']['accuracy']:.1f}% [")
    assert f"| {pvi['masked']:.3f} [" in rows[0] and f"| {100 * pvi['reduction']:.1f}% [" in rows[0]
    assert rows[1].startswith("| a | cnn_masked (highest PVI) | 81.0% [80.0%, 82.0%]")
    bare = next(r for r in md.splitlines() if r.startswith("| bare | the answer"))
    assert f"| {pvi['unmasked']:.3f} [" in bare and bare.endswith("| - |")
    assert "row a's cnn_masked is the paper-style CNN" in md


def test_real_masks_are_shown_per_framing_bucket(tmp_path):
    """realmask.json's per-framing figures become one line per attacker under the table."""
    run = tmp_path / "run"
    run.mkdir()
    close = {"n": 3, "sex": {"accuracy": 2 / 3, "balanced_accuracy": 0.5, "auc": None}, "race": {"accuracy": 1.0}}
    framing = {"none": {"n": 1, "sex": {"accuracy": 1.0, "balanced_accuracy": 1.0, "auc": None}}, "some": {"n": 0}}
    real = {
        "population": "realmask-dev: 4 photos",
        "attackers": {"cnn_robust": {"n": 4, "sex": {"accuracy": 0.75}, "framing": {**framing, "most": close}}},
        "framing_buckets": {"measure": "share beyond", "none": "under 5%", "some": "5% to 25%", "most": "25% or more"},
    }
    (run / "realmask.json").write_text(json.dumps(real))
    text = render_report(run, draw_pvi=False)[0].read_text()
    assert "The real-mask rows by framing (share beyond: none under 5%, some 5% to 25%, most 25% or more)" in text
    assert "1 face: sex 100.0% (balanced 100.0%)" in text and "0 faces" in text
    assert "3 faces: sex 66.7% (balanced 50.0%), race 100.0%" in text
    # a realmask.json written before the framing was measured: no framing lines, no error
    del real["attackers"]["cnn_robust"]["framing"]
    (run / "realmask.json").write_text(json.dumps(real))
    assert "by framing" not in render_report(run, draw_pvi=False)[0].read_text()


def test_the_answer_says_what_the_chosen_reader_reads_behind_real_masks():
    """The reader of real masks recorded in readers.json, and its figures on the real masks of realmask.json."""
    from maskprivacy.report.sections import _real_mask_answer, trained_on

    res = {
        "readers": {
            "roles": {
                "real_mask": {
                    "attacker": "facenet_real",
                    "family": "facenet",
                    "condition": "real",
                    "why": "best on val",
                }
            }
        },
        "styles": {
            "realmask": {
                "population": "realmask-dev: 4 photos",
                "attackers": {
                    "facenet_real": {
                        "n": 4,
                        "sex": {
                            "accuracy": 0.75,
                            "ci": [0.5, 1.0],
                            "balanced_accuracy": 0.5,
                            "balanced_ci": [0.25, 1.0],
                            "auc": 0.625,
                            "auc_ci": [0.25, 1.0],
                        },  # fmt: skip
                    },
                    "cnn_robust": {"n": 4, "sex": {"accuracy": 0.25}},
                },
            }
        },
    }
    text = _real_mask_answer(res)
    assert "none of these people was trained on" in text
    res["styles"]["realmask"]["attackers"]["facenet_real"]["cross_validated"] = {"k": 5, "people": 55}
    assert "each photo was read by the one of 5 person-disjoint fold models that never saw" in _real_mask_answer(res)
    assert "none of these people" not in _real_mask_answer(res)
    assert text.startswith("Behind a real mask, the run's reader of masked faces (facenet_real: best on val)")
    assert "reads sex correctly 75.0% [50.0%, 100.0%] of 4 photos" in text
    assert "balanced 50.0% [25.0%, 100.0%], AUC 0.625 [0.250, 1.000] (realmask-dev: 4 photos" in text
    res["readers"]["roles"]["real_mask"] = {"attacker": "cnn", "family": "cnn", "condition": "masked", "why": "x"}
    assert _real_mask_answer(res) is None  # no cnn_masked row in realmask.json: nothing to say
    assert _real_mask_answer({}) is None
    assert trained_on("facenet_real", "masked") == "UTKFace + random drawn masks + real masked photos"
    assert trained_on("cnn", "unmasked") == "UTKFace, bare faces"
    assert trained_on("dlib", "masked") == "dlib's descriptor + heads on UTKFace + the paper's mask a"
