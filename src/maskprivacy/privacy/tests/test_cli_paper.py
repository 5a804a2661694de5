"""The `privacy` and `survey` commands, and the paper's numbers through the PVI."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest

from maskprivacy.cli import main
from maskprivacy.data.labels import age_to_bucket
from maskprivacy.paper import PAPER_PVI_MASKED, PAPER_PVI_UNMASKED, UTKFACE_RACE_COUNTS, UTKFACE_SEX_COUNTS
from maskprivacy.privacy.baselines import iter_names, labels_from_names, median_predictor_mae
from maskprivacy.privacy.paper_pvi import paper_check
from maskprivacy.privacy.pvi import predictability
from maskprivacy.privacy.survey import weights_from_file
from maskprivacy.privacy.survey_example import write_example


def _run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_pvi_command_json_and_table(tmp_path, capsys, make_fake_run):
    run = make_fake_run(tmp_path / "run")
    rc, out, _ = _run(capsys, "privacy", "pvi", str(run), "--json", "--n-boot", "200")
    d = json.loads(out)
    assert (
        rc == 0 and 0 < d["masked"] < d["unmasked"] and d["reduction"] == pytest.approx(1 - d["masked"] / d["unmasked"])
    )
    assert d["masked_ci"][0] < d["masked"] < d["masked_ci"][1] and d["n_boot"] == 200
    rc, out, _ = _run(capsys, "privacy", "pvi", str(run), "--n-boot", "100", "--weights", "sex=1,race=0,age=0")
    assert rc == 0 and "weights: sex 1.000, race 0.000, age 0.000" in out and "reduction" in out


def test_pvi_weights_from_survey(tmp_path, capsys, make_fake_run):
    run = make_fake_run(tmp_path / "run")
    survey = write_example(tmp_path / "synthetic_survey.csv", n=40, seed=3)
    rc, out, err = _run(capsys, "privacy", "pvi", str(run), "--json", "--n-boot", "50", "--weights-from", str(survey))
    assert rc == 0 and json.loads(out)["weights"] == pytest.approx(weights_from_file(survey))
    assert "SYNTHETIC" in err
    rc, _, err = _run(
        capsys, "privacy", "pvi", str(run), "--weights", "sex=1,race=1,age=1", "--weights-from", str(survey)
    )
    assert rc == 2 and "not both" in err


def test_pvi_command_clear_errors(tmp_path, capsys):
    rc, _, err = _run(capsys, "privacy", "pvi", str(tmp_path / "missing"))
    assert rc == 2 and "run folder not found" in err
    (tmp_path / "empty").mkdir()
    rc, _, err = _run(capsys, "privacy", "pvi", str(tmp_path / "empty"), "--attacker", "cnn")
    assert rc == 2 and "no predictions for attacker 'cnn'" in err and "masked_uniform/predictions.csv" in err
    rc, _, err = _run(capsys, "privacy", "pvi", str(tmp_path / "empty"))
    assert rc == 2 and "no attacker of split 'uniform'" in err and "Train the attackers first" in err


def test_survey_commands(tmp_path, capsys):
    out_csv = tmp_path / "synthetic.csv"
    rc, out, _ = _run(capsys, "survey", "example", "--n", "30", "--seed", "1", "--out", str(out_csv))
    assert rc == 0 and "SYNTHETIC" in out and out_csv.is_file()
    rc, out, _ = _run(capsys, "survey", "analyze", str(out_csv))
    assert rc == 0 and out.startswith("*** SYNTHETIC") and "Wilcoxon signed-rank" in out and "PVI weights" in out
    rc, out, _ = _run(capsys, "survey", "analyze", str(out_csv), "--json")
    d = json.loads(out)
    assert d["warning"].startswith("SYNTHETIC") and d["n"] == 30
    bad = tmp_path / "bad.csv"
    bad.write_text(out_csv.read_text().replace("synthetic-0002,", "synthetic-0001,", 1))
    rc, _, err = _run(capsys, "survey", "analyze", str(bad))
    assert rc == 2 and "duplicate respondent_id" in err and "line 5" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["privacy", "--help"],
        ["privacy", "pvi", "--help"],
        ["privacy", "paper", "--help"],
        ["survey", "analyze", "--help"],
        ["survey", "example", "--help"],
    ],
)
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0 and len(capsys.readouterr().out) > 200


def test_iter_names_reads_an_archive_without_images(tmp_path):
    tar_path = tmp_path / "faces.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for name in ("UTKFace/30_1_2_2017.jpg.chip.jpg", "UTKFace/notes.txt", "UTKFace/8_0_0_2017.jpg.chip.jpg"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    assert list(iter_names(tar_path)) == ["30_1_2_2017.jpg.chip.jpg", "8_0_0_2017.jpg.chip.jpg"]


def test_paper_numbers_through_the_formula(sample_dir):
    d = paper_check(sample_dir)
    labels, bad = labels_from_names(iter_names(sample_dir))
    ages = np.array([l.age for l in labels])
    assert len(bad) == 3 and d["baselines"]["median_age"] == np.median(ages)
    assert d["baselines"]["median_age_mae"] == pytest.approx(np.mean(np.abs(ages - np.median(ages))))
    sex = np.array(UTKFACE_SEX_COUNTS) / sum(UTKFACE_SEX_COUNTS)
    race = np.array(UTKFACE_RACE_COUNTS) / sum(UTKFACE_RACE_COUNTS)
    main_variant = d["variants"][0]
    assert main_variant["baseline"] == "majority" and main_variant["age_measure"] == "regression"
    mae0 = median_predictor_mae(ages)
    pm = np.mean(
        [
            predictability(PAPER_PVI_MASKED["sex_accuracy"], sex.max(), "classification"),
            predictability(PAPER_PVI_MASKED["race_accuracy"], race.max(), "classification"),
            predictability(PAPER_PVI_MASKED["age_mae"], mae0, "regression"),
        ]
    )
    pu = np.mean(
        [
            predictability(PAPER_PVI_UNMASKED["sex_accuracy"], sex.max(), "classification"),
            predictability(PAPER_PVI_UNMASKED["race_accuracy"], race.max(), "classification"),
            predictability(PAPER_PVI_UNMASKED["age_mae"], mae0, "regression"),
        ]
    )
    assert main_variant["reduction"] == pytest.approx(1 - pm / pu)
    for v in d["variants"]:  # any weighting lies between the per-attribute extremes
        lo, hi = v["reduction_range_over_weights"]
        assert lo <= v["reduction"] <= hi
    prior = d["variants"][2]
    assert prior["baseline"] == "prior"
    buckets = np.bincount([age_to_bucket(a) for a in ages], minlength=7) / len(ages)
    assert d["baselines"]["prior"]["age_bucket_accuracy"] == pytest.approx(np.sum(buckets**2))


def test_paper_command_prints_the_comparison(sample_dir, capsys):
    rc, out, _ = _run(capsys, "privacy", "paper", "--data", str(sample_dir))
    assert rc == 0 and "2.9%" in out and "paper (reported)" in out and "would need" in out
