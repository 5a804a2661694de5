"""The dense small-map convolution must equal ``F.conv2d`` in value and gradient, and change nothing else."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from maskprivacy.models.factory import create_backbone
from maskprivacy.models.small_conv import SmallMapConv2d, dense_conv3x3, use_small_map_convs


@pytest.mark.parametrize("hw", [(2, 2), (1, 1), (1, 2)])
@pytest.mark.parametrize("channels_last", [True, False])
@pytest.mark.parametrize("with_bias", [True, False])
def test_dense_conv_matches_conv2d_values_and_gradients(hw, channels_last, with_bias):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 6, *hw, generator=g)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(7, 6, 3, 3, generator=g)
    b = torch.randn(7, generator=g) if with_bias else None
    xs = [x.clone().requires_grad_(), x.clone().requires_grad_()]
    ws = [w.clone().requires_grad_(), w.clone().requires_grad_()]
    bs = [b.clone().requires_grad_(), b.clone().requires_grad_()] if with_bias else [None, None]
    ref = F.conv2d(xs[0], ws[0], bs[0], padding=1)
    got = dense_conv3x3(xs[1], ws[1], bs[1])
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)
    up = torch.randn(ref.shape, generator=g)
    (ref * up).sum().backward()
    (got * up).sum().backward()
    torch.testing.assert_close(xs[1].grad, xs[0].grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ws[1].grad, ws[0].grad, rtol=1e-4, atol=1e-4)
    if with_bias:
        torch.testing.assert_close(bs[1].grad, bs[0].grad, rtol=1e-4, atol=1e-4)


def test_module_uses_the_dense_path_only_where_it_applies(monkeypatch):
    conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
    assert use_small_map_convs(nn.Sequential(conv, nn.Conv2d(4, 4, 3, stride=2, padding=1))) == 1
    assert type(conv) is SmallMapConv2d
    calls = []
    import maskprivacy.models.small_conv as sc

    real = sc.dense_conv3x3
    monkeypatch.setattr(sc, "dense_conv3x3", lambda *a: calls.append(1) or real(*a))
    conv(torch.randn(2, 4, 2, 2))
    assert calls == [1]
    conv(torch.randn(2, 4, 4, 4))  # larger map: oneDNN is faster there, plain conv
    conv.double()(torch.randn(2, 4, 2, 2).double())  # float64: plain conv
    assert calls == [1]


def test_backbone_state_dict_and_output_unchanged():
    torch.manual_seed(0)
    net, _ = create_backbone("resnet18", "imagenet")
    assert any(isinstance(m, SmallMapConv2d) for m in net.modules())
    plain, _ = create_backbone("resnet18", "imagenet")
    for m in plain.modules():
        if isinstance(m, SmallMapConv2d):
            m.__class__ = nn.Conv2d
    plain.load_state_dict(net.state_dict())
    assert list(plain.state_dict()) == list(net.state_dict())
    net.eval(), plain.eval()
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(net(x), plain(x), rtol=1e-4, atol=1e-4)
