"""The reader a user gets is the one the run chose on validation, recorded in readers.json and used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from maskprivacy.analysis.demo_run import make_demo_run
from maskprivacy.analysis.model_set import ModelSet
from maskprivacy.analysis.reader_choice import choose_readers
from maskprivacy.layout import RunLayout
from maskprivacy.training.real_photos import RealPhotos


def _val(path: Path, acc: float, n: int = 20) -> None:
    """val_predictions.csv whose sex, race and age-bucket accuracy are all ``acc``."""
    right = int(round(acc * n))
    pred = [0] * right + [1] * (n - right)
    pd.DataFrame(
        {
            "name": [f"f{i}" for i in range(n)],
            **{f"{t}_true": [0] * n for t in ("sex", "race", "age_bucket")},
            **{f"{t}_pred": pred for t in ("sex", "race", "age_bucket")},
        }
    ).to_csv(path, index=False)


def _copy_as_real(root: Path) -> None:
    src, dst = RunLayout(root).train_dir("robust", "uniform"), RunLayout(root).train_dir("real", "uniform")
    shutil.copytree(src, dst)


@pytest.fixture()
def two_family_run(tmp_path: Path) -> Path:
    """A run whose face network reads bare faces and real masks better than its CNN (known answers)."""
    run = tmp_path / "run"
    # every model gives one fixed answer: the real photos below are all Asian (race 2) women
    make_demo_run(run, robust=True, fixed={"robust": {"sex": 1, "race": 0, "age_bucket": 3, "age": 30},
                                           "masked": {"sex": 0, "race": 0, "age_bucket": 3, "age": 30},
                                           "unmasked": {"sex": 0, "race": 0, "age_bucket": 3, "age": 30}})  # fmt: skip
    fam = RunLayout(run).family_run("facenet").root
    make_demo_run(fam, robust=True, fixed={"robust": {"sex": 1, "race": 2, "age_bucket": 3, "age": 30},
                                           "masked": {"sex": 1, "race": 0, "age_bucket": 3, "age": 30},
                                           "unmasked": {"sex": 0, "race": 0, "age_bucket": 3, "age": 30}})  # fmt: skip
    _copy_as_real(fam)
    for root, accs in ((run, {"unmasked": 0.6, "masked": 0.7, "robust": 0.65}),
                       (fam, {"unmasked": 0.8, "masked": 0.6, "robust": 0.55, "real": 0.5})):  # fmt: skip
        for cond, acc in accs.items():
            _val(RunLayout(root).train_dir(cond, "uniform") / "val_predictions.csv", acc)
    return run


def _photos(n: int = 6) -> RealPhotos:
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 255, size=(n, 200, 200, 3), dtype=np.uint8)
    return RealPhotos(
        Path("."), crops, [f"p{i}.jpg" for i in range(n)], np.ones(n, np.int64), np.full(n, 2, np.int64),
        [None] * n, np.arange(n), {},
    )  # fmt: skip


def test_readers_are_chosen_on_validation_recorded_and_used(two_family_run: Path, monkeypatch, face_path) -> None:
    import maskprivacy.analysis.reader_choice as reader_choice

    photos = _photos()
    monkeypatch.setattr(reader_choice, "real_parts", lambda p, cfg: np.array(["val"] * len(p), dtype=object))
    d = choose_readers(two_family_run, {"seed": 0, "real": {"val_fraction": 0.15}}, photos)
    roles = d["roles"]
    assert roles["bare"]["attacker"] == "facenet" and roles["bare"]["name"] == "facenet/unmasked_uniform"
    assert roles["digital"]["attacker"] == "cnn"  # 0.7 on the masked validation faces beats the rest
    # on the real photos (all women, all Asian): facenet_robust and facenet_real read both right
    real = roles["real_mask"]
    assert real["attacker"] in ("facenet_robust", "facenet_real") and real["family"] == "facenet"
    assert real["candidates"][real["name"]]["score"] == 1.0
    assert real["candidates"]["robust_uniform"]["score"] == 0.5  # the CNN: sex right (balanced 1.0), race wrong
    RunLayout(two_family_run).readers_json.write_text(json.dumps(d))

    chosen = ModelSet(two_family_run)
    assert chosen.name("unmasked") == "facenet/unmasked_uniform"
    assert chosen.name("robust") == real["name"]
    assert chosen.name("masked") == "masked_uniform"
    assert "chosen on validation" in chosen.words["robust"]
    own = ModelSet(two_family_run, chosen=False)  # one family's own models, as the real-mask row compares them
    assert own.name("unmasked") == "unmasked_uniform"
    forced = ModelSet(two_family_run, real_mask="masked")  # a forced reader ignores the choice
    assert forced.name("unmasked") == "unmasked_uniform"
    # analyze names the chosen model on each reading
    from maskprivacy.analysis.analyzer import Analyzer

    an = Analyzer(two_family_run, mask_check="colour")
    bare = an.analyze(face_path, "a", already_masked=False)[0]
    assert bare.as_is.model == "facenet/unmasked_uniform" and bare.masked.model == "masked_uniform"
    assert an.analyze(face_path, None, already_masked=True)[0].as_is.model == real["name"]


def test_without_real_photos_the_best_mask_robust_attacker_reads_real_masks(two_family_run: Path) -> None:
    d = choose_readers(two_family_run, {"seed": 0, "real": {"val_fraction": 0.15}}, None)
    assert d["roles"]["real_mask"]["name"] == "robust_uniform"  # 0.65 against facenet's 0.55
    assert "no real masked photos" in d["roles"]["real_mask"]["why"]


def test_a_choice_whose_model_is_gone_falls_back_to_the_folder(two_family_run: Path) -> None:
    d = choose_readers(two_family_run, {"seed": 0, "real": {"val_fraction": 0.15}}, None)
    RunLayout(two_family_run).readers_json.write_text(json.dumps(d))
    shutil.rmtree(RunLayout(two_family_run).family_run("facenet").root)
    assert ModelSet(two_family_run).name("unmasked") == "unmasked_uniform"


def test_the_occluded_role_fills_the_adaptive_slot_and_a_role_this_version_lacks_is_skipped(
    two_family_run: Path,
) -> None:
    d = choose_readers(two_family_run, {"seed": 0, "real": {"val_fraction": 0.15}}, None)
    assert "occluded" not in d["roles"]  # no adaptive attacker in this run
    digital = d["splits"]["uniform"]["digital"]
    occluded = {**digital, "condition": "adaptive", "name": "adaptive_uniform"}
    d["splits"]["uniform"].update(occluded=occluded, from_a_newer_version=digital)
    RunLayout(two_family_run).readers_json.write_text(json.dumps(d))
    chosen = ModelSet(two_family_run)
    assert chosen.name("adaptive") == "adaptive_uniform" and "occlusion" not in chosen.words["masked"]
    assert "sunglasses" in chosen.words["adaptive"] and chosen.name("masked") == "masked_uniform"
