"""The domain-adversarial head: the reversed gradient, the rows it learns from, and nothing when it is off."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from maskprivacy.training.domain_adversarial import DomainAdversary, domain_weight, ramp, reverse_gradient

N_UTK = 4  # bank rows 0-3: UTKFace faces; rows 4-7: real photos
# the training step logs; outside a Trainer Lightning warns that nothing is recorded
NO_TRAINER = pytest.mark.filterwarnings("ignore:You are trying to `self.log")


def _module(domain: float = 0.0):
    from maskprivacy.training.bank import Bank
    from maskprivacy.training.finetune import FinetuneModule

    torch.manual_seed(0)
    m = FinetuneModule("resnet18", "imagenet", ["sex", "race", "age"], 32, [0.0, 0.0, 1.0, 1.0], 0.01, 0.0, 1)
    if domain > 0:
        m.domain = DomainAdversary(m.model.feature_dim, N_UTK, domain)
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (8, 36, 36, 3), dtype=torch.uint8, generator=g)
    blank = torch.full((4,), -1, dtype=torch.int64)
    bank = Bank(
        images,
        torch.cat([torch.tensor([20, 30, 40, 50]), blank]),
        torch.cat([torch.tensor([0, 1, 0, 1]), blank]),  # every real photo blank: no sex,
        torch.cat([torch.tensor([0, 1, 2, 3]), blank]),  # no race, no age
        torch.cat([torch.tensor([1, 2, 3, 4]), blank]),
    )
    m.attach(bank)
    return m


def test_gradient_reversal_is_the_identity_forward_and_flips_and_scales_backward() -> None:
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = torch.tensor([0.5, 2.0, -4.0])
    y = reverse_gradient(x, 0.3)
    assert torch.equal(y, x)
    (y * w).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-0.15, -0.6, 1.2]))


def test_the_ramp_is_dann_schedule() -> None:
    assert ramp(0.0) == 0.0
    assert ramp(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert ramp(1.0) == pytest.approx(0.9999092, abs=1e-7)
    assert ramp(2.0) == ramp(1.0)  # progress past the end stays at the end


def test_the_domain_loss_is_cross_entropy_on_every_row_and_the_features_get_minus_lambda() -> None:
    """Known answer: BCE of the head's logit against 'row >= n_source'; the gradient the features receive
    is the plain one times -weight * ramp(progress)."""
    torch.manual_seed(0)
    head = DomainAdversary(6, N_UTK, weight=0.4)
    head.progress = 0.5
    rows = torch.tensor([0, 3, 4, 7, 5])
    f = torch.randn(5, 6, requires_grad=True)
    loss = head.loss(f, rows)
    f_plain = f.detach().clone().requires_grad_(True)
    plain = F.binary_cross_entropy_with_logits(head.net(f_plain).squeeze(-1), torch.tensor([0.0, 0, 1, 1, 1]))
    assert torch.isclose(loss, plain)
    loss.backward()
    plain.backward()
    assert head.lam() == pytest.approx(0.4 * ramp(0.5))
    assert torch.allclose(f.grad, -head.lam() * f_plain.grad, atol=1e-7)


@NO_TRAINER
def test_blank_real_photos_alone_still_teach_the_backbone_through_the_domain_head() -> None:
    """A batch of real photos whose every label is blank: no task loss, yet a domain loss whose reversed
    gradient reaches the backbone (and the domain head learns); the task heads receive zeros."""
    m = _module(domain=0.5)
    loss = m.training_step(torch.tensor([4, 5, 6, 7]), 0)
    assert torch.isfinite(loss) and float(loss.detach()) > 0
    loss.backward()
    backbone = [p.grad for p in m.model.backbone.parameters() if p.grad is not None]
    assert backbone and any(float(g.abs().sum()) > 0 for g in backbone)
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in m.domain.parameters())
    assert all(p.grad is None or not p.grad.any() for p in m.model.heads.parameters())


def test_the_domain_head_learns_beside_the_network_never_in_its_bundle() -> None:
    off, on = _module(), _module(domain=0.1)
    assert set(on.model.state_dict()) == set(off.model.state_dict())  # what the Predictor bundle saves
    assert any(k.startswith("domain.") for k in on.state_dict())  # checkpoints resume it
    on.trainer = type("T", (), {"estimated_stepping_batches": 10})()  # type: ignore[assignment]
    off.trainer = on.trainer  # type: ignore[assignment]
    n_on = sum(p.numel() for g in on.configure_optimizers()["optimizer"].param_groups for p in g["params"])
    n_off = sum(p.numel() for g in off.configure_optimizers()["optimizer"].param_groups for p in g["params"])
    assert n_on - n_off == sum(p.numel() for p in on.domain.parameters())


@NO_TRAINER
def test_off_adds_no_parameter_no_loss_and_trains_as_the_plain_step() -> None:
    """Off (the default): no domain module, no extra optimised parameter, and the training step's loss is
    bit for bit the plain one (the heads on the augmented batch, the masked task losses)."""
    from maskprivacy.training.augment import augment

    m = _module()
    assert m.domain is None and not any(k.startswith("domain") for k in m.state_dict())
    m.trainer = type("T", (), {"estimated_stepping_batches": 10})()  # type: ignore[assignment]
    n_opt = sum(p.numel() for g in m.configure_optimizers()["optimizer"].param_groups for p in g["params"])
    assert n_opt == sum(p.numel() for p in m.model.parameters())
    m.trainer = None  # type: ignore[assignment]
    idx = torch.tensor([0, 1, 4, 5])
    torch.manual_seed(3)
    loss = m.training_step(idx, 0)
    torch.manual_seed(3)
    x, y = m._batch(idx, "train", 0)
    plain, parts = m._losses(m.model(augment(x, m.train_size(), m.hparams.crop, m.aug)), y)
    assert "domain" not in parts and torch.equal(loss, plain)


def test_a_lightning_fit_ramps_lambda_and_trains_the_head(tmp_path) -> None:
    """Under a Trainer the head's progress follows the optimiser steps (the ramp starts at 0) and the
    head's weights move."""
    import lightning as L

    from maskprivacy.training.bank import rows_loader

    m = _module(domain=0.2)
    before = [p.detach().clone() for p in m.domain.parameters()]
    trainer = L.Trainer(
        max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(m, train_dataloaders=rows_loader(np.arange(8), 2, shuffle=True))
    assert trainer.global_step == 4
    assert m.domain.progress == pytest.approx(3 / 4)  # set before the last of 4 steps
    assert m.domain.lam() == pytest.approx(0.2 * ramp(0.75))
    assert any(not torch.equal(a, b) for a, b in zip(before, m.domain.parameters()))


def test_blank_photos_join_the_train_rows_only_with_a_domain_head() -> None:
    from maskprivacy.training.stage_real import mixed_rows

    labelled = np.array([True, True, False, True, False, False])
    parts = np.array(["train", "train", "train", "val", "val", "train"])
    utk = {"train": np.arange(10), "val": np.arange(10, 13)}
    off = mixed_rows(labelled, parts, utk, 13, 0.5, 7, blanks=False)
    on = mixed_rows(labelled, parts, utk, 13, 0.5, 7, blanks=True)
    assert off.n_mix == on.n_mix == 2  # the UTKFace share follows the labelled photos either way
    assert off.rows["train"].tolist() == on.rows["train"][:4].tolist() and off.blank_train.size == 0
    assert on.blank_train.tolist() == [2, 5] and on.rows["train"][4:].tolist() == [15, 18]
    assert off.rows["val"].tolist() == on.rows["val"].tolist() == [10, 11, 12, 16]  # never the blanks


@pytest.mark.parametrize("value", [-0.1, "strong", True, float("nan"), [0.1]])
def test_a_bad_weight_is_refused_with_its_key(value) -> None:
    with pytest.raises(ValueError, match=r"real\.domain_adversarial .*expected a number >= 0"):
        domain_weight({"domain_adversarial": value})


def test_a_bad_weight_in_a_profile_is_refused_before_any_stage() -> None:
    from maskprivacy.training.config import apply_overrides, load_profile, resolve

    for name in ("smoke", "cpu", "gpu"):
        assert domain_weight(resolve(load_profile(name))["real"]) == 0.0  # off in every profile
    assert (
        domain_weight(resolve(apply_overrides(load_profile("smoke"), ["real.domain_adversarial=0.1"]))["real"]) == 0.1
    )
    with pytest.raises(ValueError, match=r"real\.domain_adversarial -0\.5"):
        resolve(apply_overrides(load_profile("smoke"), ["real.domain_adversarial=-0.5"]))
    with pytest.raises(ValueError, match=r"real\.domain_adversarial 'lots'"):
        resolve(apply_overrides(load_profile("smoke"), ["real.domain_adversarial=lots"]))
    with pytest.raises(ValueError, match="no setting"):
        apply_overrides(load_profile("smoke"), ["real.domain_adversarial_weight=0.1"])
