"""dlib's face ResNet as an attacker backbone: the shipped weights, the same features, bundles that reload."""

from __future__ import annotations

import numpy as np
import torch

from maskprivacy.models.dlib_resnet import get_face_resnet
from maskprivacy.models.factory import ARCHS, create_model
from maskprivacy.models.predictor import Predictor
from maskprivacy.models.preprocess import normalize


def test_dlib_face_backbone_reads_pixels_as_dlib_does():
    assert "dlib_face" in ARCHS
    model = create_model("dlib_face", ("sex", "age"))
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 3, 112, 112)).astype(np.float32))
    with torch.no_grad():
        ours = model.backbone(normalize(x / 255.0))  # the ImageNet-normalised input every backbone gets
        dlib = get_face_resnet().features(x)  # dlib's own network on the 0-255 pixels
    assert ours.shape == (2, 256) and torch.allclose(ours, dlib, atol=1e-3)
    out = model(normalize(x / 255.0))
    assert out["sex"].shape == (2, 2) and out["age"].shape == (2,)


def test_dlib_face_bundle_reloads_without_the_shipped_weights(tmp_path):
    model = create_model("dlib_face", ("sex", "race", "age", "age_bucket"), pretrained=False)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    p = Predictor(
        model, arch="dlib_face", stem="imagenet", input_size=112, crop=(0, 0, 1, 1), masked=True, device="cpu"
    )
    p.save(tmp_path / "model.pt")
    q = Predictor.load(tmp_path / "model.pt")
    faces = np.random.default_rng(1).integers(0, 256, (3, 120, 120, 3)).astype(np.uint8)
    a, b = p.predict(faces), q.predict(faces)
    assert np.allclose(a["sex"], b["sex"], atol=1e-5) and np.allclose(a["age"], b["age"], atol=1e-4)
