"""A run directory of untrained models, for tests, the benchmark and trying the page without training.

An untrained network's readings are noise, but they have the real shapes, sizes and speed, so the
whole path (detection, alignment, masking, prediction, page) can be exercised in seconds. Every
reading it produces is marked by the run's name; never report them as results.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from maskprivacy.layout import RunLayout
from maskprivacy.models.factory import ALL_TASKS, age_to_target, create_model
from maskprivacy.models.predictor import Predictor


def make_demo_run(
    out: str | os.PathLike,
    arch: str = "resnet18",
    stem: str = "imagenet",
    input_size: int = 64,
    splits: tuple[str, ...] = ("uniform",),
    seed: int = 0,
    crop: tuple[float, ...] = (0.0, 0.0, 1.0, 1.0),
    cache_size: int | None = None,
    robust: bool = False,
    fixed: dict[str, dict[str, float]] | None = None,
) -> Path:
    """Write ``out/train/<unmasked|masked>_<split>/model.pt`` with untrained (seeded) weights.

    ``cache_size`` records the side of the training cache, as a trained run's would be found.
    ``robust`` also writes ``robust_<split>`` (the mask-robust attacker's place), so the routing of
    faces that already wear a mask can be exercised.
    ``fixed``: per condition, answers its model gives for every face, e.g.
    ``{"unmasked": {"sex": 1, "race": 3, "age_bucket": 4, "age": 40}}`` (class indices, age in years;
    the heads' weights are zeroed and their biases set), so a test knows every metric in advance.
    """
    out = Path(out)
    conds = ("unmasked", "masked", "robust") if robust else ("unmasked", "masked")
    for i, (cond, split) in enumerate((c, s) for c in conds for s in splits):
        torch.manual_seed(seed + i)
        net = create_model(arch, ALL_TASKS, stem=stem)
        if fixed and cond in fixed:
            _fix_heads(net, fixed[cond])
        info = {"untrained": True, **({"cache_size": cache_size} if cache_size else {})}
        Predictor(
            net,
            arch=arch,
            stem=stem,
            input_size=input_size,
            crop=crop,
            masked=(cond != "unmasked"),
            device="cpu",
            info=info,
        ).save(RunLayout(out).attacker(cond, split).model)
    return out


def _fix_heads(net, answers: dict[str, float]) -> None:
    """Make the network answer the same for every input: zero head weights, biases that pick the answer."""
    with torch.no_grad():
        for task, value in answers.items():
            head = net.heads[task]
            head.weight.zero_()
            head.bias.zero_()
            if task == "age":
                head.bias.fill_(float(age_to_target(torch.tensor(float(value)))))
            else:
                head.bias[int(value)] = 10.0  # softmax: ~0.9999 on the answer
