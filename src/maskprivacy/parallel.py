"""Worker pools that are safe to start from any process.

Forking a process that already runs threads (OpenCV's and PyTorch's thread pools, tqdm's monitor,
MediaPipe's) can deadlock the child on a lock some thread held at fork time: a masking run inside a
pytest run hung exactly so. ``forkserver`` forks workers from a clean single-threaded server
instead, and ``spawn`` is the fallback where it does not exist (Windows, macOS defaults).
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.pool import Pool
from typing import Any, Callable


def worker_pool(workers: int, initializer: Callable[..., Any] | None = None, initargs: tuple = ()) -> Pool:
    """A ``multiprocessing`` pool of ``workers`` processes started with forkserver (else spawn)."""
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    return mp.get_context(method).Pool(workers, initializer=initializer, initargs=initargs)


@contextmanager
def parallel_map(
    func: Callable[[Any], Any],
    jobs: Iterable[Any],
    workers: int,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple = (),
    chunksize: int = 1,
    local_init: Callable[[], Any] | None = None,
) -> Iterator[Iterator[Any]]:
    """``func`` over ``jobs`` in ``workers`` processes (results in completion order), or in this
    process, in order, when ``workers`` <= 1.

    The one pool loop of the project: every stage that decodes many images (masking, the training
    cache, the dlib descriptors) needs the same three things: workers initialised once, results as
    they finish, and on any exit (an error, Ctrl-C) the pool terminated, so no worker outlives the
    stage. ``local_init`` replaces ``initializer(*initargs)`` for the in-process case.

    >>> with parallel_map(abs, [-1, 2, -3], workers=1) as results:
    ...     list(results)
    [1, 2, 3]
    """
    if workers <= 1:
        if local_init is not None:
            local_init()
        elif initializer is not None:
            initializer(*initargs)
        yield map(func, jobs)
        return
    pool = worker_pool(workers, initializer=initializer, initargs=initargs)
    try:
        yield pool.imap_unordered(func, jobs, chunksize=chunksize)
    finally:
        pool.terminate()
        pool.join()


class _NoBar:
    """A progress bar that shows nothing (``--quiet``, tests)."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


@contextmanager
def progress_bar(enabled: bool = True, **tqdm_kwargs: Any) -> Iterator[Any]:
    """A tqdm bar (closed on exit) when ``enabled``, else one that shows nothing."""
    if not enabled:
        yield _NoBar()
        return
    from tqdm import tqdm

    bar = tqdm(smoothing=0.05, **tqdm_kwargs)
    try:
        yield bar
    finally:
        bar.close()
