"""Running one unit of background work once, or over and over (`--loop`).

SIGTERM and Ctrl-C let the unit in hand finish, then the loop ends: a worker stopped by its
supervisor never leaves a half-done unit behind (healthchecks' `sendreports --loop`).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType


def run_loop(unit: Callable[[], bool], *, loop: bool, interval: float) -> None:
    """Call `unit` once, or, looping, until stopped; it returns whether it did any work, and
    the loop sleeps `interval` seconds only when there was none."""
    if not loop:
        unit()
        return
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop.is_set():
            try:
                busy = unit()
            except KeyboardInterrupt:
                break
            if not busy:
                stop.wait(interval)
    finally:
        signal.signal(signal.SIGTERM, previous)


def log_to_stderr() -> None:
    """Keepwell's own messages (alerts written to the log, polls) at INFO on stderr; other
    libraries' at WARNING."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("keepwell").setLevel(logging.INFO)
