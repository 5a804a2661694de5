"""The mask_detector stage at smoke scale: trained on the split's train faces, measured on its test faces."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from maskprivacy.masking.styles.table import style_names
from maskprivacy.training.cache import load_cache
from maskprivacy.training.config import apply_overrides, load_profile, resolve
from maskprivacy.training.mask_detector import detector_config, jitter_theta, train_mask_detector
from maskprivacy.training.pipeline import cache_path, prepare_cache, prepare_splits


def _smoke(*extra: str) -> dict:
    cfg = apply_overrides(
        load_profile("smoke"), ["data.limit=150", "trainer.threads=2", "trainer.progress=false", *extra]
    )
    return resolve(cfg)


@pytest.fixture(scope="module")
def prepared(sample_dir, sample_mask_run, tmp_path_factory):
    """A run folder with the smoke caches (bare and paper-masked) and splits, no model yet."""
    run = tmp_path_factory.mktemp("md") / "RUN"
    cfg = _smoke()
    prepare_cache(cfg, sample_dir, sample_mask_run, run)
    prepare_splits(cfg, run, load_cache(cache_path(run, cfg, "masked")).names)
    return run


def _copy(prepared, dst):
    dst.mkdir()
    for name in ("cache", "splits"):
        (dst / name).symlink_to(prepared / name)
    return dst


def test_stage_writes_a_model_and_its_test_face_figures(prepared, tmp_path):
    run = _copy(prepared, tmp_path / "a")
    m = train_mask_detector(_smoke(), run)
    assert (run / "mask_detector" / "model.pt").is_file()
    saved = json.loads((run / "mask_detector" / "metrics.json").read_text())
    assert saved["test"] == m["test"]
    t = m["test"]
    assert set(t["found_by_style"]) == set(style_names())  # every style of the table is measured
    assert all(0.0 <= v <= 1.0 for v in t["found_by_style"].values())
    assert t["n"] > 0 and 0.0 <= t["bare_read_as_masked"] <= 1.0
    assert t["balanced_accuracy"] == pytest.approx(
        ((1 - t["bare_read_as_masked"]) + np.mean(list(t["found_by_style"].values()))) / 2, abs=1e-4
    )
    assert m["info"]["input_size"] == 32 and m["info"]["cache_size"] == 40


def test_same_seed_same_detector(prepared, tmp_path):
    """Masks, jitter and batch order come from the seed: two trainings give the same weights."""
    a = train_mask_detector(_smoke(), _copy(prepared, tmp_path / "a"))
    b = train_mask_detector(_smoke(), _copy(prepared, tmp_path / "b"))
    wa = torch.load(tmp_path / "a" / "mask_detector" / "model.pt", weights_only=True)["state_dict"]
    wb = torch.load(tmp_path / "b" / "mask_detector" / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a["test"] == b["test"]


def test_disabled_in_the_profile_trains_nothing(prepared, tmp_path):
    run = _copy(prepared, tmp_path / "off")
    assert train_mask_detector(_smoke("mask_detector.enabled=false"), run) is None
    assert not (run / "mask_detector").exists()


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="unknown mask_detector settings"):
        detector_config({"mask_detector": {"epoch": 3}})


def test_jitter_stays_within_its_ranges():
    j = detector_config({})["jitter"]
    th = jitter_theta(2000, j, torch.Generator().manual_seed(0))
    scale = torch.sqrt(th[:, 0, 0] ** 2 + th[:, 1, 0] ** 2)  # 1 / zoom
    assert scale.min() >= 1 / j["zoom"][1] - 1e-6 and scale.max() <= 1 / j["zoom"][0] + 1e-6
    assert th[:, :, 2].abs().max() <= j["shift"] + 1e-6
    assert (th[:, 0, 0] < 0).any() and (th[:, 0, 0] > 0).any()  # mirrored and not
