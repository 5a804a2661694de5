"""Backbones and heads: shapes per stem, tasks, and loading a pretrained backbone."""

from __future__ import annotations

import pytest
import torch

from maskprivacy.models.factory import create_backbone, create_model
from maskprivacy.models.preprocess import to_model_input


@pytest.mark.parametrize("stem,side", [("imagenet", 2), ("reduced", 4), ("cifar", 8)])
def test_stems_keep_more_detail_at_small_inputs(stem, side):
    net, dim = create_backbone("resnet18", stem)
    assert dim == 512
    body = torch.nn.Sequential(*list(net.children())[:-2])  # up to layer4, before pooling
    assert body(torch.zeros(1, 3, 64, 64)).shape[-1] == side


def test_model_outputs_and_backbone_state():
    torch.manual_seed(0)
    net = create_model("resnet18", ("sex", "age"), stem="reduced").eval()
    out = net(torch.zeros(3, 3, 32, 32))
    assert set(out) == {"sex", "age"} and out["sex"].shape == (3, 2) and out["age"].shape == (3,)
    src, _ = create_backbone("resnet18", "reduced")
    twin = create_model("resnet18", ("race",), stem="reduced", backbone_state=src.state_dict())
    for k, v in src.state_dict().items():
        assert torch.equal(twin.backbone.state_dict()[k], v)
    with pytest.raises(ValueError, match="does not fit"):
        create_model("resnet50", ("race",), backbone_state=src.state_dict())
    with pytest.raises(ValueError):
        create_model("resnet18", ("height",))
    with pytest.raises(ValueError):
        create_model("vgg16", ("sex",))


def test_to_model_input_crops_and_normalises():
    x = torch.zeros(2, 3, 100, 100, dtype=torch.uint8)
    x[:, :, 10:90, 10:90] = 255  # a white square exactly in the crop box
    y = to_model_input(x, 20, crop=(0.1, 0.1, 0.9, 0.9), mean=(0, 0, 0), std=(1, 1, 1))
    assert y.shape == (2, 3, 20, 20)
    assert torch.allclose(y, torch.ones_like(y))
    with pytest.raises(ValueError):
        to_model_input(x, 20, crop=(0.5, 0.1, 0.4, 0.9))


def test_the_heads_on_the_backbones_features_are_the_forward():
    """Training losses that need the pooled features read them once: heads_on(backbone(x)) is forward(x)."""
    torch.manual_seed(0)
    m = create_model("resnet18", ("sex", "age"), stem="reduced").eval()
    x = torch.randn(2, 3, 32, 32)
    f = m.backbone(x)
    assert f.shape == (2, m.feature_dim)
    out, split = m(x), m.heads_on(f)
    assert set(out) == set(split) and all(torch.equal(out[t], split[t]) for t in out)
