"""Applying what waits in rounds, and asking for it without asking a thousand times.

A webhook burst stores deliveries in many small commits. Applying each commit's deliveries
in a transaction of their own would cost a round each (its cost is mostly fixed: the rules,
the schedules, the threads to rebuild) and, on SQLite, hold the one write lock most of the
time, so that the next webhook waits for it. Instead one thread per process drains what
waits in rounds at least `pause` apart: under a burst each round takes all that came during
the last one (measured with bench/webhooks.py: 10 deliveries cost 9.6 ms, 200 cost 20 ms),
and when it is quiet the first delivery is applied at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Drainer:
    """Runs `one_round` until it finds nothing (it returns False), in one thread of the
    process at a time, starting rounds at least `pause` seconds apart. `drain` from any
    thread: if another is draining, it returns at once and that one runs another round."""

    def __init__(
        self,
        one_round: Callable[[], bool],
        pause: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._one_round = one_round
        self._pause = pause
        self._clock, self._sleep = clock, sleep
        self._asked = threading.Event()
        self._draining = threading.Lock()
        self._last_start = float("-inf")

    def drain(self) -> None:
        self._asked.set()
        # Checked again after letting go of the lock: a request that came while the last
        # round was ending found the lock taken and left the draining to us.
        while self._asked.is_set():
            if not self._draining.acquire(blocking=False):
                return  # the thread draining now runs another round for it
            try:
                self._rounds()
            finally:
                self._draining.release()

    def _rounds(self) -> None:
        while self._asked.is_set():
            self._asked.clear()
            found = True
            while found:
                self._sleep(max(0.0, self._last_start + self._pause - self._clock()))
                self._last_start = self._clock()
                found = self._one_round()


class Doorbell:
    """Calls `ring` at once, unless it rang less than `quiet` seconds ago: then once when
    that time is up, however many pressed it meanwhile. The web process rings the queue
    this way: one job for a burst's many commits, not one for each."""

    def __init__(self, ring: Callable[[], None], quiet: float) -> None:
        self._ring = ring
        self._quiet = quiet
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._later: threading.Timer | None = None

    def press(self) -> None:
        with self._lock:
            if self._later is not None:
                return  # it will ring
            wait = self._last + self._quiet - time.monotonic()
            if wait > 0:
                self._later = threading.Timer(wait, self._ring_later)
                self._later.daemon = True
                self._later.start()
                return
            self._last = time.monotonic()
        self._ring()

    def _ring_later(self) -> None:
        with self._lock:
            self._later, self._last = None, time.monotonic()
        try:
            self._ring()
        except Exception:  # the sweep re-enqueues what waits (`requeue_lost`)
            log.exception("could not enqueue the job that applies deliveries")

    def close(self) -> None:
        """Ring now what would ring later (a process stopping)."""
        with self._lock:
            later, self._later = self._later, None
        if later is not None:
            later.cancel()
            self._ring()
