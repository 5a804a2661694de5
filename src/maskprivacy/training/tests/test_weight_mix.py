"""The weight mix of a fine-tuned attacker with its start: the grid, the interpolation, the choice on validation."""

from __future__ import annotations

import math

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from maskprivacy.training.weight_mix import choose_mix, mix_grid, mixed_state, validation_loss


@pytest.mark.parametrize(
    ("value", "grid"),
    [(None, []), ([], []), ([1.0], []), (1, []), (0.5, [0.5, 1.0]), ([0.75, 0.25, 0.75], [0.25, 0.75, 1.0])],
)
def test_the_grid_is_sorted_and_always_ends_with_the_fine_tuned_weights(value, grid) -> None:
    assert mix_grid({"weight_mix": value}) == grid


@pytest.mark.parametrize("value", [0, [0.5, 0.0], 1.5, -0.2, math.nan])
def test_an_alpha_outside_zero_one_is_refused(value) -> None:
    with pytest.raises(ValueError, match=r"weight_mix: every alpha must be in \(0, 1\]"):
        mix_grid({"weight_mix": value})


def test_a_bad_grid_in_a_profile_is_refused_before_any_stage() -> None:
    from maskprivacy.training.config import apply_overrides, load_profile, resolve

    with pytest.raises(ValueError, match="weight_mix"):
        resolve(apply_overrides(load_profile("smoke"), ["real.weight_mix=[0.5,2.0]"]))
    with pytest.raises(ValueError, match="weight_mix"):
        resolve(apply_overrides(load_profile("smoke"), ["facenet.real.weight_mix=0"]))


def test_floats_are_interpolated_and_counters_are_the_fine_tuned_ones() -> None:
    start = {"w": torch.zeros(2, 3), "bn.num_batches_tracked": torch.tensor(3)}
    tuned = {"w": torch.full((2, 3), 2.0), "bn.num_batches_tracked": torch.tensor(7)}
    mixed = mixed_state(start, tuned, 0.25)
    assert torch.equal(mixed["w"], torch.full((2, 3), 0.5))
    assert mixed["bn.num_batches_tracked"].item() == 7
    assert torch.equal(mixed_state(start, tuned, 1.0)["w"], tuned["w"])
    assert tuned["w"].eq(2.0).all()  # the inputs are left alone


def test_networks_that_differ_are_refused() -> None:
    with pytest.raises(ValueError, match="only in start"):
        mixed_state({"a": torch.zeros(1), "b": torch.zeros(1)}, {"a": torch.zeros(1)}, 0.5)
    with pytest.raises(ValueError, match=r"a: start \(2,\) against fine-tuned \(3,\)"):
        mixed_state({"a": torch.zeros(2)}, {"a": torch.zeros(3)}, 0.5)


class _Line(L.LightningModule):
    """y = w * x: the validation targets made with w = 1, so the loss is least halfway between a start
    at w = 0 and a fine-tuned w = 2."""

    def __init__(self, w: float):
        super().__init__()
        self.model = torch.nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            self.model.weight.fill_(w)
        self.x = torch.linspace(-1.0, 1.0, 10).unsqueeze(1)
        self.seen: list[int] = []

    def val_loss(self, idx: torch.Tensor, batch_idx: int) -> torch.Tensor:
        assert not self.training  # read in eval mode
        self.seen.append(batch_idx)
        x = self.x[idx]
        return F.mse_loss(self.model(x), x)


def test_the_alpha_of_least_validation_loss_is_chosen_and_loaded() -> None:
    m = _Line(2.0)
    start = {"weight": torch.zeros(1, 1)}
    record = choose_mix(m, start, np.arange(10), 4, [0.25, 0.5, 0.75, 1.0])
    assert record["alpha"] == 0.5
    assert m.model.weight.item() == pytest.approx(1.0)
    assert record["val_loss"]["0.5"] == pytest.approx(0.0, abs=1e-12)
    # (w - 1)^2 * mean(x^2): the loss of each alpha, as the record says
    mean_x2 = float((m.x**2).mean())
    for a, w in ((0.25, 0.5), (0.75, 1.5), (1.0, 2.0)):
        assert record["val_loss"][f"{a:g}"] == pytest.approx((w - 1.0) ** 2 * mean_x2, rel=1e-5)
    assert record["n_val"] == 10 and m.training  # the module's mode is given back
    assert m.seen[:3] == [0, 1, 2]  # batched as the fit's validation: 10 rows by 4


def test_ties_go_to_the_fine_tuned_weights() -> None:
    m = _Line(1.0)
    record = choose_mix(m, {"weight": torch.ones(1, 1)}, np.arange(10), 4, [0.5, 1.0])
    assert record["alpha"] == 1.0


def test_validation_loss_is_the_mean_over_rows_not_over_batches() -> None:
    m = _Line(2.0)
    rows = np.array([0, 9, 5])  # batches of 2 and 1 row
    with torch.no_grad():
        per_row = [float(F.mse_loss(m.model(m.x[[i]]), m.x[[i]])) for i in rows]
    assert validation_loss(m, rows, 2) == pytest.approx(sum(per_row) / 3, rel=1e-6)
    with pytest.raises(ValueError, match="no validation rows"):
        validation_loss(m, np.zeros(0, np.int64), 2)


def test_the_fine_tuning_module_reads_its_validation_loss_as_the_fit_logs_it() -> None:
    """FinetuneModule.val_loss is the loss validation_step logs (masked labels included)."""
    from maskprivacy.training.tests.test_domain_adversarial import _module

    m = _module()
    m.eval()
    idx = torch.arange(8)
    with torch.no_grad():
        loss = m.val_loss(idx, 0)
        logged: dict[str, torch.Tensor] = {}
        m.log = lambda name, value, **kw: logged.setdefault(name, value)  # type: ignore[method-assign]
        m.validation_step(idx, 0)
    assert torch.isfinite(loss) and torch.equal(logged["val/loss"], loss)
