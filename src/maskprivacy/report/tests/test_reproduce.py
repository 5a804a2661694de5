"""End to end: `maskprivacy reproduce --profile smoke` on the 619-file sample, then resume and --force."""
import csv
import json
import re

import pytest

from maskprivacy.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, sample_dir):
    run = tmp_path_factory.mktemp("reproduce") / "run"
    code = main(["reproduce", "--data", str(sample_dir), "--profile", "smoke", "--out", str(run), "--quiet"])
    assert code == 0
    return run


def _accuracy_from_predictions(path, task):
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return sum(int(float(r[f"{task}_true"])) == int(float(r[f"{task}_pred"])) for r in rows) / len(rows), len(rows)


def test_results_json_holds_values_computed_in_the_run(smoke_run):
    res = json.loads((smoke_run / "results.json").read_text())
    with (smoke_run / "splits" / "uniform.csv").open() as f:
        n_test = sum(r["part"] == "test" for r in csv.DictReader(f))
    for cond in ("masked", "unmasked"):
        for split in ("uniform", "random"):
            r = res[cond][split]
            for task in ("sex", "race", "age_bucket"):
                assert 0.0 <= r[task]["accuracy"] <= 1.0
            assert r["age"]["mae"] > 0 and r["age"]["rmse"] >= r["age"]["mae"]
            acc, n = _accuracy_from_predictions(smoke_run / "train" / f"{cond}_{split}" / "predictions.csv", "race")
            assert r["race"]["accuracy"] == pytest.approx(acc)
            if split == "uniform":
                assert n == n_test
    pvi = res["pvi"]
    assert 0.0 <= pvi["unmasked"] <= 1.0 and 0.0 <= pvi["masked"] <= 1.0
    for stage in ("inspect", "mask", "figures", "cache", "splits", "pretrain_masked", "train_masked_uniform",
                  "train_unmasked_random", "dlib", "pvi", "report"):
        assert res["stages"][stage]["wall_s"] >= 0, stage
    assert res["attackers"].keys() >= {"cnn", "dlib"}


def test_report_is_self_contained_and_complete(smoke_run):
    html = (smoke_run / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert html.count("data:image/png;base64,") >= 4  # pipeline, distributions, confusion, PVI
    md = (smoke_run / "report.md").read_text()
    for needle in ("94.65%", "Privacy Vulnerability Index", "masked, uniform", "Wall time"):
        assert needle.lower() in md.lower(), needle


def test_rerun_skips_completed_stages_and_force_redoes_one(smoke_run, sample_dir, capsys):
    before = json.loads((smoke_run / "stages.json").read_text())
    assert main(["reproduce", "--data", str(sample_dir), "--profile", "smoke", "--out", str(smoke_run), "--quiet",
                 "--force", "pvi"]) == 0
    out = capsys.readouterr().out
    assert "== mask: done" in out and "== train_masked_uniform: done" in out
    assert "== pvi: Privacy" in out
    after = json.loads((smoke_run / "stages.json").read_text())
    assert after["mask"] == before["mask"] and after["pvi"]["finished_at"] >= before["pvi"]["finished_at"]


def test_other_settings_refused(smoke_run, sample_dir, capsys):
    code = main(["reproduce", "--data", str(sample_dir), "--profile", "smoke", "--out", str(smoke_run), "--style", "b"])
    assert code == 2
    assert "other settings" in capsys.readouterr().err
