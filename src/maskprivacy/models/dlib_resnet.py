"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) as a PyTorch module.

Why: dlib computes its 128-D face descriptor one face at a time,
which made the dlib attacker's descriptor stage the slowest part of ``reproduce`` after training.
The same weights in a ``torch.nn.Module`` run whole batches through one set of convolutions, and
the network becomes something that can be fine-tuned later. Nothing is retrained or downloaded:
the weights are read from the file ``face_recognition_models`` ships.

The network is dlib's ``anet_type`` (dlib/examples/dnn_face_recognition_ex.cpp)::

    loss_metric<fc_no_bias<128, avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
        max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>

a ResNet-29 whose batch norms were frozen into per-channel ``affine`` layers (scale, shift). Two
details of dlib's arithmetic matter and are reproduced here: the input is ``(pixel - mean) / 256``
per RGB channel, and ``add_prev`` adds tensors of different shapes by zero-padding the smaller one
at the end of each axis (in alevel1 the strided 3x3 convolution gives 3x3 while the 2x2 average
pool of the shortcut gives 4x4).

How the file is read (dlib/dnn/core.h, layers.h, input.h, tensor.h): every wrapper layer writes its
version before its inner network, so the stream opens with one version per layer from the output
inwards (1 for tag/skip layers, 2 for ``add_layer``, 3 for the lowest one), then the input layer,
then, from the input outwards, each computational layer's details (a name such as ``"con_4"``,
its parameter tensor and settings) followed by its training state (three bools and empty tensors).
:func:`anet_layers` spells the architecture out layer by layer; the reader checks every version,
name, filter count, kernel size and stride in the file against it, so a mis-ordered layer fails
loudly, and ``tests/test_dlib_resnet.py`` checks the descriptors against dlib's own.

The parsed weights are cached as ``.npz`` beside the shape predictor's (``MASKPRIVACY_CACHE`` or
``~/.cache/maskprivacy``), keyed by the model file's size and modification time; a damaged cache
is rebuilt.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from maskprivacy.faces.dlib_format import DlibStream, ModelFormatError, cache_file, save_npz_atomic
from maskprivacy.faces.model_files import FACE_DESCRIPTOR, model_path

CHIP_SIZE = 150
DESCRIPTOR_DIM = 128
CACHE_TAG = "-torch1"  # the layout of the cached arrays; bump it when that layout changes

# dlib layer kinds in anet_type, from the input outwards. ("con", filters, kernel, stride);
# ("tag", n) / ("skip", n) mark and recall a tensor; ("add_prev", n) adds the tensor tagged n.
Layer = tuple


def _block(n: int, stride: int) -> list[Layer]:
    """dlib's ``block``: BN<con<N,3,3,1,1, relu<BN<con<N,3,3,stride,stride, SUBNET>>>>>."""
    return [("con", n, 3, stride), ("affine",), ("relu",), ("con", n, 3, 1), ("affine",)]


def _ares(n: int) -> list[Layer]:
    """relu<add_prev1<block<N,affine,1,tag1<SUBNET>>>>."""
    return [("tag", 1), *_block(n, 1), ("add_prev", 1), ("relu",)]


def _ares_down(n: int) -> list[Layer]:
    """relu<add_prev2<avg_pool<2,2,2,2, skip1<tag2<block<N,affine,2,tag1<SUBNET>>>>>>>."""
    return [("tag", 1), *_block(n, 2), ("tag", 2), ("skip", 1), ("avg_pool", 2, 2), ("add_prev", 2), ("relu",)]


def anet_layers() -> list[Layer]:
    """Every layer of ``anet_type`` below the loss, from the input outwards."""
    layers: list[Layer] = [("input",), ("con", 32, 7, 2), ("affine",), ("relu",), ("max_pool", 3, 2)]
    layers += _ares(32) * 3  # alevel4
    layers += _ares_down(64) + _ares(64) * 3  # alevel3
    layers += _ares_down(128) + _ares(128) * 2  # alevel2
    layers += _ares_down(256) + _ares(256) * 2  # alevel1
    layers += _ares_down(256)  # alevel0
    layers += [("avg_pool", 0, 1), ("fc", DESCRIPTOR_DIM)]  # avg_pool_everything, fc_no_bias
    return layers


