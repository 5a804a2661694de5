"""The masked-or-bare detector's network and bundle: shapes, one input path, a faithful round trip."""

from __future__ import annotations

import numpy as np
import torch

from maskprivacy.models.mask_classifier import (
    CHANNELS,
    MaskDetectorNet,
    load_mask_detector,
    save_mask_detector,
    to_input,
)


def _faces(n: int, side: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, 3), dtype=np.uint8)


def test_input_is_resampled_to_the_network_side_and_normalised():
    x = to_input(_faces(3, 40), 32)
    assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32
    grey = to_input(np.full((1, 40, 40, 3), 128, np.uint8), 32)
    assert torch.allclose(grey, torch.full_like(grey, (128 / 255 - 0.5) / 0.25), atol=1e-5)


def test_one_logit_per_face_at_any_input_side():
    net = MaskDetectorNet().eval()
    for side in (32, 48, 64):
        assert net(to_input(_faces(2, side), side)).shape == (2,)


def test_bundle_round_trip_reads_the_same_probabilities(tmp_path):
    torch.manual_seed(0)
    net = MaskDetectorNet().eval()
    info = {"input_size": 32, "cache_size": 40, "channels": list(CHANNELS), "threshold": 0.5}
    save_mask_detector(tmp_path / "model.pt", net, info)
    det = load_mask_detector(tmp_path / "model.pt")
    crops = _faces(4, 200, seed=1)  # aligned 200-px first cuts: shrunk to the cache side, then read
    p = det.probabilities(crops)
    assert p.shape == (4,) and np.all((p >= 0) & (p <= 1))
    import cv2

    small = np.stack([cv2.resize(c, (40, 40), interpolation=cv2.INTER_AREA) for c in crops])
    with torch.inference_mode():
        direct = torch.sigmoid(net(to_input(small, 32))).numpy()
    np.testing.assert_allclose(p, direct, rtol=1e-5, atol=1e-6)
    masked, prob = det.check(crops[0])
    assert masked == (prob >= 0.5) and prob == p[0]
    assert not list(tmp_path.glob("*.part"))  # written whole or not at all
