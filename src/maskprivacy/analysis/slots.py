"""Places for uploads: how many bodies may arrive, wait and be analysed at once, and the time analysis may take.

Two pools, so that a client that stops sending cannot block analysis: ``receiving`` counts bodies
still arriving (each may hold up to the upload limit, so they are bounded too), and the queue counts
only requests whose body is complete: at most ``n`` being analysed and ``waiting`` more waiting up to
``wait_s`` seconds for a slot. Beyond either: 503 with ``Retry-After`` and a message that says which
pool is full.

Thread primitives, not asyncio ones: the wait for a slot happens in a worker thread, so the event
loop never blocks and the object does not belong to one event loop.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from fastapi import HTTPException

from maskprivacy.analysis.limits import RETRY_AFTER_S


class OverBudget(Exception):
    """A photo's work passed its time budget; its request has been answered already."""


class Ticket:
    """One request's place in the queue, and later its slot; given back exactly once.

    Whoever finishes last gives it back: the worker when it ran (even after the request stopped
    waiting for it), else the request itself. So a worker abandoned past its budget keeps its slot
    (and the CPU it uses stays counted) until it stops.
    """

    def __init__(self, slots: Slots):
        self.slots = slots
        self.deadline = float("inf")
        self._has_slot = False
        self._running = False
        self._closed = False
        self._given_back = False

    def acquire(self, budget_s: float) -> None:
        """Wait (in a worker thread) up to ``wait_s`` for a slot; 503 without one. Starts the budget."""
        s = self.slots
        if not s.sem.acquire(timeout=s.wait_s):
            raise s.busy(f"no slot free within {s.wait_s:g} s")
        with s.lock:
            self._has_slot = True
            s.running += 1
        self.deadline = time.monotonic() + budget_s

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call ``fn(*args)`` in the worker thread holding the slot; nothing if the request gave up first."""
        with self.slots.lock:
            if self._closed:
                return None
            self._running = True
        try:
            return fn(*args)
        finally:
            self._give_back()

    def check(self) -> None:
        """Called between steps of the work: stop once the budget is spent (nobody waits for the result)."""
        if time.monotonic() > self.deadline:
            raise OverBudget

    def close(self) -> None:
        """The request is done with its ticket; gives it back unless its worker is still running."""
        with self.slots.lock:
            self._closed = True
            if self._running:
                return
        self._give_back()

    def _give_back(self) -> None:
        s = self.slots
        with s.lock:
            if self._given_back:
                return
            self._given_back = True
            s.admitted -= 1
            if self._has_slot:
                s.running -= 1
        if self._has_slot:
            s.sem.release()


class Slots:
    """At most ``n`` photos processed at once, ``waiting`` more queued ``wait_s`` seconds, ``receiving`` bodies arriving."""

    def __init__(self, n: int, waiting: int, wait_s: float, receiving: int = 8):
        if n < 1 or waiting < 0 or wait_s < 0 or receiving < 1:
            raise ValueError("max_concurrent and max_receiving must be >= 1, max_waiting >= 0, wait_s >= 0")
        self.n, self.waiting, self.wait_s, self.max_receiving = n, waiting, wait_s, receiving
        self.sem = threading.BoundedSemaphore(n)
        self.lock = threading.Lock()
        self.admitted = 0  # requests whose body is complete: being analysed or waiting for a slot
        self.running = 0  # of those, holding a slot
        self.receiving = 0  # bodies still arriving

    def busy(self, why: str) -> HTTPException:
        return HTTPException(
            503, f"the server is busy ({why}); try again in a few seconds", headers={"Retry-After": str(RETRY_AFTER_S)}
        )

    def start_receiving(self) -> None:
        """Count an upload in before its body is read (bounds the bodies in memory while they arrive)."""
        with self.lock:
            if self.receiving >= self.max_receiving:
                raise self.busy(f"{self.receiving} uploads are arriving, the most it receives at once")
            self.receiving += 1

    def done_receiving(self) -> None:
        with self.lock:
            self.receiving -= 1

    def admit(self) -> Ticket:
        """A place in the queue for a request whose body is complete; 503 when the queue is full."""
        with self.lock:
            if self.admitted >= self.n + self.waiting:
                raise self.busy(
                    f"{self.running} photo(s) being analysed and {self.admitted - self.running} waiting for a slot"
                )
            self.admitted += 1
        return Ticket(self)
