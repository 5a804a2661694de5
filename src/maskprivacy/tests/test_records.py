"""The attacker record: written by the one writer, read back whole; an old metrics.json says what to rerun."""

from __future__ import annotations

import json

import pytest

from maskprivacy.layout import RunLayout
from maskprivacy.records import (
    AttackerMetrics,
    AttackerRecord,
    OldRecordError,
    attacker_name,
    read_attacker_metrics,
    write_metrics,
)


def test_a_record_round_trips_through_metrics_json(tmp_path):
    folder = RunLayout(tmp_path).attacker("real", "random")
    rec = AttackerRecord(name=attacker_name("facenet", "real"), family="facenet", trained_on="real", split="random")
    m = AttackerMetrics(attacker=rec, n_test=7, sex={"accuracy": 0.5}, wall_s={"evaluate": 1.0})
    path = write_metrics(folder.path, m)
    assert path == folder.metrics == tmp_path / "train" / "real_random" / "metrics.json"
    back = read_attacker_metrics(path)
    assert back.attacker == rec and back.attacker.test_faces == "masked" and back.attacker.name == "facenet_real"
    assert json.loads(path.read_text())["sex"] == {"accuracy": 0.5}


def test_a_record_refuses_words_outside_the_glossary():
    with pytest.raises(ValueError, match="trained_on 'bare'"):
        AttackerRecord(name="cnn", family="cnn", trained_on="bare", split="uniform")
    with pytest.raises(ValueError, match="split 'paper'"):
        AttackerRecord(name="cnn", family="cnn", trained_on="masked", split="paper")
    with pytest.raises(ValueError, match="test_faces"):  # the ensemble is trained on nothing: say what it reads
        AttackerRecord(name="ensemble", family="ensemble", trained_on=None, split="uniform")


def test_an_old_metrics_json_says_what_to_rerun(tmp_path):
    old = tmp_path / "metrics.json"
    old.write_text(json.dumps({"n_test": 3, "condition": "robust", "test_faces": "masked"}))
    with pytest.raises(OldRecordError, match="before attacker records.*rerun the stage"):
        read_attacker_metrics(old)
    old.write_text(json.dumps({"attacker": {"name": "cnn"}, "n_test": 3}))
    with pytest.raises(ValueError, match="not an attacker's metrics"):
        read_attacker_metrics(old)
