"""The batched 68-point predictor must read dlib's model file and give dlib's key points."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from maskprivacy.faces.batch_predictor import (
    BatchShapePredictor,
    _similarity,
    get_batch_predictor,
    parse_dlib_shape_predictor,
    similarity_svd,
)
from maskprivacy.faces.dlib_format import ModelFormatError
from maskprivacy.faces.dlib_format import varints as _varints
from maskprivacy.faces.landmarks import get_landmarker
from maskprivacy.faces.model_files import SHAPE_68, model_path


def _pack(v: int) -> bytes:
    """dlib's integer encoding (serialize.h, pack_int), written independently of the reader."""
    mag, neg = abs(v), v < 0
    body = mag.to_bytes(max(1, (mag.bit_length() + 7) // 8), "little")
    return bytes([len(body) | (0x80 if neg else 0)]) + body


def test_varints_decode_dlib_integers():
    values = [1, -136, 0, 255, 256, -1, 2**40 + 5, -(2**62)]
    assert _varints(b"".join(_pack(v) for v in values)).tolist() == values
    with pytest.raises(ModelFormatError):
        _varints(_pack(2**40)[:-1])  # cut inside an integer
    with pytest.raises(ModelFormatError):
        _varints(b"\x3f\x00")  # bits 4-6 set: not dlib's encoding


def _tiny_model_bytes() -> bytes:
    """A hand-built 2-point, 1-cascade, 1-tree model in dlib's layout (version, shape, forests, anchors, deltas)."""

    def f(x: float) -> bytes:
        m, e = (int(x * 2**20), -20)
        return _pack(m) + _pack(e)

    def col(xs: list[float]) -> bytes:
        return _pack(-len(xs)) + _pack(-1) + b"".join(f(x) for x in xs)

    out = _pack(1) + col([0.25, 0.5, 0.75, 0.5])
    out += _pack(1) + _pack(1)  # 1 cascade of 1 tree
    out += _pack(1) + _pack(0) + _pack(1) + f(10.0)  # 1 split: pixel 0 - pixel 1 > 10
    out += _pack(2) + col([0.0, 0.0, 0.0, 0.0]) + col([0.1, 0.0, 0.1, 0.0])
    out += _pack(1) + _pack(2) + _pack(0) + _pack(1)  # anchors: points 0 and 1
    out += _pack(1) + _pack(2) + f(0.0) + f(0.0) + f(0.0) + f(0.0)  # deltas: at the points themselves
    return out


def test_tiny_model_parses_and_predicts_by_hand(tmp_path):
    arrays = parse_dlib_shape_predictor(_tiny_model_bytes())
    assert arrays["initial"].tolist() == [[0.25, 0.5], [0.75, 0.5]]
    assert arrays["leaves"].shape == (1, 2, 4) and arrays["thresh"].tolist() == [[[10.0]]]
    bp = BatchShapePredictor(**arrays)
    img = np.zeros((100, 100), np.uint8)
    box = (0, 0, 100, 100)  # point 0 at (25, 50), point 1 at (75, 50)
    img[50, 25] = 200  # pixel 0 - pixel 1 = 200 > 10: left leaf (no move)
    assert bp.predict([img], [box])[0].tolist() == [[25, 50], [75, 50]]
    img[50, 25] = 0  # 0 - 0 > 10 is false: right leaf, +0.1 box widths in x
    assert bp.predict([img], [box])[0].tolist() == [[35, 50], [85, 50]]
    assert bp.predict([], []).shape == (0, 2, 2)
    with pytest.raises(ModelFormatError):
        parse_dlib_shape_predictor(_tiny_model_bytes() + _pack(7))  # trailing data
    with pytest.raises(ModelFormatError):
        parse_dlib_shape_predictor(_pack(2) + _tiny_model_bytes()[1:])  # another version


def test_closed_form_similarity_equals_umeyama_svd():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(68, 2))
    dst = np.stack(
        [src @ rng.normal(size=(2, 2)) + rng.normal(size=2) for _ in range(50)] + [src * [-1, 1]]
    )  # the last one mirrored: Umeyama keeps the rotation proper
    np.testing.assert_allclose(_similarity(src, dst), similarity_svd(src, dst), atol=1e-10)


@pytest.fixture(scope="module")
def faces(sample_dir: Path):
    lm = get_landmarker("fast")
    grays, boxes = [], []
    for p in sorted(sample_dir.glob("*.jpg"))[::10]:
        g = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        found = lm.detect(g)
        if found:
            grays.append(g)
            boxes.append(found[0])
    # two boxes that run off the image: dlib reads those feature pixels as 0
    g = grays[0]
    grays += [g[40:, 30:], g[:120, :150]]
    boxes += [tuple(np.subtract(boxes[0], (30, 40, 30, 40))), boxes[0]]
    return lm, grays, boxes


def test_points_match_dlib(faces):
    lm, grays, boxes = faces
    ours = get_batch_predictor().predict(grays, boxes)
    theirs = np.stack([lm.points(g, b) for g, b in zip(grays, boxes)])
    dist = np.linalg.norm((ours - theirs).astype(float), axis=-1)
    assert len(grays) >= 40
    # the same model and arithmetic: most points identical; float summation order flips a few splits
    assert (dist == 0).mean() > 0.9, (dist == 0).mean()
    assert dist.mean() < 0.2, dist.mean()


def test_cache_is_used_and_rebuilt_when_damaged(tmp_path, monkeypatch):
    src = model_path(SHAPE_68)
    first = BatchShapePredictor.from_file(src, cache=tmp_path)
    npz = list(tmp_path.glob("*.npz"))
    assert len(npz) == 1
    import maskprivacy.faces.batch_predictor as bpmod

    monkeypatch.setattr(bpmod, "parse_dlib_shape_predictor", lambda data: pytest.fail("cache not used"))
    again = BatchShapePredictor.from_file(src, cache=tmp_path)
    np.testing.assert_array_equal(again.leaves, first.leaves)
    monkeypatch.undo()
    npz[0].write_bytes(b"damaged")
    rebuilt = BatchShapePredictor.from_file(src, cache=tmp_path)
    np.testing.assert_array_equal(rebuilt.thresh, first.thresh)
