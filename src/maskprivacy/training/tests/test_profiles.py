"""The profiles as a base plus differences: what a profile states, what is refused, what is typed."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from maskprivacy.training.augment import AugmentConfig
from maskprivacy.training.config import (
    FAMILIES,
    FREE_FORM,
    PROFILES,
    apply_overrides,
    family_config,
    load_profile,
)


def _raw(name: str) -> dict:
    from maskprivacy.training.config import _profile_text

    return OmegaConf.to_container(OmegaConf.create(_profile_text(name)))


def _restated(diff: dict, base: dict, prefix: str = "") -> list[str]:
    """Keys of ``diff`` whose value is base's own (a copy where a difference belongs)."""
    out = []
    for key, value in diff.items():
        if isinstance(value, dict) and key not in FREE_FORM and isinstance(base.get(key), dict):
            out += _restated(value, base[key], f"{prefix}{key}.")
        elif key in base and base[key] == value:
            out.append(prefix + key)
    return out


@pytest.mark.parametrize("name", PROFILES)
def test_a_profile_states_only_what_differs_from_the_base(name):
    assert _restated(_raw(name), _raw("base")) == []


def test_a_profile_value_is_laid_over_the_base_and_the_rest_is_the_base():
    base, gpu = _raw("base"), load_profile("gpu")
    assert gpu["model"]["arch"] == "resnet50" != base["model"]["arch"]
    assert gpu["model"]["stem"] == base["model"]["stem"]  # not in gpu.yaml
    assert gpu["seed"] == base["seed"]


def test_a_free_form_dict_is_replaced_whole():
    # gpu's pretraining augmentation leaves out hue: it takes the code's default, not the base's 0.0
    gpu = load_profile("gpu")
    assert "hue" not in gpu["pretrain"]["augment"]
    assert AugmentConfig.from_dict(gpu["pretrain"]["augment"]).hue == AugmentConfig().hue != 0.0
    cfg = apply_overrides(gpu, ["finetune.augment={scale: [0.5, 1.0]}"])
    assert cfg["finetune"]["augment"] == {"scale": [0.5, 1.0]}
    cfg = apply_overrides(gpu, ["finetune.augment.rotate=3"])  # one key inside: its reader checks it
    assert cfg["finetune"]["augment"]["rotate"] == 3 and cfg["finetune"]["augment"]["jitter"] == 0.5


def test_a_family_states_keys_of_the_cnn_section_and_inherits_the_rest():
    smoke = load_profile("smoke")
    facenet = family_config(smoke, "facenet")
    assert facenet["finetune"]["limit_train_batches"] == 3  # stated in smoke.yaml's facenet section
    assert facenet["finetune"]["weight_decay"] == smoke["finetune"]["weight_decay"]  # the CNN's value
    cpu = family_config(load_profile("cpu"), "facenet")
    assert cpu["finetune"]["weight_decay"] == 0.01 != load_profile("cpu")["finetune"]["weight_decay"]
    cfg = apply_overrides(smoke, ["facenet.finetune.weight_decay=0.2"])
    assert family_config(cfg, "facenet")["finetune"]["weight_decay"] == 0.2
    with pytest.raises(ValueError, match=r"facenet\.finetune\.epoch'"):
        apply_overrides(smoke, ["facenet.finetune.epoch=3"])


@pytest.mark.parametrize("item", ["finetune.epoch=3", "nosuch=1", "trainer.gpus=2", "pretrain.augment2.hue=1"])
def test_an_unknown_key_in_set_is_refused_by_name(item):
    key = item.split("=")[0]
    with pytest.raises(ValueError, match=f"no setting '{key}'"):
        apply_overrides(load_profile("smoke"), [item])


def test_an_unknown_key_in_a_profile_file_is_refused_by_name(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("finetune:\n  epochs: 3\n  lr_typo: 0.1\n")
    with pytest.raises(ValueError, match=r"mine\.yaml: no setting 'finetune\.lr_typo'"):
        load_profile(str(bad))
    fam = tmp_path / "fam.yaml"
    fam.write_text("agenet:\n  robust: {epochs: 2, sizez: null}\n")
    with pytest.raises(ValueError, match=r"agenet\.robust\.sizez"):
        load_profile(str(fam))
    good = tmp_path / "short.yaml"
    good.write_text("finetune: {epochs: 3}\n")
    cfg = load_profile(str(good))
    assert cfg["profile"] == "short" and cfg["finetune"]["epochs"] == 3
    assert {k: v for k, v in cfg.items() if k not in ("finetune", "profile")} == {
        k: v for k, v in _raw("base").items() if k != "finetune"
    }


def test_set_values_are_typed():
    cfg = apply_overrides(
        load_profile("smoke"),
        ["finetune.epochs=7", "finetune.lr=1e-3", "model.crop=[0, 0, 1, 1]", "data.limit=null", "data.resident=true"],
    )
    assert cfg["finetune"]["epochs"] == 7 and isinstance(cfg["finetune"]["epochs"], int)
    assert cfg["finetune"]["lr"] == 0.001 and isinstance(cfg["finetune"]["lr"], float)
    assert cfg["model"]["crop"] == [0, 0, 1, 1] and isinstance(cfg["model"]["crop"], list)
    assert cfg["data"]["limit"] is None and cfg["data"]["resident"] is True
    assert apply_overrides(cfg, ["data.limit="])["data"]["limit"] is None


def test_every_family_has_a_section_in_every_profile():
    for name in PROFILES:
        cfg = load_profile(name)
        assert all(isinstance(cfg[f], dict) for f in FAMILIES)


def test_the_older_spelling_of_the_approach_is_read() -> None:
    """``finetune.mode`` (the key's earlier name) still sets the approach, in --set and in a saved run."""
    from maskprivacy.training.config import rename_old_keys

    cfg = load_profile("smoke")
    assert cfg["finetune"]["approach"] == "multitask"
    for key in ("finetune.mode", "finetune.approach"):
        assert apply_overrides(cfg, [f"{key}=both"])["finetune"]["approach"] == "both"
    assert apply_overrides(cfg, ["facenet.finetune.mode=per_task"])["facenet"]["finetune"]["approach"] == "per_task"
    old = {"finetune": {"mode": "per_task", "epochs": 2}, "facenet": {"finetune": {"mode": "both"}}}
    assert rename_old_keys(old) == {
        "finetune": {"approach": "per_task", "epochs": 2},
        "facenet": {"finetune": {"approach": "both"}},
    }


def test_a_run_saved_with_the_older_spelling_resumes(tmp_path) -> None:
    """A run folder whose train_config.yaml says ``finetune.mode`` is the same settings, not "other settings"."""
    from maskprivacy.training.config import dump
    from maskprivacy.training.runtime import check_run_config

    cfg = load_profile("smoke")
    old = dump(cfg).replace("approach:", "mode:")
    assert "mode:" in old
    (tmp_path / "train_config.yaml").write_text(old)
    check_run_config(tmp_path, cfg)  # no "trained with other settings"
    with pytest.raises(ValueError, match="other settings"):
        check_run_config(tmp_path, apply_overrides(cfg, ["finetune.approach=per_task"]))
