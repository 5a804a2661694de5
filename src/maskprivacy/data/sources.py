"""Where images come from: a folder, or UTKFace's ``UTKFace.tar.gz`` exactly as users download it.

Reading the archive as a stream avoids asking users to unpack 23,708 files by hand, and gives
every later stage one iterator of ``(name, bytes)`` whatever the source.
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


@dataclass(frozen=True)
class SourceItem:
    """One file of a dataset: its name relative to the dataset root and its raw bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class SkippedFile:
    """A file that is not an image by its name; reported, never silently ignored."""

    name: str
    reason: str


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def iter_source(path: str | os.PathLike, skipped: list[SkippedFile] | None = None) -> Iterator[SourceItem]:
    """Yield every image file of ``path`` (a folder or a .tar/.tar.gz archive), in a stable order.

    Names are base names (UTKFace's labels live in them, and the masked output keeps them).
    Files whose extension is not an image go to ``skipped`` with a reason. In a folder, files
    are sorted by name; in an archive, they come in archive order (streaming, so the 100 MB
    archive is read once without unpacking).
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"--data {root}: no such file or folder")
    if root.is_dir():
        for p in sorted(root.rglob("*")):
            if not p.is_file() or p.name.startswith("."):
                continue
            rel = p.relative_to(root).as_posix()
            if not _is_image_name(p.name):
                if skipped is not None:
                    skipped.append(SkippedFile(rel, "not an image file extension"))
                continue
            yield SourceItem(rel, p.read_bytes())
    elif is_archive(root):
        mode = "r|*"
        with tarfile.open(root, mode) as tar:
            for member in tar:
                if not member.isfile():
                    continue
                base = os.path.basename(member.name)
                if base.startswith("."):
                    continue
                if not _is_image_name(base):
                    if skipped is not None:
                        skipped.append(SkippedFile(member.name, "not an image file extension"))
                    continue
                f = tar.extractfile(member)
                if f is None:  # pragma: no cover - isfile() members always have data
                    continue
                yield SourceItem(base, f.read())
    else:
        raise ValueError(f"--data {root}: expected a folder of images or a .tar.gz archive")


def count_images(path: str | os.PathLike) -> int | None:
    """Number of image files, for progress bars; None when counting would mean reading an archive."""
    root = Path(path)
    if root.is_dir():
        return sum(1 for p in root.rglob("*") if p.is_file() and _is_image_name(p.name))
    return None
