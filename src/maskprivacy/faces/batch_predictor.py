"""dlib's 68-point shape predictor, evaluated for a whole batch of faces at once.

Why: dlib's ``shape_predictor`` was a large share of the masker's CPU time (``scripts/bench_mask.py`` prints its time a face).
The model is an ensemble of regression trees (Kazemi & Sullivan 2014): 15 cascades of 500 depth-4
trees, each leaf holding a 136-float shape update, 65 MB of leaves in all. dlib walks it one face at
a time, so every face pulls ~7,500 scattered leaves from memory. Here the *same model file* (read
from face_recognition_models, nothing retrained) is evaluated cascade by cascade for many faces
together: all 7,500 split tests of a cascade are one vectorised comparison, the leaf reached in each
tree comes from a lookup table of the split bits, and the leaf updates are summed with
``torch.nn.functional.embedding_bag`` while the cascade's leaves are hot in the cache.

The arithmetic follows dlib's ``shape_predictor::operator()`` step by step (similarity transform by
Umeyama's method, feature pixels at anchor + transformed delta rounded to the nearest pixel, ``a - b
> thresh`` splits, ``floor(x + 0.5)`` rounding of the parts), so the points agree with dlib's up to
float summation order: ``tests/test_batch_predictor.py`` checks the distance, and
``scripts/bench_mask.py`` prints it on a sample of the archive.

dlib's file format (dlib/serialize.h, decoded by ``maskprivacy.faces.dlib_format``) is here a stream of
variable-length integers only; floats are two such integers (mantissa, exponent). Parsing the 100 MB file takes seconds, so the
arrays are cached as ``.npz`` next to other user caches (``MASKPRIVACY_CACHE`` or
``~/.cache/maskprivacy``), keyed by the model file's size and modification time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from maskprivacy.faces.dlib_format import ModelFormatError, cache_file, floats_from_pairs, save_npz_atomic, varints
from maskprivacy.faces.model_files import SHAPE_68, model_path

# torch is imported when the batched predictor is built: the masking stage's workers that use dlib's
# own predictor never load it.

Box = tuple[int, int, int, int]


class _Reader:
    """Walks the integer stream with the layout of dlib's shape_predictor serialisation."""

    def __init__(self, v: np.ndarray):
        self.v, self.i = v, 0

    def int(self) -> int:
        x = int(self.v[self.i])
        self.i += 1
        return x

    def block(self, n: int) -> np.ndarray:
        out = self.v[self.i : self.i + n]
        if len(out) != n:
            raise ModelFormatError("stream ends inside an array")
        self.i += n
        return out

    floats = staticmethod(floats_from_pairs)

    def column(self) -> np.ndarray:
        nr, nc = abs(self.int()), abs(self.int())
        if nc != 1:
            raise ModelFormatError(f"expected a column vector, got {nr}x{nc}")
        return self.floats(self.block(2 * nr).reshape(nr, 2))


