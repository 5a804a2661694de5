"""dlib's face ResNet in PyTorch must give dlib's own descriptors, and must notice a mis-built network.

The reference is dlib itself: ``face_recognition_model_v1.compute_face_descriptor`` on sample faces,
against the torch network on the chips ``dlib.get_face_chip`` cuts from the same 68 points (what the
dlib attacker does). Skipped only where dlib or face_recognition_models is missing.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

dlib = pytest.importorskip("dlib")

from maskprivacy.data.imageio import decode_image  # noqa: E402
from maskprivacy.faces.dlib_format import ModelFormatError  # noqa: E402
from maskprivacy.faces.landmarks import get_landmarker  # noqa: E402
from maskprivacy.faces.model_files import FACE_DESCRIPTOR, model_path  # noqa: E402
from maskprivacy.models import dlib_resnet  # noqa: E402
from maskprivacy.models.dlib_resnet import (  # noqa: E402
    DlibFaceResNet,
    _add_padded,
    anet_layers,
    get_face_resnet,
    parse_dlib_face_resnet,
)
from maskprivacy.training.dlib_attacker import dlib_shape  # noqa: E402

N_FACES = 50
MIN_COSINE = 0.9999


@pytest.fixture(scope="module")
def model_file():
    try:
        return model_path(FACE_DESCRIPTOR)
    except FileNotFoundError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def faces(sample_dir, model_file) -> tuple[np.ndarray, np.ndarray]:
    """(chips, dlib's descriptors) of the first 50 sample faces dlib finds, in a stable hash order."""
    ref = dlib.face_recognition_model_v1(str(model_file))
    lm = get_landmarker("fast")
    chips, descs = [], []
    for p in sorted(sample_dir.glob("*.jpg"), key=lambda p: hashlib.sha256(p.name.encode()).hexdigest()):
        rgb = decode_image(p.read_bytes())
        found = lm.faces(rgb)
        if not found:
            continue
        f = found[0]
        shape = dlib_shape(f.box, f.points)
        chips.append(dlib.get_face_chip(rgb, shape, 150, 0.25))
        descs.append(np.asarray(ref.compute_face_descriptor(rgb, shape, 0, 0.25), np.float32))
        if len(chips) == N_FACES:
            break
    assert len(chips) == N_FACES
    return np.stack(chips), np.stack(descs)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return (a64 * b64).sum(1) / np.linalg.norm(a64, axis=1) / np.linalg.norm(b64, axis=1)


def test_descriptors_match_dlib_on_50_faces(faces):
    chips, ref = faces
    ours = get_face_resnet().describe(chips, batch_size=16)
    cos = _cosines(ours, ref)
    assert cos.min() >= MIN_COSINE, (cos.min(), int(cos.argmin()))
    # not only the direction: the same raw (unnormalised) vectors, to float rounding
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    # a batch gives what each face alone gives
    np.testing.assert_allclose(get_face_resnet().describe(chips[:3], batch_size=1), ours[:3], atol=1e-5)


def test_the_check_catches_a_misplaced_layer(faces):
    """Swapping two same-shaped residual units (or two affine layers) must break the 0.9999 check,
    so the check above would fail on a mis-ordered network."""
    chips, ref = faces
    net = get_face_resnet()
    swapped = DlibFaceResNet()
    swapped.load_state_dict(net.state_dict())
    with torch.no_grad():
        a, b = swapped.units[1], swapped.units[2]  # two ares<32> units of alevel4
        sa = {k: v.clone() for k, v in a.state_dict().items()}
        a.load_state_dict(b.state_dict())
        b.load_state_dict(sa)
    assert _cosines(swapped.eval().describe(chips[:10]), ref[:10]).min() < MIN_COSINE
    other = DlibFaceResNet()
    other.load_state_dict(net.state_dict())
    with torch.no_grad():
        u = other.units[4]  # an ares<64>: swap its two affine layers
        g, bt = u.aff1.gamma.clone(), u.aff1.beta.clone()
        u.aff1.gamma.copy_(u.aff2.gamma), u.aff1.beta.copy_(u.aff2.beta)
        u.aff2.gamma.copy_(g), u.aff2.beta.copy_(bt)
    assert _cosines(other.eval().describe(chips[:10]), ref[:10]).min() < MIN_COSINE


def test_architecture_is_dnn_face_recognition_ex():
    layers = anet_layers()
    kinds = [layer[0] for layer in layers]
    assert kinds.count("con") == kinds.count("affine") == kinds.count("relu") == 29
    assert kinds.count("add_prev") == 14 and kinds.count("avg_pool") == 5
    assert [layer[1] for layer in layers if layer[0] == "con"][::2] == [
        32,
        32,
        32,
        32,
        64,
        64,
        64,
        64,
        128,
        128,
        128,
        256,
        256,
        256,
        256,
    ]
    assert len(DlibFaceResNet.UNITS) == 14


def test_reader_rejects_a_different_layer_order(model_file, monkeypatch):
    data = model_file.read_bytes()
    good = anet_layers()
    # the stem's relu and affine exchanged: the file says affine_ where relu_ is expected
    bad = good[:2] + [good[3], good[2]] + good[4:]
    monkeypatch.setattr(dlib_resnet, "anet_layers", lambda: bad)
    with pytest.raises(ModelFormatError, match="relu_|affine_"):
        parse_dlib_face_resnet(data)
    # alevel3 built 128 wide instead of 64: the filter counts disagree
    wrong = [(lay[0], 128, *lay[2:]) if lay[0] == "con" and lay[1] == 64 else lay for lay in good]
    monkeypatch.setattr(dlib_resnet, "anet_layers", lambda: wrong)
    with pytest.raises(ModelFormatError, match="filters"):
        parse_dlib_face_resnet(data)
    monkeypatch.undo()
    with pytest.raises(ModelFormatError):
        parse_dlib_face_resnet(data[:-10])  # truncated
    with pytest.raises(ModelFormatError):
        parse_dlib_face_resnet(data + b"\x01\x00")  # trailing bytes
    with pytest.raises(ModelFormatError):
        parse_dlib_face_resnet(model_path("shape_predictor_68_face_landmarks.dat").read_bytes()[:4096])


def test_add_prev_zero_pads_the_smaller_tensor():
    a = torch.ones(1, 2, 3, 3)
    b = torch.full((1, 4, 4, 4), 10.0)
    out = _add_padded(a, b)
    assert out.shape == (1, 4, 4, 4)
    assert out[0, :2, :3, :3].eq(11).all() and out[0, 2:].eq(10).all() and out[0, :, 3].eq(10).all()


def test_describe_rejects_wrong_chips():
    net = DlibFaceResNet()
    with pytest.raises(ValueError, match="150"):
        net.describe(np.zeros((2, 100, 100, 3), np.uint8))
    assert net.describe(np.zeros((0, 150, 150, 3), np.uint8)).shape == (0, 128)


def test_cache_is_used_and_rebuilt_when_damaged(tmp_path, monkeypatch, model_file):
    first = DlibFaceResNet.from_file(model_file, cache=tmp_path)
    npz = list(tmp_path.glob("*.npz"))
    assert len(npz) == 1
    monkeypatch.setattr(dlib_resnet, "parse_dlib_face_resnet", lambda data: pytest.fail("cache not used"))
    again = DlibFaceResNet.from_file(model_file, cache=tmp_path)
    torch.testing.assert_close(again.state_dict(), first.state_dict())
    monkeypatch.undo()
    npz[0].write_bytes(b"damaged")
    rebuilt = DlibFaceResNet.from_file(model_file, cache=tmp_path)
    torch.testing.assert_close(rebuilt.state_dict(), first.state_dict())
