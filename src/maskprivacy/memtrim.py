"""Give freed memory back to the operating system (glibc), so a long-running process returns to its size.

glibc's malloc keeps freed memory for reuse: after a 30-megapixel photo the web server kept hundreds
of megabytes it no longer used. Two of its own knobs fix that: a fixed mmap threshold (large arrays
are mapped and unmapped, instead of the threshold rising after the first big free so that later
ones stay on the heap), and ``malloc_trim`` after a job (frees what the heaps hold at their ends and
in their middles). Elsewhere (macOS, musl) both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20  # arrays of 1 MB and more are mapped, and unmapped when freed


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim, libc.mallopt  # noqa: B018 - glibc only
    except (OSError, AttributeError, TypeError):
        return None
    return libc


def return_freed_memory() -> None:
    """Set a fixed mmap threshold (call once, early, in a long-running process)."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, MMAP_THRESHOLD)


def trim() -> None:
    """Hand the heaps' free memory back to the system (after a job that allocated a lot)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
