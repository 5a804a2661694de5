"""AdaBN: a trained network's batch-norm statistics re-estimated on the photos it will read.

The real-mask attacker learns from a few hundred labelled real photos and thousands of UTKFace faces
with drawn masks, so its batch norms' running means and variances describe that mix, not a real masked
close-up in real light. AdaBN (Li et al., "Revisiting Batch Normalization For Practical Domain
Adaptation", 2016) replaces them with the statistics of the target photos, which needs no label: the
blank photos of ``--real-masks-train`` count as much as the labelled ones. Only the statistics change;
the weights stay as trained. A network without batch norm (dlib's face ResNet, whose norms were frozen
into per-channel affine layers) is left as it is, and that is reported, never hidden.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from torch import nn

from maskprivacy.atomic import write_json
from maskprivacy.models.predictor import Predictor
from maskprivacy.models.preprocess import nhwc_uint8_to_nchw


def batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def adapt_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Re-estimate every batch norm's running statistics as the plain average over ``batches`` (network
    inputs); returns how many layers changed. The model is left in eval mode, its weights untouched."""
    norms = batch_norms(model)
    if not norms:
        return 0
    momenta = [m.momentum for m in norms]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over every batch, not an exponential one
        m.train()
    seen = 0
    for x in batches:
        model(x)
        seen += len(x)
    for m, mo in zip(norms, momenta):
        m.momentum = mo
    model.eval()
    if seen == 0:
        raise ValueError("AdaBN needs at least one photo to estimate the statistics from")
    return len(norms)


def adapt_predictor(pred: Any, faces: np.ndarray, batch_size: int = 128) -> int:
    """AdaBN on a :class:`~maskprivacy.models.predictor.Predictor` from uint8 (N, H, W, 3) faces, seen as
    the predictor sees them (its preprocessing, and mirrored as its test-time flip reads them)."""

    def batches() -> Iterable[torch.Tensor]:
        for s in range(0, len(faces), batch_size):
            x = nhwc_uint8_to_nchw(torch.from_numpy(np.ascontiguousarray(faces[s : s + batch_size])))
            x = pred.preprocess(x.to(pred.device))
            yield x
            if pred.tta:
                yield torch.flip(x, dims=[3])

    return adapt_batchnorm(pred.model, batches())


def ensure_adapted(target: str | os.PathLike, faces: np.ndarray, what: str) -> dict[str, Any]:
    """AdaBN on the bundle ``target`` (its JSON twin records it), once: a bundle that already says
    ``adabn`` is left alone, so a resumed stage never adapts twice."""
    target = Path(target)
    meta = target.with_suffix(".json")
    info = json.loads(meta.read_text()) if meta.is_file() else {}
    if info.get("adabn"):
        return info["adabn"]
    pred = Predictor.load(target, device="cpu")
    layers = adapt_predictor(pred, faces)
    done = {"photos": int(len(faces)), "layers": layers, "on": what}
    if layers == 0:
        done["note"] = "the network has no batch norm: nothing to re-estimate"
    pred.info["adabn"] = done
    pred.save(target)
    info["adabn"] = done
    write_json(meta, info)
    return done
