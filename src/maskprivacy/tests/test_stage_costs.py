"""scripts/stage_costs.py: each capability's cost read from a run's stages.json (known answers)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from maskprivacy.reproduce import OCCLUSION_STAGES, REAL_STAGES, STAGE_NAMES

REPO = Path(__file__).resolve().parents[3]


def _script():
    spec = importlib.util.spec_from_file_location("stage_costs", REPO / "scripts" / "stage_costs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_groups_name_only_real_stages() -> None:
    """Both groups are made of stages reproduce runs, and no stage counts for both."""
    assert set(REAL_STAGES) <= set(STAGE_NAMES)
    assert set(OCCLUSION_STAGES) <= set(STAGE_NAMES)
    assert not set(REAL_STAGES) & set(OCCLUSION_STAGES)
    assert "protection" in OCCLUSION_STAGES and "train_adaptive_uniform" in OCCLUSION_STAGES


def test_shares_from_stages_json(tmp_path: Path) -> None:
    """70 s of other stages, 20 s of real-photo stages, 10 s of occlusion stages: 20% and 10% of 100 s."""
    stages = {
        "mask": {"done": True, "wall_s": 30.0},
        "train_masked_uniform": {"done": True, "wall_s": 40.0},
        "real_photos": {"done": True, "wall_s": 5.0},
        "train_real": {"done": True, "wall_s": 15.0},
        "train_adaptive_uniform": {"done": True, "wall_s": 6.0},
        "protection": {"done": True, "wall_s": 4.0},
        "styles": {"done": False, "wall_s": 99.0},  # unfinished: not counted
    }
    (tmp_path / "stages.json").write_text(json.dumps(stages))
    c = _script().stage_costs(tmp_path)
    assert c["total_s"] == 100.0
    assert "styles" in c["unfinished"] and "styles" not in c["stages"]
    real, occl = c["groups"].values()
    assert real["wall_s"] == 20.0 and real["share_of_run"] == 0.2 and real["adds_to_rest"] == 0.25
    assert occl["wall_s"] == 10.0 and occl["share_of_run"] == 0.1 and occl["adds_to_rest"] == round(10 / 90, 4)
    assert "train_facenet_adaptive" in occl["missing"]


def test_a_rerun_replaces_the_stages_it_finished(tmp_path: Path) -> None:
    """The variant reran train_real (15 s -> 25 s) and report: 110 s in all, the real group 30 s."""
    run, variant = tmp_path / "run", tmp_path / "variant"
    run.mkdir(), variant.mkdir()
    (run / "stages.json").write_text(
        json.dumps({
            "mask": {"done": True, "wall_s": 80.0},
            "real_photos": {"done": True, "wall_s": 5.0},
            "train_real": {"done": True, "wall_s": 15.0},
        })
    )  # fmt: skip
    (variant / "stages.json").write_text(
        json.dumps({"train_real": {"done": True, "wall_s": 25.0}, "report": {"done": True, "wall_s": 0.0}})
    )
    c = _script().stage_costs(run, variant)
    assert c["total_s"] == 110.0 and c["stages"]["train_real"] == 25.0 and c["stages"]["mask"] == 80.0
    assert c["rerun"]["stages"] == ["train_real", "report"]
    real = c["groups"]["real masked photos in training"]
    assert real["wall_s"] == 30.0 and real["adds_to_rest"] == round(30 / 80, 4)
    assert _script().stage_costs(run)["total_s"] == 100.0  # the run alone as before


def test_refuses_a_folder_without_stages(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no stages.json"):
        _script().stage_costs(tmp_path)
