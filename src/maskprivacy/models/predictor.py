"""``Predictor``: a trained attacker in one self-describing file, and the inference contract.

A bundle (``model.pt``) carries everything needed to rebuild and feed the network — architecture,
stem, tasks, input size, crop box, normalisation, whether it was trained on masked faces — beside
its weights, so ``analysis/`` and the report can use any run without its config or this repository's
training code. It is a plain dict of Python values and tensors, loaded with
``torch.load(weights_only=True)`` (no pickled code is executed).

    p = Predictor.load("RUN/train/masked_uniform/model.pt")
    out = p.predict(faces)   # uint8 (N, H, W, 3) RGB, UTKFace geometry, any H = W
    out["sex"] (N, 2) probabilities, out["race"] (N, 5), out["age_bucket"] (N, 7), out["age"] (N,) years
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from maskprivacy.atomic import replacing
from maskprivacy.layout import SPLITS, RunLayout
from maskprivacy.models.factory import AttributeNet, create_model, target_to_age
from maskprivacy.models.preprocess import (
    FULL_CROP,
    IMAGENET_MEAN,
    IMAGENET_STD,
    check_crop,
    nhwc_uint8_to_nchw,
    to_model_input,
)
from maskprivacy.records import TRAINED_ON

FORMAT = "maskprivacy.predictor/1"


def _device(device: str | torch.device | None) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Predictor:
    """A network plus the preprocessing it was trained with. Inference only (no grad, eval mode)."""

    def __init__(
        self,
        model: AttributeNet,
        *,
        arch: str,
        stem: str,
        input_size: int,
        crop: Sequence[float] = FULL_CROP,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        masked: bool = False,
        tta: bool = True,
        info: dict[str, Any] | None = None,
        device: str | torch.device | None = None,
    ):
        self.arch = arch
        self.stem = stem
        self.input_size = int(input_size)
        self.crop = check_crop(crop)
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.masked = bool(masked)
        self.tta = bool(tta)
        self.info = dict(info or {})
        self.device = _device(device)
        self.model = model.to(self.device).eval().to(memory_format=torch.channels_last)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.model.tasks)

    def __repr__(self) -> str:
        return (
            f"Predictor({self.arch}/{self.stem}, tasks={self.tasks}, input={self.input_size}px, "
            f"masked={self.masked}, device={self.device})"
        )

    # ------------------------------------------------------------------ persistence
    def to_bundle(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "arch": self.arch,
            "stem": self.stem,
            "tasks": list(self.tasks),
            "input_size": self.input_size,
            "crop": list(self.crop),
            "mean": list(self.mean),
            "std": list(self.std),
            "masked": self.masked,
            "tta": self.tta,
            "info": self.info,
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the bundle atomically (a crash never leaves a half-written model.pt)."""
        path = Path(path)
        with replacing(path) as tmp:
            torch.save(self.to_bundle(), tmp)
        return path

    @classmethod
    def from_bundle(cls, b: dict[str, Any], device: str | torch.device | None = None) -> "Predictor":
        if b.get("format") != FORMAT:
            raise ValueError(f"not a maskprivacy predictor bundle (format {b.get('format')!r}, expected {FORMAT!r})")
        model = create_model(b["arch"], b["tasks"], stem=b["stem"], pretrained=False)
        model.load_state_dict(b["state_dict"])
        return cls(
            model,
            arch=b["arch"],
            stem=b["stem"],
            input_size=b["input_size"],
            crop=b["crop"],
            mean=b["mean"],
            std=b["std"],
            masked=b["masked"],
            tta=b.get("tta", True),
            info=b.get("info") or {},
            device=device,
        )

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device | None = None) -> "Predictor":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model bundle at {path}")
        return cls.from_bundle(torch.load(path, map_location="cpu", weights_only=True), device)

    # ------------------------------------------------------------------ inference
    def preprocess(self, faces: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 3, H, W) on this device -> the network's input."""
        return to_model_input(faces, self.input_size, self.crop, self.mean, self.std)

    @torch.no_grad()
    def forward_tensor(self, faces: torch.Tensor) -> dict[str, torch.Tensor]:
        """uint8 (N, 3, H, W) -> {task: probabilities (N, C) or age in years (N,)} as tensors."""
        x = self.preprocess(faces.to(self.device, non_blocking=True))
        out = self.model(x)
        if self.tta:  # a horizontal flip is a free second opinion on a symmetric-ish face
            out_f = self.model(torch.flip(x, dims=[3]))
        res: dict[str, torch.Tensor] = {}
        for t, v in out.items():
            if t == "age":
                y = (v + out_f[t]) / 2 if self.tta else v
                res[t] = target_to_age(y)
            else:
                p = v.float().softmax(-1)
                res[t] = (p + out_f[t].float().softmax(-1)) / 2 if self.tta else p
        return res

    def predict(self, faces: np.ndarray | Sequence[np.ndarray], batch_size: int = 256) -> dict[str, np.ndarray]:
        """Predict every task for RGB uint8 face crops in UTKFace's aligned geometry.

        ``faces``: (N, H, W, 3) or one (H, W, 3) array, or a list of (H, W, 3) arrays of any sizes.
        Returns numpy arrays: class probabilities (N, C) per classification task, ``age`` (N,) years.
        """
        if isinstance(faces, np.ndarray) and faces.ndim == 3:
            faces = faces[None]
        if isinstance(faces, np.ndarray):
            groups: Iterable[tuple[np.ndarray, np.ndarray]] = [(np.arange(len(faces)), faces)]
            n = len(faces)
        else:
            faces = list(faces)
            n = len(faces)
            by_shape: dict[tuple, list[int]] = {}
            for i, f in enumerate(faces):
                by_shape.setdefault(tuple(np.shape(f)), []).append(i)
            groups = [(np.array(ix), np.stack([faces[i] for i in ix])) for ix in by_shape.values()]
        out: dict[str, np.ndarray] = {}
        for idx, arr in groups:
            if arr.dtype != np.uint8:
                raise ValueError(f"faces must be uint8 RGB, got {arr.dtype}")
            for s in range(0, len(arr), batch_size):
                x = nhwc_uint8_to_nchw(torch.from_numpy(np.ascontiguousarray(arr[s : s + batch_size])))
                for t, v in self.forward_tensor(x).items():
                    v = v.cpu().numpy()
                    if t not in out:
                        out[t] = np.zeros((n,) + v.shape[1:], dtype=np.float32)
                    out[t][idx[s : s + batch_size]] = v
        if n == 0:
            for t in self.tasks:
                out[t] = np.zeros((0,) if t == "age" else (0, self.model.heads[t].out_features), np.float32)
        return out


def load_run_predictors(
    run: str | os.PathLike, device: str | torch.device | None = None
) -> dict[tuple[str, str], Predictor]:
    """Every ``RUN/train/<trained_on>_<split>/model.pt`` that exists, keyed by (trained_on, split).

    ``trained_on``: ``masked`` (the paper-style attacker, trained on the mask "a"), ``unmasked``,
    ``robust`` (the mask-robust attacker, trained on many mask styles; its bundle has masked=True), and
    ``real`` (the real-mask attacker, trained on those and real photos of masked faces).
    """
    lay = RunLayout.of(run)
    out: dict[tuple[str, str], Predictor] = {}
    for trained_on in TRAINED_ON:
        for split in SPLITS:
            model = lay.attacker(trained_on, split).model
            if model.is_file():
                out[(trained_on, split)] = Predictor.load(model, device)
    return dict(sorted(out.items()))


__all__ = ["Predictor", "load_run_predictors", "FORMAT"]
