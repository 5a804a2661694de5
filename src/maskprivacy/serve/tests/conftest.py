"""Fixtures for the serve stage: a run of untrained models and photos made from the sample faces."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """A run directory with untrained unmasked/masked models (tiny input: fast, real shapes)."""
    from maskprivacy.serve.demo_run import make_demo_run

    return make_demo_run(tmp_path_factory.mktemp("run"), input_size=32)


@pytest.fixture(scope="session")
def face_path(good_faces) -> Path:
    return good_faces[0]


def jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    b = io.BytesIO()
    Image.fromarray(rgb).save(b, "JPEG", quality=quality)
    return b.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims width x height (never decoded: refused from the header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def group_photo(faces: list[Path], size: tuple[int, int] = (1024, 768), face_px: int = 260) -> np.ndarray:
    """Sample faces pasted on a grey canvas (the benchmark builds its photos the same way)."""
    w, h = size
    canvas = np.full((h, w, 3), 118, np.uint8)
    for i, p in enumerate(faces):
        f = np.asarray(Image.open(p).convert("RGB").resize((face_px, face_px), Image.BICUBIC))
        x = 40 + i * (face_px + 60)
        y = 80 + (i % 2) * 200
        canvas[y:y + face_px, x:x + face_px] = f
    return canvas
