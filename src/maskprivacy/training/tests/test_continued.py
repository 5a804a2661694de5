"""The steps shared by the attackers trained further from another: the init's check and the batch size."""

from __future__ import annotations

import pytest

from maskprivacy.training.continued import batch_size, chosen_init, init_model_entry


def _cfg(**section) -> dict:
    return {"finetune": {"shared_splits": False, "batch_size": 64}, "real": section}


def test_an_unknown_init_is_refused_with_its_key(tmp_path):
    with pytest.raises(ValueError, match=r"real.init 'scratch': choose from robust, masked, pretrain"):
        chosen_init(_cfg(init="scratch"), tmp_path, "real", "real-mask")


def test_a_missing_starting_attacker_names_the_stage_that_trains_it(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"the real-mask attacker starts from .*masked_uniform.*train_masked_uniform"
    ):
        chosen_init(_cfg(init="masked"), tmp_path, "real", "real-mask")


def test_pretrain_needs_no_bundle_and_records_none(tmp_path):
    init, path = chosen_init(_cfg(init="pretrain"), tmp_path, "real", "real-mask")
    assert init == "pretrain" and init_model_entry(tmp_path, init, path) is None
    init, path = "robust", tmp_path / "train" / "robust_uniform" / "model.pt"
    assert init_model_entry(tmp_path, init, path) == "train/robust_uniform/model.pt"


def test_the_batch_is_the_sections_else_fine_tunings_and_never_more_than_the_rows():
    cfg = _cfg()
    assert batch_size(cfg, {"batch_size": 16}, 100) == 16
    assert batch_size(cfg, {}, 100) == 64
    assert batch_size(cfg, {"batch_size": 16}, 5) == 5
    assert batch_size(cfg, {}, 1) == 2
