"""Files that are either whole or absent.

Every stage writes its outputs through here so that an interrupted run (Ctrl-C, a killed job, a full
disk) never leaves a half-written file that a resumed run would take for a finished one: the bytes go
to a temporary sibling first and ``os.replace`` (atomic on POSIX and Windows) puts them in place.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["replacing", "write_bytes", "write_json", "write_text", "json_default"]


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends normally, move it onto ``path``.

    The temporary name ends in ``.part`` so a leftover from a killed process is recognisable; it is
    removed when the block raises. Write to it by name or through ``tmp.open("wb")`` (NumPy's
    ``np.save`` appends ``.npy`` to a name without it, so pass it a file object).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> with replacing(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("whole")
    >>> (d / "x.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('whole', ['x.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def json_default(o: Any) -> Any:
    """JSON for what the stages put in their records: NumPy scalars and arrays, paths, sets, tuples."""
    if hasattr(o, "tolist"):  # NumPy (and torch) scalars and arrays
        return o.tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON with a final newline, atomically; return the path."""
    return write_text(path, json.dumps(obj, indent=2, default=json_default) + "\n")
