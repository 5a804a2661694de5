"""Shared pytest fixtures: where the read-only data live, and a corpus of hostile files."""
from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import os

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MASKPRIVACY_SHARED", REPO.parent / "shared"))
SAMPLE = (SHARED / "data" / "utkface-sample").resolve()
ARCHIVE = (SHARED / "data" / "UTKFace.tar.gz").resolve()
REALMASK = (SHARED / "data" / "realmask-dev").resolve()
MALFORMED = ("39_1_20170116174525125.jpg.chip.jpg", "61_1_20170109142408075.jpg.chip.jpg",
             "61_1_20170109150557335.jpg.chip.jpg")


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"data not found at {path} (clone the repo beside ../shared)")
    return path


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return _require(SAMPLE)


@pytest.fixture(scope="session")
def realmask_dir() -> Path:
    """The real-mask dev set (../shared/data/realmask-dev: photos of the same people with and without masks)."""
    root = REALMASK
    if not (root / "labels.csv").is_file():
        pytest.skip(f"realmask-dev not found at {root}")
    return root


@pytest.fixture(scope="session")
def good_faces(sample_dir: Path) -> list[Path]:
    """Eight well-named sample faces (sorted, so the choice is stable)."""
    files = sorted(p for p in sample_dir.iterdir() if p.name not in MALFORMED)
    return files[::70][:8]


def png_claiming(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims width x height (never decoded: refused from the header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def build_hostile_corpus(dst: Path, good: list[Path], sample_dir: Path) -> dict[str, str]:
    """Write good faces and hostile files into ``dst``; return {file name: expected status}."""
    dst.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}
    for p in good[:4]:
        shutil.copy(p, dst / p.name)
        expected[p.name] = "ok"
    face = Image.open(good[4]).convert("RGB")
    base = good[4].name.split(".")[0]

    def put(name: str, data: bytes, status: str) -> None:
        (dst / name).write_bytes(data)
        expected[name] = status

    def enc(im: Image.Image, fmt: str, **kw) -> bytes:
        b = io.BytesIO()
        im.save(b, fmt, **kw)
        return b.getvalue()

    put("30_0_0_20170101000000001.jpg.chip.jpg", b"", "unreadable")                      # zero bytes
    put("30_0_0_20170101000000002.jpg.chip.jpg", good[5].read_bytes()[:1500], "unreadable")  # truncated JPEG
    put("30_0_0_20170101000000003.jpg.chip.jpg", b"this is not an image\n" * 20, "unreadable")  # text
    put(f"{base}1.gray.jpg", enc(face.convert("L"), "JPEG", quality=95), "ok")             # grayscale
    rgba = face.convert("RGBA")
    rgba.putalpha(Image.new("L", face.size, 255))
    put(f"{base}2.rgba.png", enc(rgba, "PNG"), "ok")                                        # RGBA PNG
    put(f"{base}3.cmyk.jpg", enc(face.convert("CMYK"), "JPEG", quality=95), "ok")           # CMYK JPEG
    g16 = (np.asarray(face.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    put(f"{base}4.16bit.png", enc(Image.fromarray(g16), "PNG"), "ok")                        # 16-bit PNG
    put("30_0_0_20170101000000004.png", png_claiming(20000, 20000), "too_large")          # bomb
    rng = np.random.default_rng(0)
    noise = (rng.random((200, 200)) * 40 + 100).astype(np.uint8)
    put("30_0_0_20170101000000005.jpg", enc(Image.fromarray(noise), "JPEG"), "no_face")    # no face
    two = Image.new("RGB", (420, 200), (128, 128, 128))
    two.paste(Image.open(good[6]).convert("RGB"), (0, 0))
    two.paste(Image.open(good[7]).convert("RGB"), (220, 0))
    put("30_0_0_20170101000000006.jpg", enc(two, "JPEG", quality=95), "multiple_faces")   # two faces
    for name in MALFORMED:
        shutil.copy(sample_dir / name, dst / name)
        expected[name] = "bad_label"
    (dst / "notes.txt").write_text("not an image\n")
    expected["notes.txt"] = "skipped"
    return expected


@pytest.fixture()
def hostile_corpus(tmp_path: Path, good_faces: list[Path], sample_dir: Path) -> tuple[Path, dict[str, str]]:
    d = tmp_path / "corpus"
    return d, build_hostile_corpus(d, good_faces, sample_dir)
