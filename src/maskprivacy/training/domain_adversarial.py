"""A domain-adversarial head (DANN) for the real-mask attacker: unlabelled real photos teach the backbone.

The real-mask attacker is fine-tuned on UTKFace faces wearing drawn masks and on real photos of masked
faces, but a real photo whose sex and race nobody could judge adds nothing to a supervised loss, so
those blanks were left out. Domain-adversarial training (Ganin & Lempitsky, "Unsupervised Domain
Adaptation by Backpropagation", 2015) uses them: a small classifier on the backbone's pooled features
learns to tell a UTKFace row from a real photo (labelled or blank: the domain is known for every row),
and its gradient reaches the backbone through a gradient-reversal layer, multiplied by ``-lambda``, so the
backbone learns features in which the two look alike while the task heads keep reading sex, race and age.

``lambda`` ramps from 0 to ``real.domain_adversarial`` with the paper's schedule ``2 / (1 + exp(-10 p)) - 1``
over training progress ``p`` (early on, the domain head's gradient is noise; reversing it at full weight
would only disturb the warm start). The head itself learns at full weight. It lives in the Lightning
module beside the network, never in it: the Predictor bundle saves the network alone, so reading a face
is the same with or without it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def domain_weight(section: dict[str, Any]) -> float:
    """``real.domain_adversarial`` checked: a finite number >= 0 (0: off), else a clear error."""
    value = section.get("domain_adversarial", 0.0)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(
            f"real.domain_adversarial {value!r}: expected a number >= 0 (the weight of the domain loss; 0 = off)"
        )
    weight = float(value)
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(
            f"real.domain_adversarial {value!r}: expected a number >= 0 (the weight of the domain loss; 0 = off)"
        )
    return weight


class GradientReversal(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by ``-lam``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, lam: float) -> torch.Tensor:  # type: ignore[override]
        ctx.lam = float(lam)
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return -ctx.lam * grad, None


def reverse_gradient(x: torch.Tensor, lam: float) -> torch.Tensor:
    return GradientReversal.apply(x, lam)  # type: ignore[no-any-return]


def ramp(progress: float) -> float:
    """DANN's schedule: 0 at the start of training, about 0.99 at its end (``progress`` in [0, 1])."""
    p = min(1.0, max(0.0, float(progress)))
    return 2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0


class DomainAdversary(nn.Module):
    """Linear-ReLU-Linear on the pooled features -> one logit: is this row a real photo?

    Rows ``>= n_source`` of the training bank are real photos (the real-mask stage puts them after
    UTKFace's rows), every one of them, labelled or blank. ``progress`` is set by the training module
    before each batch; the reversed gradient's factor is ``weight * ramp(progress)``.
    """

    def __init__(self, feature_dim: int, n_source: int, weight: float, hidden: int = 256):
        super().__init__()
        if weight <= 0:
            raise ValueError(f"a domain-adversarial head needs a weight > 0, got {weight}")
        self.n_source = int(n_source)
        self.weight = float(weight)
        self.progress = 1.0
        self.net = nn.Sequential(nn.Linear(feature_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 1))

    def lam(self) -> float:
        return self.weight * ramp(self.progress)

    def is_target(self, rows: torch.Tensor) -> torch.Tensor:
        """1.0 for a real photo's row, 0.0 for a UTKFace row."""
        return (rows >= self.n_source).float()

    def loss(self, features: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy of the domain logit over every row of the batch, blanks included."""
        logit = self.net(reverse_gradient(features, self.lam())).squeeze(-1).float()
        return F.binary_cross_entropy_with_logits(logit, self.is_target(rows).to(logit.device))
