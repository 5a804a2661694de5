"""Worker pools that are safe to start from any process.

Forking a process that already runs threads (OpenCV's and PyTorch's thread pools, tqdm's monitor,
MediaPipe's) can deadlock the child on a lock some thread held at fork time: a masking run inside a
test session hung exactly so. ``forkserver`` forks workers from a clean single-threaded server
instead, and ``spawn`` is the fallback where it does not exist (Windows, macOS defaults).
"""
from __future__ import annotations

import multiprocessing as mp
from multiprocessing.pool import Pool
from typing import Any, Callable


def worker_pool(workers: int, initializer: Callable[..., Any] | None = None, initargs: tuple = ()) -> Pool:
    """A ``multiprocessing`` pool of ``workers`` processes started with forkserver (else spawn)."""
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    return mp.get_context(method).Pool(workers, initializer=initializer, initargs=initargs)