def parse_dlib_shape_predictor(data: bytes) -> dict[str, np.ndarray]:
    """dlib ``shape_predictor`` bytes -> arrays (see :class:`BatchShapePredictor` for their shapes)."""
    r = _Reader(varints(data))
    if r.int() != 1:
        raise ModelFormatError("unknown shape_predictor version")
    initial = r.column()
    d = len(initial)
    n_cascades = r.int()
    n_trees = int(r.v[r.i])
    # Every tree of a trained model has the same depth, so a cascade is a regular block of integers:
    # [n_splits, n_splits * (idx1, idx2, mantissa, exponent), n_leaves, n_leaves * (nr, nc, d * 2)].
    n_splits = int(r.v[r.i + 1])
    n_leaves = n_splits + 1
    tree_len = 1 + 4 * n_splits + 1 + n_leaves * (2 + 2 * d)
    idx1 = np.empty((n_cascades, n_trees, n_splits), np.int32)
    idx2 = np.empty_like(idx1)
    thresh = np.empty((n_cascades, n_trees, n_splits), np.float32)
    leaves = np.empty((n_cascades, n_trees * n_leaves, d), np.float32)
    for c in range(n_cascades):
        if r.int() != n_trees:
            raise ModelFormatError("cascades of different sizes")
        blk = r.block(n_trees * tree_len).reshape(n_trees, tree_len)
        if (blk[:, 0] != n_splits).any() or (blk[:, 1 + 4 * n_splits] != n_leaves).any():
            raise ModelFormatError("trees of different depths")
        sp = blk[:, 1 : 1 + 4 * n_splits].reshape(n_trees, n_splits, 4)
        idx1[c], idx2[c] = sp[..., 0], sp[..., 1]
        thresh[c] = _Reader.floats(sp[..., 2:4])
        lv = blk[:, 2 + 4 * n_splits :].reshape(n_trees, n_leaves, 2 + 2 * d)
        if (np.abs(lv[..., 0]) != d).any() or (np.abs(lv[..., 1]) != 1).any():
            raise ModelFormatError("leaf vectors of unexpected size")
        leaves[c] = _Reader.floats(lv[..., 2:].reshape(n_trees, n_leaves, d, 2)).reshape(n_trees * n_leaves, d)
    if r.int() != n_cascades:
        raise ModelFormatError("anchor list does not match the cascades")
    anchors, deltas = [], []
    for _ in range(n_cascades):
        n = r.int()
        anchors.append(r.block(n).astype(np.int32))
    if r.int() != n_cascades:
        raise ModelFormatError("delta list does not match the cascades")
    for _ in range(n_cascades):
        n = r.int()
        deltas.append(_Reader.floats(r.block(4 * n).reshape(n, 2, 2)))
    if r.i != len(r.v):
        raise ModelFormatError("unexpected data after the model")
    return {
        "initial": initial.reshape(-1, 2),
        "idx1": idx1,
        "idx2": idx2,
        "thresh": thresh,
        "leaves": leaves,
        "anchors": np.stack(anchors),
        "deltas": np.stack(deltas),
    }


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Linear part (N, 2, 2) of the similarity transform mapping ``src`` (P, 2) onto each ``dst`` (N, P, 2).

    dlib's ``find_similarity_transform`` is Umeyama's least squares: ``c * U S V^T`` from the SVD of
    the cross-covariance, with S making the rotation proper. In 2-D that optimum has a closed form:
    with cov = [[a, b], [c, d]], the best proper rotation has angle atan2(c - b, a + d) and
    c * R = [[a + d, b - c], [c - b, a + d]] / var(src), which needs no SVD per face (the tests
    compare it with the SVD formula).
    """
    a = src.astype(np.float64) - src.mean(0)
    sigma = (a**2).sum(1).mean()
    cov = dst.astype(np.float64).transpose(0, 2, 1) @ a / len(src)  # centring dst is not needed: sum(a) = 0
    p = cov[:, 0, 0] + cov[:, 1, 1]
    q = cov[:, 1, 0] - cov[:, 0, 1]
    if sigma == 0:
        return np.repeat(np.eye(2)[None], len(dst), 0)
    m = np.empty((len(dst), 2, 2))
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = p, -q, q, p
    return m / sigma


def similarity_svd(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The SVD form of :func:`_similarity`, line by line as dlib writes it (kept for the tests)."""
    src = src.astype(np.float64)
    dst = dst.astype(np.float64)
    a, b = src - src.mean(0), dst - dst.mean(1, keepdims=True)
    sigma = (a**2).sum(1).mean()
    cov = np.einsum("npi,pj->nij", b, a) / len(src)
    u, s, vt = np.linalg.svd(cov)
    det_cov = np.linalg.det(cov)
    flip = (det_cov < 0) | ((det_cov == 0) & (np.linalg.det(u) * np.linalg.det(vt) < 0))
    sign = np.ones_like(s)
    sign[flip, 1] = -1.0  # numpy's singular values are sorted: index 1 is the smaller
    r = u @ (sign[:, :, None] * vt)
    return ((s * sign).sum(1) / sigma)[:, None, None] * r