def _training_state(s: DlibStream, lowest_version: int | None) -> None:
    """Skip what an ``add_layer`` saves after its details: flags and (emptied) training tensors.
    ``lowest_version``: the version of the add_layer right on the input layer, None for the others."""
    for _ in range(3):  # this_layer_setup_called, gradient_input_is_stale, get_output..._disabled
        s.bool()
    s.tensor()  # x_grad
    s.tensor()  # cached_output
    s.tensor()  # params_grad; grad_final for the lowest layer
    if lowest_version == 3:
        s.int()  # _sample_expansion_factor


def parse_dlib_face_resnet(data: bytes) -> dict[str, np.ndarray]:
    """``dlib_face_recognition_resnet_model_v1.dat`` bytes -> arrays.

    Keys: ``mean`` (3,) RGB means of the input layer; ``con{i}_w`` (O, I, k, k), ``con{i}_b`` (O,),
    ``con{i}_pad`` (2,) for the i-th convolution from the input; ``affine{i}_g`` / ``affine{i}_b`` (C,);
    ``fc_w`` (in, 128), the descriptor being ``features @ fc_w``.
    """
    s = DlibStream(data)
    layers = anet_layers()
    if s.int() != 1:
        raise ModelFormatError("not a dlib network with a loss layer (add_loss_layer version 1 expected)")
    s.expect("loss_metric_2")
    s.float(), s.float()  # margin, distance threshold: training settings only
    # versions, from the output inwards: add_layer 2, tag/skip 1, the lowest add_layer 3 (2 in older dlib)
    wrappers = layers[1:][::-1]
    for k, layer in enumerate(wrappers):
        v = s.int()
        want = {1} if layer[0] in ("tag", "skip") else ({2, 3} if k == len(wrappers) - 1 else {2})
        if v not in want:
            raise ModelFormatError(
                f"layer {len(wrappers) - k} ({layer[0]}): version {v}, expected {sorted(want)}; not dlib's anet_type"
            )
    lowest_version = v
    s.expect("input_rgb_image_sized")
    out: dict[str, np.ndarray] = {"mean": np.array([s.float(), s.float(), s.float()], np.float32)}
    if (s.int(), s.int()) != (CHIP_SIZE, CHIP_SIZE):
        raise ModelFormatError(f"input is not {CHIP_SIZE}x{CHIP_SIZE}")
    n_con = n_aff = 0
    first = True
    for layer in layers[1:]:
        kind = layer[0]
        if kind in ("tag", "skip"):
            continue  # no details of their own
        if kind == "con":
            _, n, k, stride = layer
            s.expect("con_4")
            params = s.tensor().ravel()
            got = (s.int(), s.int(), s.int(), s.int(), s.int())
            pad = (s.int(), s.int())
            filt, bias = s.alias_tensor(), s.alias_tensor()
            for _ in range(4):
                s.float()  # learning-rate and weight-decay multipliers
            if got[0] != n or got[1:3] != (k, k) or got[3:] != (stride, stride):
                raise ModelFormatError(
                    f"convolution {n_con}: {got[0]} filters {got[1]}x{got[2]} stride {got[3]}, "
                    f"anet_type has {n} filters {k}x{k} stride {stride}"
                )
            size_w = int(np.prod(filt))
            if filt[0] != n or bias != (1, n, 1, 1) or len(params) != size_w + n:
                raise ModelFormatError(f"convolution {n_con}: parameter sizes do not match")
            out[f"con{n_con}_w"] = params[:size_w].reshape(filt)
            out[f"con{n_con}_b"] = params[size_w:]
            out[f"con{n_con}_pad"] = np.array(pad, np.int64)
            n_con += 1
        elif kind == "affine":
            s.expect("affine_")
            params = s.tensor().ravel()
            g, b = s.alias_tensor(), s.alias_tensor()
            mode = s.int()
            c = len(params) // 2
            if g != (1, c, 1, 1) or b != g or mode != 0:  # mode 0: CONV_MODE, one scale per channel
                raise ModelFormatError(f"affine layer {n_aff}: not a per-channel (CONV_MODE) affine layer")
            out[f"affine{n_aff}_g"], out[f"affine{n_aff}_b"] = params[:c], params[c:]
            n_aff += 1
        elif kind == "relu":
            s.expect("relu_")
        elif kind == "add_prev":
            s.expect("add_prev_")
        elif kind in ("max_pool", "avg_pool"):
            s.expect(f"{kind}_2")
            win = (s.int(), s.int())
            strides = (s.int(), s.int())
            pad = (s.int(), s.int())
            if win != (layer[1], layer[1]) or strides != (layer[2], layer[2]) or pad != (0, 0):
                raise ModelFormatError(
                    f"{kind}: window {win}, stride {strides}, padding {pad}; "
                    f"anet_type has {layer[1]}x{layer[1]} stride {layer[2]}, no padding"
                )
        elif kind == "fc":
            s.expect("fc_2")
            n_out, n_in = s.int(), s.int()
            params = s.tensor().ravel()
            _w, b = s.alias_tensor(), s.alias_tensor()  # the weight alias is read to advance the stream
            bias_mode = s.int()
            for _ in range(4):
                s.float()
            if n_out != layer[1] or bias_mode != 1 or len(params) != n_in * n_out:  # 1: FC_NO_BIAS
                raise ModelFormatError(
                    f"fc layer: {n_out} outputs, bias mode {bias_mode}; anet_type has fc_no_bias<128>"
                )
            out["fc_w"] = params.reshape(n_in, n_out)
        else:  # pragma: no cover - anet_layers() holds no other kind
            raise AssertionError(kind)
        _training_state(s, lowest_version if first else None)
        first = False
    if not s.at_end():
        raise ModelFormatError(f"{len(data) - s.i} unexpected bytes after the network")
    return out


