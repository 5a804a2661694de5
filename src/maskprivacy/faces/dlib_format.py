"""Reading dlib's serialisation format (dlib/serialize.h, dlib/dnn/tensor.h), shared by the two
model readers: the batched shape predictor (``faces/batch_predictor.py``) and dlib's face ResNet
in PyTorch (``models/dlib_resnet.py``).

Why here: both read files of ``face_recognition_models`` with the same integer and float encodings
and cache what they derive from them in the same place, so the decoding lives in one module.

The format: an integer is a header byte whose low 4 bits give the byte count and whose bit 7 is
the sign, then the magnitude, little-endian; a float or double is two such integers (mantissa,
exponent); a string is its length then its bytes; a ``bool`` is the character ``'0'`` or ``'1'``;
a DNN tensor (``resizable_tensor``) is a version (2), its four dimensions, then raw 4-byte
little-endian IEEE floats (not the portable float encoding: dlib chose compactness there).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from maskprivacy.atomic import replacing


class ModelFormatError(ValueError):
    """The file is not a dlib model of the layout the reader expects."""


def cache_dir() -> Path:
    """Where derived model files go: ``$MASKPRIVACY_CACHE``, else ``$XDG_CACHE_HOME/maskprivacy``."""
    if os.environ.get("MASKPRIVACY_CACHE"):
        return Path(os.environ["MASKPRIVACY_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "maskprivacy"


def cache_file(path: str | os.PathLike, cache: str | os.PathLike | None = None, tag: str = "") -> Path:
    """The ``.npz`` derived from model ``path``, keyed by its size and modification time (and ``tag``,
    a version of the derived layout), so a replaced model file is never read through a stale cache."""
    path = Path(path)
    st = path.stat()
    folder = Path(cache) if cache is not None else cache_dir()
    return folder / f"{path.stem}-{st.st_size}-{st.st_mtime_ns}{tag}.npz"


def save_npz_atomic(npz: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``npz`` through a temporary file; a read-only cache folder is not an error
    (the caller works from memory), since the cache only saves parsing time."""
    try:
        with replacing(npz) as tmp, tmp.open("wb") as f:
            np.savez(f, **arrays)
    except OSError:
        pass


def varints(data: bytes) -> np.ndarray:
    """Every integer of a stream made only of dlib integers, in order, as int64 (vectorised)."""
    step = bytes(1 + (k & 15) for k in range(256))
    lengths = data.translate(step)
    starts: list[int] = []
    append = starts.append
    i, n = 0, len(data)
    while i < n:  # each integer's length is in its first byte: a sequential walk (the one slow part)
        append(i)
        i += lengths[i]
    if i != n:
        raise ModelFormatError("truncated dlib stream")
    buf = np.frombuffer(data + b"\0" * 9, dtype=np.uint8)
    pos = np.asarray(starts, dtype=np.int64)
    head = buf[pos]
    size = (head & 15).astype(np.int64)
    if (size > 8).any() or (size == 0).any() or (head & 0x70).any():
        raise ModelFormatError("not a dlib serialisation stream")
    value = np.zeros(len(pos), dtype=np.uint64)
    for k in range(8):
        on = size > k
        value[on] |= buf[pos[on] + 1 + k].astype(np.uint64) << np.uint64(8 * k)
    out = value.astype(np.int64)
    out[(head & 0x80) != 0] *= -1
    return out


def floats_from_pairs(pairs: np.ndarray) -> np.ndarray:
    """(..., 2) mantissa/exponent integer pairs -> float32 values."""
    exp = pairs[..., 1]
    if (np.abs(exp) > 2000).any():  # dlib's codes for inf/nan: never in a trained model
        raise ModelFormatError("non-finite value in the model")
    return np.ldexp(pairs[..., 0].astype(np.float64), exp.astype(np.int32)).astype(np.float32)


class DlibStream:
    """A cursor over a dlib object stream of mixed items (integers, floats, strings, bools, tensors),
    as dlib's DNN layers write them; every read checks the stream has the bytes it needs."""

    def __init__(self, data: bytes):
        self.data, self.i = data, 0

    def _take(self, n: int) -> bytes:
        if self.i + n > len(self.data):
            raise ModelFormatError(f"stream ends at byte {len(self.data)}, {n} more bytes wanted at {self.i}")
        out = self.data[self.i : self.i + n]
        self.i += n
        return out

    def int(self) -> int:
        if self.i >= len(self.data):
            raise ModelFormatError("stream ends where an integer was expected")
        head = self.data[self.i]
        return int(varints(self._take(1 + (head & 15)))[0])

    def float(self) -> float:
        return float(floats_from_pairs(np.array([self.int(), self.int()])))

    def string(self) -> str:
        n = self.int()
        if not 0 <= n < 1 << 20:
            raise ModelFormatError(f"implausible string length {n}")
        return self._take(n).decode("latin-1")

    def bool(self) -> bool:
        c = self._take(1)
        if c not in (b"0", b"1"):
            raise ModelFormatError(f"expected a bool ('0' or '1') at byte {self.i - 1}, found {c!r}")
        return c == b"1"

    def expect(self, name: str) -> None:
        """Read a layer's version string and insist on ``name``."""
        at = self.i
        got = self.string()
        if got != name:
            raise ModelFormatError(f"expected {name!r} at byte {at}, found {got!r}")

    def tensor(self) -> np.ndarray:
        """A ``resizable_tensor``: (num_samples, k, nr, nc) float32."""
        if (v := self.int()) != 2:
            raise ModelFormatError(f"tensor of unknown version {v}")
        shape = tuple(self.int() for _ in range(4))
        if min(shape) < 0:
            raise ModelFormatError(f"tensor of negative size {shape}")
        n = int(np.prod(shape))
        return np.frombuffer(self._take(4 * n), dtype="<f4").astype(np.float32).reshape(shape)

    def alias_tensor(self) -> tuple[int, int, int, int]:
        """An ``alias_tensor``: only the shape of a view into a layer's parameter tensor."""
        if (v := self.int()) != 1:
            raise ModelFormatError(f"alias_tensor of unknown version {v}")
        return tuple(self.int() for _ in range(4))  # type: ignore[return-value]

    def at_end(self) -> bool:
        return self.i == len(self.data)
