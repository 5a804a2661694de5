"""A faster CPU path for 3x3 convolutions on tiny feature maps (2x2 and 1x1).

Why this exists: at the CPU profile's 48-64 px inputs, a ResNet's last stage runs its 512-channel
3x3 convolutions on a 2x2 map. oneDNN handles that shape badly on some CPUs (a 2-core AMD EPYC with
torch 2.14.1 among them): forward + backward of one such convolution took several times as long as a
256-channel 4x4 convolution of the same FLOP count, and the three of them a large share of a
training step. On a map this small every output pixel sees the whole input, so the
convolution *is* one dense matrix product: the 3x3 taps are gathered into a (C_out*H*W, C_in*H*W)
matrix and multiplied with the flattened input, which MKL runs near its peak. Same parameter, same
state dict, same result up to float rounding; on other devices, other shapes or other settings the
module is a plain ``nn.Conv2d``.

``scripts/bench_train.py`` prints the speed-up in one run.
"""

from __future__ import annotations

import torch
from torch import nn

# The largest map (H*W) handled as a dense product. At 2x2 every (output, input) pair is a real tap;
# at 4x4 only 39% are, and the dense product is slower than oneDNN (measured), so the limit stays 4.
MAX_PIXELS = 4


def _tap_index(h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For a 3x3, stride-1, pad-1 convolution on an h x w map: kernel row/column per (out, in) pixel and validity."""
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    ys, xs = ys.reshape(-1), xs.reshape(-1)
    kh = ys[None, :] - ys[:, None] + 1  # (out pixel, in pixel)
    kw = xs[None, :] - xs[:, None] + 1
    valid = (kh >= 0) & (kh < 3) & (kw >= 0) & (kw < 3)
    return kh.clamp(0, 2).to(device), kw.clamp(0, 2).to(device), valid.to(device)


def dense_conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, stride=1, padding=1)`` as one matrix product (small maps only).

    The (out pixel, in pixel) blocks of the big matrix are the 3x3 taps picked with ``index_select``
    (whose backward is a cheap ``index_add``); rows and columns are pixel-major so that a
    channels-last input flattens without a copy and the result comes back channels-last.
    """
    n, c, h, w = x.shape
    kh, kw, valid = _tap_index(h, w, x.device)
    cout, length = weight.shape[0], h * w
    per_tap = weight.permute(2, 3, 0, 1).reshape(9, cout, c)
    blocks = per_tap.index_select(0, (kh * 3 + kw).reshape(-1))  # (L_out*L_in, C_out, C_in)
    if not bool(valid.all()):
        blocks = blocks * valid.reshape(-1, 1, 1).to(blocks.dtype)
    big = blocks.view(length, length, cout, c).permute(0, 2, 1, 3).reshape(length * cout, length * c)
    out = x.permute(0, 2, 3, 1).reshape(n, length * c) @ big.t()  # (N, L_out*C_out)
    if bias is not None:
        out = out + bias.repeat(length)
    return out.view(n, h, w, cout).permute(0, 3, 1, 2)


class SmallMapConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` that switches to :func:`dense_conv3x3` for tiny maps on the CPU."""

    def _dense_ok(self, x: torch.Tensor) -> bool:
        return (
            x.device.type == "cpu"
            and x.dim() == 4
            and x.shape[-2] * x.shape[-1] <= MAX_PIXELS
            and self.kernel_size == (3, 3)
            and self.stride == (1, 1)
            and self.padding == (1, 1)
            and self.dilation == (1, 1)
            and self.groups == 1
            and self.padding_mode == "zeros"
            and x.dtype == torch.float32
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if self._dense_ok(x):
            return dense_conv3x3(x, self.weight, self.bias)
        return super().forward(x)


def use_small_map_convs(model: nn.Module) -> int:
    """Turn every qualifying 3x3 ``nn.Conv2d`` of ``model`` into a :class:`SmallMapConv2d`, in place.

    The class is swapped, nothing else: parameters, state dict keys and checkpoints are unchanged, and
    the module still decides per call (tiny CPU map or not). Returns how many modules were changed.
    """
    n = 0
    for m in model.modules():
        if type(m) is nn.Conv2d and m.kernel_size == (3, 3) and m.stride == (1, 1) and m.groups == 1:
            m.__class__ = SmallMapConv2d
            n += 1
    return n
