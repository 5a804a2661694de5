"""`maskprivacy analyze` and `maskprivacy evaluate`: output formats, metrics checked against analyze()."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from maskprivacy.analysis.analyzer import get_analyzer
from maskprivacy.cli import main
from maskprivacy.data.labels import parse_name
from maskprivacy.masking.api import load_rgb


def test_analyze_cli_text_json_and_bad_files(demo_run, face_path, tmp_path, capsys):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    assert main(["analyze", str(face_path), str(bad), "--model", str(demo_run), "--mask", "n95"]) == 0
    out, err = capsys.readouterr()
    assert "Found 1 face" in out and "N95" in out and "notes.jpg: skipped: not an image" in err
    assert main(["analyze", str(face_path), "--model", str(demo_run), "--mask", "none", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    f = d["photos"][0]["faces"][0]
    assert d["mask_style"] is None and f["masked"] is None and f["as_is"]["model"] == "unmasked_uniform"
    assert main(["analyze", str(bad), "--model", str(demo_run)]) == 1
    assert main(["analyze", str(face_path), "--model", str(tmp_path)]) == 2
    assert "no trained models" in capsys.readouterr().err
    assert main(["serve", "--model", str(tmp_path / "nothing")]) == 2  # fails before binding a port
    assert "no trained models" in capsys.readouterr().err


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, good_faces, jpeg):
    """A folder like a user's: sub-folders, blanks, a masked photo, a photo without a face, a broken row."""
    root = tmp_path_factory.mktemp("photos")
    (root / "people").mkdir()
    rows = []
    for i, p in enumerate(good_faces[:5]):
        shutil.copy(p, root / "people" / f"p{i}.jpg")
        lab = parse_name(p.name)
        rows.append(
            {
                "path": f"people/p{i}.jpg",
                "sex": lab.sex,
                "race": lab.race if i != 1 else "",
                "age": lab.age,
                "masked": "0" if i else "",
            }
        )
    (root / "wall.jpg").write_bytes(jpeg((np.random.default_rng(0).random((220, 220, 3)) * 40 + 100).astype(np.uint8)))
    rows.append({"path": "wall.jpg", "sex": 1, "race": 0, "age": 30, "masked": "0"})
    rows.append({"path": "gone.jpg", "sex": 0, "race": 0, "age": 30, "masked": ""})
    rows.append({"path": "people/p0.jpg", "sex": 7, "race": 0, "age": 30, "masked": ""})  # bad label
    with open(root / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["path", "sex", "race", "age", "masked"])
        w.writeheader()
        w.writerows(rows)
    return root


def test_evaluate_json_matches_analyze(demo_run, labelled, good_faces, capsys):
    assert (
        main(
            [
                "evaluate",
                "--images",
                str(labelled),
                "--labels",
                str(labelled / "labels.csv"),
                "--model",
                str(demo_run),
                "--json",
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["n"] == 8 and d["faces_found"] == 5
    assert d["not_found"] == ["wall.jpg"]
    assert {e["path"] for e in d["errors"]} == {"gone.jpg", "people/p0.jpg"}
    assert any("sex must be one of 0..1" in e["reason"] for e in d["errors"])
    # recompute from analyze(): the same models, the same photos
    an = get_analyzer(demo_run)
    sex_hits, race_hits, age_err = [], [], []
    for i, p in enumerate(good_faces[:5]):
        lab = parse_name(p.name)
        r = an.analyze(load_rgb(labelled / "people" / f"p{i}.jpg"), None, already_masked=False if i else None)[0].as_is
        sex_hits.append(r.sex.index == lab.sex)
        if i != 1:
            race_hits.append(r.race.index == lab.race)
        age_err.append(abs(r.age.years - lab.age))
    assert d["sex"]["accuracy"] == pytest.approx(np.mean(sex_hits)) and d["sex"]["n"] == 5
    assert d["race"]["accuracy"] == pytest.approx(np.mean(race_hits)) and d["race"]["n"] == 4
    assert d["age"]["mae"] == pytest.approx(np.mean(age_err), abs=0.01)


def test_evaluate_only_reports_labels_present_and_digital_masks(demo_run, labelled, tmp_path, capsys):
    only_sex = tmp_path / "sex.csv"
    only_sex.write_text("path,sex\npeople/p0.jpg,0\npeople/p1.jpg,\n")
    assert (
        main(
            [
                "evaluate",
                "--images",
                str(labelled),
                "--labels",
                str(only_sex),
                "--model",
                str(demo_run),
                "--mask",
                "surgical",
                "--json",
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert set(d) - {"not_found", "errors", "models", "already_masked", "framing"} == {"n", "faces_found", "sex"}
    assert d["sex"]["n"] == 1
    assert all(set(b) == {"n", "sex"} for b in d["framing"]["all_faces"].values())  # per framing: only sex too
    assert (
        main(["evaluate", "--images", str(labelled), "--labels", str(only_sex), "--model", str(demo_run), "--quiet"])
        == 0
    )
    out = capsys.readouterr().out
    assert "faces found: 2" in out and "sex accuracy" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("file,sex\nx.jpg,1\n")
    assert main(["evaluate", "--images", str(labelled), "--labels", str(bad), "--model", str(demo_run)]) == 2
    assert "needs a 'path' column" in capsys.readouterr().err
