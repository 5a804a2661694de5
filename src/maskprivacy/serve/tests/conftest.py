"""Fixtures for the serve stage: a run of untrained models and photos made from the sample faces."""
from __future__ import annotations

import io
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
