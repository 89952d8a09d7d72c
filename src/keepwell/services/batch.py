"""Helpers for the use cases that work on a whole book at once."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a use case builds hundreds of thousands
    of small records that all stay alive until it ends: each full collection walks all of
    them again, for nothing (a third of a team's year of scorecards on PostgreSQL). Nothing
    such work builds holds reference cycles; the collector runs as usual afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
