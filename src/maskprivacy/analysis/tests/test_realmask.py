"""Real masked photos (../shared/data/realmask-dev, read at test time; skipped when absent).

The photos are the first six of each class in labels.csv's order, not chosen by how they fare. The
dev set is for reporting only (scripts/check_realmask.py measures all of it: docs/ANALYZE.md); these
tests guard against a regression that would break the decision or the routing on real masks.
"""

from __future__ import annotations

import csv

import pytest

from maskprivacy.faces.photo import find_faces
from maskprivacy.masking.api import load_rgb


def _first(realmask_dir, masked: str, n: int = 6) -> list[dict[str, str]]:
    with open(realmask_dir / "labels.csv", newline="", encoding="utf-8-sig") as fh:
        return [r for r in csv.DictReader(fh) if r["masked"] == masked][:n]


@pytest.mark.parametrize("masked", ["0", "1"])
def test_masked_or_bare_decision_on_real_photos(realmask_dir, masked):
    right = 0
    for r in _first(realmask_dir, masked):
        faces = find_faces(load_rgb(realmask_dir / r["path"]))  # nobody says: the mask check decides
        assert faces, f"no face found in {r['path']}"
        right += faces[0].already_masked == (masked == "1")
    assert right >= 5, f"{right} of 6 {'masked' if masked == '1' else 'bare'} photos decided right"


def test_real_masks_are_aligned_above_the_mask_and_read_by_the_robust_attacker(realmask_dir, tmp_path):
    from maskprivacy.analysis.analyzer import Analyzer
    from maskprivacy.analysis.demo_run import make_demo_run
    from maskprivacy.faces.detect import mediapipe_available

    run = make_demo_run(tmp_path / "run", input_size=32, robust=True)
    an = Analyzer(run)
    for r in _first(realmask_dir, "1", 3):
        f = an.analyze(load_rgb(realmask_dir / r["path"]), "a")[0]
        assert f.already_masked and f.as_is.model == "robust_uniform" and f.masked is None
        if mediapipe_available():
            assert f.alignment == "facemesh upper points"


def test_mask_check_accuracy_counts_each_check_on_the_same_first_cuts(realmask_dir, tmp_path, constant_mask_detector):
    """A detector that calls every face masked: all real masks found, no bare photo right (known answers)."""
    from maskprivacy.analysis.mask_decision import mask_check_accuracy
    from maskprivacy.data.photo_labels import LabelRow

    rows = [
        LabelRow(path=r["path"], sex=None, race=None, age=None, masked=r["masked"] == "1")
        for m in ("0", "1")
        for r in _first(realmask_dir, m, 4)
    ]
    assert mask_check_accuracy(realmask_dir, rows, tmp_path)["checks"].keys() == {"colour"}  # no detector there
    constant_mask_detector(tmp_path, 4.0)
    d = mask_check_accuracy(realmask_dir, rows, tmp_path)
    assert d["n_photos"] == 8 and d["not_found"] == 0 and not d["errors"]
    det = d["checks"]["detector"]
    assert det["confusion"] == [[0, 4], [0, 4]] and det["accuracy"] == 0.5 and det["balanced_accuracy"] == 0.5
    colour = d["checks"]["colour"]
    assert sum(map(sum, colour["confusion"])) == 8 and colour["support"] == {"bare": 4, "masked": 4}
