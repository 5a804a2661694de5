"""Profiles and overrides; the batched augmentations (identity cases, flips, colour)."""

from __future__ import annotations

import pytest
import torch

from maskprivacy.training import config
from maskprivacy.training.augment import AugmentConfig, augment, color_jitter, random_grayscale, random_resized_crop
from maskprivacy.training.config import PROFILES, apply_overrides, load_profile, resolve


@pytest.mark.parametrize("name", PROFILES)
def test_profiles_load_and_resolve(name):
    cfg = resolve(load_profile(name))
    assert cfg["profile"] == name
    assert cfg["trainer"]["precision"] in ("32", "bf16-mixed")
    assert cfg["finetune"]["approach"] in ("multitask", "per_task", "both")
    assert abs(sum(cfg["split"]["fractions"]) - 1) < 1e-9


def test_overrides_parse_yaml_and_refuse_typos():
    cfg = apply_overrides(
        load_profile("smoke"),
        ["finetune.epochs=7", "model.crop=[0, 0, 1, 1]", "data.limit=null", "finetune.augment.hue=0.05"],
    )
    assert cfg["finetune"]["epochs"] == 7 and cfg["model"]["crop"] == [0, 0, 1, 1] and cfg["data"]["limit"] is None
    assert cfg["finetune"]["augment"]["hue"] == 0.05
    with pytest.raises(ValueError, match="no setting"):
        apply_overrides(cfg, ["finetune.epoch=3"])
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides(cfg, ["finetune.epochs"])
    with pytest.raises(ValueError, match="profile"):
        load_profile("huge")


@pytest.mark.parametrize("native", [False, True])
def test_auto_precision_is_bf16_on_a_gpu_and_on_a_cpu_with_bf16_in_hardware(monkeypatch, native):
    monkeypatch.setattr(config, "cpu_native_bf16", lambda: native)
    cfg = load_profile("gpu")
    cfg["trainer"]["accelerator"] = "gpu"
    assert resolve(cfg)["trainer"]["precision"] == "bf16-mixed"
    cfg["trainer"]["accelerator"] = "cpu"
    assert resolve(cfg)["trainer"]["precision"] == ("bf16-mixed" if native else "32")
    cfg["trainer"]["precision"] = "32"  # an explicit value is kept
    assert resolve(cfg)["trainer"]["precision"] == "32"


def test_native_bf16_is_read_from_the_cpu_flags():
    zen4 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512vl\n"
    skylake = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw avx512vl\n"
    sapphire = "flags\t\t: avx512f amx_bf16 amx_tile\n"
    assert config.cpu_native_bf16(zen4) and config.cpu_native_bf16(sapphire)
    assert not config.cpu_native_bf16(skylake)
    assert not config.cpu_native_bf16("")
    assert not config.cpu_native_bf16("model name : avx512_bf16 in a name is not a flag\n")


def _ramp(n=2, h=16, w=16) -> torch.Tensor:
    x = torch.arange(w, dtype=torch.float32).view(1, 1, 1, w).expand(n, 3, h, w) * (255 / (w - 1))
    return x.round().to(torch.uint8).contiguous()


def test_random_resized_crop_identity_and_flip():
    x = _ramp()
    same = random_resized_crop(x, 16, scale=(1, 1), ratio=(1, 1), flip=0.0)
    assert torch.allclose(same, x.float() / 255, atol=1e-5)
    flipped = random_resized_crop(x, 16, scale=(1, 1), ratio=(1, 1), flip=1.0)
    assert torch.allclose(flipped, torch.flip(x.float() / 255, dims=[3]), atol=1e-5)
    # a crop box: only the right half of the ramp is seen
    half = random_resized_crop(x, 8, crop=(0.5, 0.0, 1.0, 1.0), scale=(1, 1), ratio=(1, 1), flip=0.0)
    assert half.min() >= 0.45


def test_random_crops_differ_per_image_and_are_seeded():
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    a = augment(x, 24, (0, 0, 1, 1), AugmentConfig(), generator=g1)
    b = augment(x, 24, (0, 0, 1, 1), AugmentConfig(), generator=g2)
    assert a.shape == (8, 3, 24, 24) and torch.equal(a, b)
    c = augment(x[:1].repeat(8, 1, 1, 1), 24, (0, 0, 1, 1), AugmentConfig(), generator=g1)
    assert not torch.allclose(c[0], c[1])  # same image, two different views