class Affine(nn.Module):
    """dlib's ``affine_`` layer: a frozen batch norm, ``x * gamma + beta`` per channel."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("gamma", torch.ones(channels))
        self.register_buffer("beta", torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.beta[:, None, None], x, self.gamma[:, None, None])


def _add_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's ``add_prev``: tensors of different shapes are added as if the smaller were zero-padded
    at the end of each axis (channels, rows, columns) to the larger shape."""
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(x, y) for x, y in zip(a.shape[1:], b.shape[1:]))

    def pad(t: torch.Tensor) -> torch.Tensor:
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return pad(a) + pad(b)


class Residual(nn.Module):
    """``ares`` (identity shortcut) or ``ares_down`` (stride-2 block, 2x2 average-pooled shortcut)."""

    def __init__(self, c_in: int, c_out: int, down: bool):
        super().__init__()
        stride = 2 if down else 1
        self.down = down
        # padding: dlib's default, 0 for strided convolutions, k/2 otherwise (the file says so too)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, padding=0 if down else 1)
        self.aff1 = Affine(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, padding=1)
        self.aff2 = Affine(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.aff2(self.conv2(F.relu(self.aff1(self.conv1(x)))))
        shortcut = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(_add_padded(y, shortcut))


class DlibFaceResNet(nn.Module):
    """dlib's ``anet_type``: (N, 3, 150, 150) RGB chips (0-255 floats) -> (N, 128) descriptors.

    The descriptor is the raw fc output, as ``face_recognition_model_v1.compute_face_descriptor``
    returns it (not normalised; same-person pairs are < 0.6 apart in Euclidean distance).
    """

    # (channels, down) of each residual unit, from the input outwards (alevel4 ... alevel0)
    UNITS = (
        ((32, False),) * 3
        + ((64, True),)
        + ((64, False),) * 3
        + ((128, True),)
        + ((128, False),) * 2
        + ((256, True),)
        + ((256, False),) * 2
        + ((256, True),)
    )

    #: the stem convolution's filters, the fc layer's outputs and whether it has a bias: what another
    #: network of the same dlib family (models/dlib_age.py) changes besides ``UNITS``
    STEM = 32
    OUT_DIM = DESCRIPTOR_DIM
    FC_BIAS = False

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(3))
        self.conv = nn.Conv2d(3, self.STEM, 7, 2, padding=0)
        self.aff = Affine(self.STEM)
        units, c = [], self.STEM
        for c_out, down in self.UNITS:
            units.append(Residual(c, c_out, down))
            c = c_out
        self.units = nn.ModuleList(units)
        self.fc = nn.Linear(c, self.OUT_DIM, bias=self.FC_BIAS)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 256) pooled features under the fc layer (what a fine-tuned head would read) of (N, 3, H, W)
        RGB pixels (0-255 floats)."""
        x = (x - self.mean[:, None, None]) / 256.0
        x = F.max_pool2d(F.relu(self.aff(self.conv(x))), 3, 2)
        for unit in self.units:
            x = unit(x)
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))

    def convs_and_affines(self) -> tuple[list[nn.Conv2d], list[Affine]]:
        """The convolutions and affine layers in dlib's order (from the input outwards)."""
        convs, affs = [self.conv], [self.aff]
        for u in self.units:
            convs += [u.conv1, u.conv2]
            affs += [u.aff1, u.aff2]
        return convs, affs

    def load_dlib_arrays(self, arrays: dict[str, np.ndarray]) -> "DlibFaceResNet":
        """Copy the arrays of :func:`parse_dlib_face_resnet` in; shapes and paddings are checked."""
        convs, affs = self.convs_and_affines()
        with torch.no_grad():
            self.mean.copy_(torch.from_numpy(arrays["mean"]))
            for i, conv in enumerate(convs):
                w = torch.from_numpy(arrays[f"con{i}_w"])
                if w.shape != conv.weight.shape or tuple(arrays[f"con{i}_pad"]) != conv.padding:
                    raise ModelFormatError(
                        f"convolution {i}: {tuple(w.shape)} padding {tuple(arrays[f'con{i}_pad'])}, "
                        f"module has {tuple(conv.weight.shape)} padding {conv.padding}"
                    )
                conv.weight.copy_(w)
                conv.bias.copy_(torch.from_numpy(arrays[f"con{i}_b"]))
            for i, aff in enumerate(affs):
                aff.gamma.copy_(torch.from_numpy(arrays[f"affine{i}_g"]))
                aff.beta.copy_(torch.from_numpy(arrays[f"affine{i}_b"]))
            self.fc.weight.copy_(torch.from_numpy(arrays["fc_w"]).T)
        return self.eval()

    @classmethod
    def from_file(cls, path: str | os.PathLike, cache: str | os.PathLike | None = None) -> "DlibFaceResNet":
        """Load the dlib ``.dat`` model through the ``.npz`` cache (built on first use, rebuilt if damaged)."""
        path = Path(path)
        npz = cache_file(path, cache, CACHE_TAG)
        if npz.exists():
            try:
                with np.load(npz) as z:
                    return cls().load_dlib_arrays({k: z[k] for k in z.files})
            except (OSError, ValueError, KeyError, TypeError, RuntimeError):
                pass  # a damaged cache file: rebuild it below
        arrays = parse_dlib_face_resnet(path.read_bytes())
        save_npz_atomic(npz, arrays)
        return cls().load_dlib_arrays(arrays)

    @torch.inference_mode()
    def describe(self, chips: np.ndarray | Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """(N, 150, 150, 3) uint8 RGB chips, cut as ``dlib.get_face_chip`` cuts them -> (N, 128) float32."""
        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"chips must be (N, {CHIP_SIZE}, {CHIP_SIZE}, 3) RGB, got {chips.shape}")
        out = np.empty((len(chips), DESCRIPTOR_DIM), np.float32)
        for i in range(0, len(chips), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(chips[i : i + batch_size])).permute(0, 3, 1, 2).float()
            out[i : i + batch_size] = self(x).numpy()
        return out


_SHARED: dict[str, DlibFaceResNet] = {}


def get_face_resnet() -> DlibFaceResNet:
    """A process-wide network with the weights of face_recognition_models' descriptor model."""
    if "v1" not in _SHARED:
        _SHARED["v1"] = DlibFaceResNet.from_file(model_path(FACE_DESCRIPTOR))
    return _SHARED["v1"]
