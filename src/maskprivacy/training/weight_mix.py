"""Weight-space mixing of a fine-tuned attacker with the attacker it started from, chosen on validation.

Why: fine-tuning the mask-robust attacker further on real masked photos moves its weights away from
what it knew of UTKFace with drawn masks. The real-mask attacker read the real photos better, but on
UTKFace with the paper's mask it lost up to 1-2 points in some cell (a different cell at each
retraining: learning rate, draws). Interpolating the weights of the start and of the fine-tuned
network (WiSE-FT: Wortsman et al., "Robust fine-tuning of zero-shot models", CVPR 2022) keeps most of
what each knows, because both lie in one basin of the loss. How far to go (``alpha``: 0 is the start,
1 the fine-tuned network) is chosen per run on the fit's own validation rows with the loss training
monitored, never on test faces; ties go to the more fine-tuned weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def mix_grid(section: dict, key: str = "weight_mix") -> list[float]:
    """The section's ``weight_mix``: the alphas tried, sorted; empty when off (null, [] or [1.0]).

    A clear error for a value outside (0, 1]: 0 would be the start attacker itself, already in the run."""
    raw = section.get(key)
    if raw is None:
        return []
    if isinstance(raw, (int, float)):
        raw = [raw]
    grid = sorted({float(a) for a in raw})
    bad = [a for a in grid if not (0.0 < a <= 1.0) or math.isnan(a)]
    if bad:
        raise ValueError(f"{key}: every alpha must be in (0, 1] (1 = the fine-tuned weights), got {bad}")
    if grid and grid[-1] != 1.0:
        grid.append(1.0)  # the fine-tuned weights always compete
    return [] if grid == [1.0] else grid


def mixed_state(
    start: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """``(1 - alpha) * start + alpha * tuned`` for every floating-point tensor (batch-norm statistics
    included, as WiSE-FT does); integer buffers (batch counters) are the tuned network's."""
    if set(start) != set(tuned):
        extra, missing = sorted(set(start) - set(tuned))[:5], sorted(set(tuned) - set(start))[:5]
        raise ValueError(f"the start and the fine-tuned networks differ: only in start {extra}, only tuned {missing}")
    out: dict[str, torch.Tensor] = {}
    for k, v in tuned.items():
        s = start[k]
        if s.shape != v.shape:
            raise ValueError(f"{k}: start {tuple(s.shape)} against fine-tuned {tuple(v.shape)}")
        out[k] = torch.lerp(s.to(v.device, v.dtype), v, float(alpha)) if v.is_floating_point() else v.clone()
    return out


def validation_loss(module: Any, rows: np.ndarray, batch_size: int) -> float:
    """The mean over ``rows`` of the module's validation loss (``module.val_loss``), batched as the fit's
    validation was (same order and batch size, so a masker draws the same masks), under the trainer's
    precision when there is one."""
    from contextlib import nullcontext

    from maskprivacy.training.bank import rows_loader

    try:
        context = module.trainer.precision_plugin.forward_context
    except RuntimeError:  # not attached to a trainer: full precision
        context = nullcontext
    total, n = 0.0, 0
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            for i, idx in enumerate(rows_loader(rows, batch_size, shuffle=False)):
                with context():
                    loss = module.val_loss(idx.to(module.device), i)
                total += float(loss) * len(idx)
                n += len(idx)
    finally:
        module.train(was_training)
    if n == 0:
        raise ValueError("no validation rows to choose the weight mix on")
    return total / n


def choose_mix(
    module: Any, start: dict[str, torch.Tensor], rows: np.ndarray, batch_size: int, grid: Sequence[float]
) -> dict[str, Any]:
    """Try each alpha of ``grid`` on ``module.model`` (holding the fine-tuned weights), keep the one of
    least validation loss (ties: the larger alpha) loaded, and return the record: the alpha chosen and
    every alpha's loss."""
    model = module.model
    tuned = {k: v.detach().clone() for k, v in model.state_dict().items()}
    losses: dict[float, float] = {}
    for a in grid:
        model.load_state_dict(mixed_state(start, tuned, a))
        losses[float(a)] = validation_loss(module, rows, batch_size)
    best = min(losses, key=lambda a: (losses[a], -a))
    model.load_state_dict(mixed_state(start, tuned, best))
    return {
        "alpha": best,
        "val_loss": {f"{a:g}": round(v, 6) for a, v in sorted(losses.items())},
        "n_val": int(len(rows)),
        "method": "WiSE-FT: (1 - alpha) * start + alpha * fine-tuned, alpha of least validation loss",
    }


__all__ = ["mix_grid", "mixed_state", "validation_loss", "choose_mix"]