@dataclass
class BatchShapePredictor:
    """The arrays of a dlib shape predictor and a batched ``predict``.

    initial (P, 2) mean shape in box units; per cascade c: idx1/idx2/thresh (C, T, S) split tests on
    feature pixels, leaves (C, T * (S + 1), 2P) shape updates, anchors (C, F) and deltas (C, F, 2)
    placing the F feature pixels relative to the current shape.
    """

    initial: np.ndarray
    idx1: np.ndarray
    idx2: np.ndarray
    thresh: np.ndarray
    leaves: np.ndarray
    anchors: np.ndarray
    deltas: np.ndarray

    def __post_init__(self) -> None:
        import torch

        n_cascades, n_trees, n_splits = self.idx1.shape
        self._depth = int(np.log2(n_splits + 1))
        if 2**self._depth != n_splits + 1:
            raise ModelFormatError(f"trees with {n_splits} splits are not complete binary trees")
        self._tree_base = (np.arange(n_trees) * n_splits)[:, None]  # first split test of each tree
        self._tree_offset = (np.arange(n_trees) * (n_splits + 1))[:, None]  # first leaf of each tree
        self._leaves_t = [torch.from_numpy(np.ascontiguousarray(x)) for x in self.leaves]
        self._idx1 = self.idx1.reshape(n_cascades, -1)
        self._idx2 = self.idx2.reshape(n_cascades, -1)
        self._thresh = self.thresh.reshape(n_cascades, -1)

    @staticmethod
    def cache_file(path: str | os.PathLike, cache: str | os.PathLike | None = None) -> Path:
        """Where the arrays of model ``path`` are cached (keyed by its size and modification time)."""
        return cache_file(path, cache)

    @classmethod
    def from_file(cls, path: str | os.PathLike, cache: str | os.PathLike | None = None) -> "BatchShapePredictor":
        """Load a dlib ``.dat`` model, through the ``.npz`` cache (built on first use)."""
        path = Path(path)
        npz = cls.cache_file(path, cache)
        if npz.exists():
            try:
                with np.load(npz) as z:
                    return cls(**{k: z[k] for k in z.files})
            except (OSError, ValueError, KeyError, TypeError):
                pass  # a damaged cache file: rebuild it below
        arrays = parse_dlib_shape_predictor(path.read_bytes())
        save_npz_atomic(npz, arrays)
        return cls(**arrays)

    def predict(self, grays: Sequence[np.ndarray], boxes: Sequence[Box]) -> np.ndarray:
        """68 points (N, P, 2) int32 for face ``boxes[i]`` (left, top, right, bottom) in ``grays[i]`` (uint8 HxW)."""
        import torch
        import torch.nn.functional as F

        n = len(boxes)
        p = len(self.initial)
        if n == 0:
            return np.zeros((0, p, 2), np.int32)
        if len(grays) != n:
            raise ValueError("one image per box")
        # All images in one flat buffer, so every face's feature pixels are one gather.
        hs = np.array([g.shape[0] for g in grays], np.int64)
        ws = np.array([g.shape[1] for g in grays], np.int64)
        flat = np.concatenate(
            [np.ascontiguousarray(g, dtype=np.uint8).reshape(-1) for g in grays] + [np.zeros(1, np.uint8)]
        )
        offset = np.concatenate([[0], np.cumsum(hs * ws)[:-1]])
        outside = len(flat) - 1  # a zero: dlib's value for pixels off the image
        bx = np.asarray(boxes, dtype=np.float64).reshape(n, 4)
        origin, extent = bx[:, None, :2], (bx[:, 2:] - bx[:, :2])[:, None, :]
        shape = np.repeat(self.initial[None], n, 0).astype(np.float32)  # (N, P, 2) in box units
        n_trees, n_splits = self.idx1.shape[1:]
        cols = np.arange(n)[None, :]
        for c in range(len(self.leaves)):
            m = _similarity(self.initial, shape).astype(np.float32)  # (N, 2, 2)
            rel = self.deltas[c] @ m.transpose(0, 2, 1) + shape[:, self.anchors[c]]  # (N, F, 2)
            xy = np.floor(origin + rel.astype(np.float64) * extent + 0.5).astype(np.int64)  # (N, F, 2)
            x, y = xy[..., 0], xy[..., 1]
            inside = (x >= 0) & (y >= 0) & (x < ws[:, None]) & (y < hs[:, None])
            where = np.where(inside, offset[:, None] + y * ws[:, None] + x, outside)
            pix = flat[where.T].astype(np.float32)  # (F, N): rows gather fast
            # every split test of the cascade, (T*S, N), then each tree's path through its outcomes
            go_left = (pix[self._idx1[c]] - pix[self._idx2[c]]) > self._thresh[c][:, None]
            node = np.zeros((n_trees, n), np.int64)
            for _ in range(self._depth):
                node = 2 * node + 2 - go_left.ravel().take((self._tree_base + node) * n + cols)
            leaf = (node - n_splits + self._tree_offset).T  # (N, T) rows of the leaf table
            update = F.embedding_bag(torch.from_numpy(leaf), self._leaves_t[c], mode="sum")
            shape += update.numpy().reshape(n, p, 2)
        pts = np.floor(origin + shape.astype(np.float64) * extent + 0.5)
        return pts.astype(np.int32)


_SHARED: dict[str, BatchShapePredictor] = {}


def prepare_batch_predictor() -> None:
    """Build the model cache once, before worker processes start (each would otherwise parse the file)."""
    if not BatchShapePredictor.cache_file(model_path(SHAPE_68)).exists():
        get_batch_predictor()


def get_batch_predictor() -> BatchShapePredictor:
    """A process-wide predictor for the 68-point model of face_recognition_models."""
    if "68" not in _SHARED:
        _SHARED["68"] = BatchShapePredictor.from_file(model_path(SHAPE_68))
    return _SHARED["68"]