def test_colour_jitter_and_grayscale():
    x = torch.rand(4, 3, 8, 8)
    assert torch.equal(color_jitter(x, 0.0, 0.4, 0.4, 0.4, 0.1), x)
    y = color_jitter(x, 1.0, 0.4, 0.4, 0.4, 0.1)
    assert y.shape == x.shape and not torch.allclose(x, y) and y.min() >= 0 and y.max() <= 1
    g = random_grayscale(x, 1.0)
    assert torch.allclose(g[:, 0], g[:, 1]) and torch.allclose(g[:, 1], g[:, 2])
    assert AugmentConfig.from_dict({"scale": [0.5, 1]}).scale == (0.5, 1.0)
    with pytest.raises(ValueError):
        AugmentConfig.from_dict({"rotate": 10})


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_configures_the_robust_attacker(name):
    from maskprivacy.training.robust import distribution

    cfg = load_profile(name)
    rc = cfg["robust"]
    assert rc["init"] in ("masked", "pretrain", "none") and int(rc["epochs"]) >= 1
    assert rc["sizes"] is None or len(rc["sizes"]) == rc["epochs"]
    assert 0 < distribution(cfg).paper_prob < 1  # the paper's own mask stays in the mix
    cfg = apply_overrides(cfg, ["robust.masks.paper_prob=0.5", "robust.epochs=2"])
    assert distribution(cfg).paper_prob == 0.5
    with pytest.raises(ValueError, match="unknown mask distribution settings"):
        distribution(apply_overrides(cfg, ["robust.masks.colour=1"]))


def test_train_cli_accepts_the_robust_condition(capsys, tmp_path):
    from maskprivacy.cli import main

    assert (
        main(
            [
                "train",
                "--mask-run",
                str(tmp_path),
                "--out",
                str(tmp_path / "r"),
                "--profile",
                "smoke",
                "--condition",
                "robust",
                "--print-config",
            ]
        )
        == 0
    )
    assert "robust:" in capsys.readouterr().out


def test_a_run_from_before_the_robust_section_resumes(tmp_path):
    import yaml

    from maskprivacy.training.pipeline import check_run_config

    cfg = resolve(load_profile("smoke"))
    old = {k: v for k, v in cfg.items() if k != "robust"}
    (tmp_path / "train_config.yaml").write_text(yaml.safe_dump(old))
    check_run_config(tmp_path, cfg)  # accepted: the section only adds a stage
    with pytest.raises(ValueError, match="other settings"):
        check_run_config(tmp_path, apply_overrides(cfg, ["robust.lr=0.5"]))


def test_a_run_from_before_the_dev_folds_adabn_and_domain_settings_resumes(tmp_path):
    import yaml

    from maskprivacy.training.pipeline import check_run_config

    cfg = resolve(load_profile("smoke"))
    old = {
        **cfg,
        "real": {k: v for k, v in cfg["real"].items() if k not in ("dev_folds", "adabn", "domain_adversarial")},
    }
    (tmp_path / "train_config.yaml").write_text(yaml.safe_dump(old))
    check_run_config(tmp_path, cfg)  # accepted: the settings did not exist when it was made
    with pytest.raises(ValueError, match=r"sections \['real'\] differ"):
        check_run_config(tmp_path, apply_overrides(cfg, ["real.share=0.5"]))


def test_photo_edge_repeats_the_edge_as_the_aligning_warp_does():
    import cv2
    import numpy as np

    from maskprivacy.training.augment import edge_cuts, photo_edge, replicate_beyond

    x = torch.randint(0, 256, (3, 3, 20, 24), dtype=torch.uint8)
    cuts = torch.tensor([[0, 0, 0, 0], [3, 0, 5, 0], [2, 4, 1, 6]])
    y = replicate_beyond(x, cuts)
    for i, (t, b, l, r) in enumerate(cuts.tolist()):
        img = x[i].permute(1, 2, 0).numpy()
        kept = np.ascontiguousarray(img[t : 20 - b, l : 24 - r])
        want = cv2.copyMakeBorder(kept, t, b, l, r, cv2.BORDER_REPLICATE)  # what faces.align.warp fills
        assert np.array_equal(y[i].permute(1, 2, 0).numpy(), want)
    assert torch.equal(photo_edge(x, 0.0), x)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    c1, c2 = edge_cuts(500, 20, 24, 1.0, 0.25, generator=g1), edge_cuts(500, 20, 24, 1.0, 0.25, generator=g2)
    assert torch.equal(c1, c2) and c1.min() >= 0
    assert c1[:, :2].max() <= 5 and c1[:, 2:].max() <= 6  # at most a quarter of each side
    assert 0.35 < (c1 > 0).float().mean() < 0.65  # each side cut about half of the time
    half = edge_cuts(2000, 20, 24, 0.5, 0.25, generator=g1)
    assert 0.4 < (half.sum(1) > 0).float().mean() < 0.55  # 1/2 chosen x (1 - 1/16) with a side cut
    for bad in ({"edge": 1.5}, {"edge_cut": 0.5}, {"edge_cut": -0.1}):
        with pytest.raises(ValueError, match="augment.edge"):
            AugmentConfig.from_dict(bad)


def test_trained_on_flag_and_its_old_name_condition_are_one_option():
    from maskprivacy.cli import build_parser

    p = build_parser()
    base = ["train", "--mask-run", "M", "--out", "R"]
    assert p.parse_args([*base, "--trained-on", "robust"]).condition == "robust"
    assert p.parse_args([*base, "--condition", "unmasked"]).condition == "unmasked"
    dlib = ["attack-dlib", "--mask-run", "M", "--out", "R"]
    assert p.parse_args([*dlib, "--trained-on", "masked"]).condition == ["masked"]
