"""The protection stage's fixed choices: which test faces, which occlusion each validation face wears."""

from __future__ import annotations

import numpy as np

from maskprivacy.privacy.occluded_readers import random_occlusions
from maskprivacy.privacy.occlusions import fixed_test_faces


def test_the_test_subset_is_fixed_per_seed_and_in_name_order():
    names = [f"f{i:03d}" for i in range(50)]
    a = fixed_test_faces(list(reversed(names)), 10, seed=3)
    assert a == fixed_test_faces(names, 10, seed=3) and a == sorted(a) and len(set(a)) == 10
    assert set(a) <= set(names) and a != fixed_test_faces(names, 10, seed=4)
    assert fixed_test_faces(names, None, 3) == names and fixed_test_faces(names, 500, 3) == names


def test_a_face_wears_the_same_occlusion_whatever_faces_come_with_it():
    occl = ["cap", "hood", "blur-mid"]
    keys = [f"face{i}" for i in range(40)]
    whole = random_occlusions(occl, keys, seed=0)
    assert np.array_equal(random_occlusions(occl, keys[10:20], seed=0), whole[10:20])
    assert set(whole) == {0, 1, 2}  # every occlusion is worn by some face


def test_no_occluded_reader_without_an_adaptive_attacker_or_faces_to_score_it_on(tmp_path):
    import shutil

    from maskprivacy.analysis.demo_run import make_demo_run
    from maskprivacy.layout import ADAPTIVE, RunLayout
    from maskprivacy.privacy.occluded_readers import choose_occluded, readers
    from maskprivacy.records import AttackerMetrics, AttackerRecord, attacker_name, write_metrics

    run = make_demo_run(tmp_path / "run", input_size=32)
    assert choose_occluded(run, {"seed": 0}, "uniform") is None  # protect then says its reader is naive
    folder = RunLayout(run).attacker(ADAPTIVE, "uniform")
    shutil.copytree(RunLayout(run).attacker("masked", "uniform").path, folder.path)
    assert readers(run, "uniform") == []  # a model without its record is not an attacker discovery finds
    name = attacker_name("cnn", ADAPTIVE)
    record = AttackerRecord(name=name, family="cnn", trained_on=ADAPTIVE, split="uniform")
    assert record.test_faces == "masked"  # scored on the paper's mask, like every masked-face attacker
    write_metrics(folder.path, AttackerMetrics(attacker=record, n_test=0))
    assert [r.attacker for r in readers(run, "uniform") if r.adaptive] == ["cnn_adaptive"]
    assert choose_occluded(run, {"seed": 0}, "uniform") is None  # no cache in the profile: nothing to score on
