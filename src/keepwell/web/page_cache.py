"""What a page shows, computed once and shown again until the book changes (issue 13 §5).

A page's figures take several set-based queries (the inbox's business time left, the
attention reasons, an account's timeline): milliseconds each, far more than drawing the page.
Most views repeat: a CSM reloads Today, a manager opens the same accounts. So each page keeps
what its services returned, keyed by the question (who, which account, which filters), by
the book's *version* and by a short time bucket, and computes again only when one of them
moved:

- **The version** says whether anything was committed since. SQLite: `PRAGMA data_version`
  on a connection of our own that never writes, which changes whenever any other connection,
  in any process, commits to the file. PostgreSQL: `pg_current_snapshot()`, which changes
  whenever a transaction that writes starts or ends anywhere on the server; an unchanged
  snapshot sees the same committed rows. It is read before the figures are computed, so
  figures stored under a version are never older than it: a write makes the next view
  compute again, in every worker, with no message between them.
- **The time bucket** (`KEEPWELL_PAGE_CACHE_SECONDS`, 10 s by default; 0 turns caching off;
  5 minutes for the figures of a month or a day, `SLOW_SECONDS`) bounds how long clock-driven
  text ("38 min left", a deadline passing, a new week) may lag: at most two buckets, as the
  figures of the bucket before are shown while the next bucket's are computed in the
  background. Each key's buckets start at an offset of their own, so the pages of many
  viewers are not all computed again at the same moment, and viewers asking for one page at
  once wait for one computation.

A probe that fails (the database restarted) disables caching for that view; the next probe
reconnects. In-memory SQLite databases share one connection, so they are never cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from keepwell.store.db import make_sessionmaker, sqlite_path

T = TypeVar("T")
log = logging.getLogger(__name__)
UNCACHED = object()  # a version equal to nothing: the view is computed afresh


class BookVersion:
    """A token that changes whenever anything is committed to the database, read on a
    connection of its own (outside the engine's pool: closed when this is dropped)."""

    def __init__(self, engine: Engine) -> None:
        self._sqlite_file = (
            sqlite_path(str(engine.url)) if engine.dialect.name == "sqlite" else None
        )
        self._url = engine.url
        self._usable = engine.dialect.name == "postgresql" or self._sqlite_file is not None
        self._connection: Any = None
        self._epoch = 0
        self._lock = threading.Lock()
        # Its connection lives no longer than the engine's pool: PostgreSQL counts it.
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def current(self) -> Hashable:
        if not self._usable:
            return UNCACHED
        with self._lock:
            try:
                return self._probe()
            except Exception:  # any failure: compute afresh, and reconnect next time
                self._disconnect()
                return UNCACHED

    def _probe(self) -> Hashable:
        if self._connection is None:
            self._connection = self._connect()
            # SQLite's data_version counts per connection: a new one may repeat an old value.
            self._epoch += 1
        if self._sqlite_file is not None:
            found = self._connection.execute("PRAGMA data_version").fetchone()[0]
        else:
            found = self._connection.execute("SELECT pg_current_snapshot()::text").fetchone()[0]
        return (self._epoch, found)

    def _connect(self) -> Any:
        if self._sqlite_file is not None:
            return sqlite3.connect(self._sqlite_file, check_same_thread=False, isolation_level=None)
        import psycopg  # the PostgreSQL driver, only where PostgreSQL is used

        url = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        # Autocommit: never an open transaction holding back PostgreSQL's vacuum horizon.
        return psycopg.connect(url, autocommit=True)

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # it is being thrown away
                connection.close()


@dataclass
class _Kept:
    bucket: int
    value: Any


class PageCache:
    """Recently computed page figures, least recently used dropped first.

    Many viewers asking for one page at once share one computation. When only the clock has
    moved on (the book has not changed, and the bucket is the next one), the figures kept are
    shown once more while they are computed again in the background: so a page's figures may
    lag by up to two buckets, never behind a change in the book."""

    def __init__(self, engine: Engine, seconds: float, size: int = 4096) -> None:
        self.version = BookVersion(engine)
        self.seconds = seconds
        self._size = size
        self._entries: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._computing: dict[Hashable, asyncio.Future[Any]] = {}
        self._refreshing: set[asyncio.Task[Any]] = set()
        self._sessions: sessionmaker[Session] = make_sessionmaker(engine)
        self.hits = 0
        self.misses = 0

    async def get(
        self,
        key: Hashable,
        now: datetime,
        compute: Callable[[Session], T],
        *,
        seconds: float | None = None,
    ) -> T:
        """`compute(session)`'s answer for `key` as of `now`: the one kept when the book has
        not changed since and `now` is in the same time bucket, else computed (in the
        threadpool, in a read transaction of its own) and kept. `seconds`: this key's bucket
        when not the app's (figures of a month move slowly with the clock)."""
        seconds = seconds or self.seconds
        version = self.version.current() if self.seconds > 0 else UNCACHED
        if version is UNCACHED:
            self.misses += 1
            return await run_in_threadpool(self._compute, compute)
        # Each key's buckets start at an offset of its own: not every page at once.
        offset = (zlib.crc32(repr(key).encode()) % 997) / 997 * seconds
        bucket = int((now.timestamp() + offset) // seconds)
        slot = (key, version)
        kept = self._entries.get(slot)
        if kept is not None and bucket - 1 <= kept.bucket <= bucket:
            self._entries.move_to_end(slot)
            self.hits += 1
            if kept.bucket < bucket:
                self._refresh(slot, bucket, compute)
            return cast(T, kept.value)
        self.misses += 1
        return cast(T, await self._computed(slot, bucket, compute))

    async def _computed(self, slot: Hashable, bucket: int, compute: Callable[[Session], T]) -> T:
        """The figures of `slot` computed once for everyone asking meanwhile, then kept."""
        running = self._computing.get((slot, bucket))
        if running is not None:
            return cast(T, await asyncio.shield(running))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._computing[(slot, bucket)] = future
        try:
            value = await run_in_threadpool(self._compute, compute)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            del self._computing[(slot, bucket)]
        future.set_result(value)
        self._keep(slot, bucket, value)
        return value

    def _refresh(self, slot: Hashable, bucket: int, compute: Callable[[Session], Any]) -> None:
        if (slot, bucket) in self._computing:
            return
        task = asyncio.get_running_loop().create_task(self._computed(slot, bucket, compute))
        self._refreshing.add(task)
        task.add_done_callback(self._refreshed)

    def _refreshed(self, task: asyncio.Task[Any]) -> None:
        self._refreshing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("refreshing a page's figures failed: %r", task.exception())

    def _keep(self, slot: Hashable, bucket: int, value: Any) -> None:
        kept = self._entries.get(slot)
        if kept is None or kept.bucket <= bucket:
            self._entries[slot] = _Kept(bucket, value)
            self._entries.move_to_end(slot)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def _compute(self, compute: Callable[[Session], T]) -> T:
        with self._sessions() as session, session.begin():
            return compute(session)

    def close(self) -> None:
        self.version.close()


# The bucket of figures that move slowly with the clock (a month's scorecards, revenue,
# health): the book changing still shows at once.
SLOW_SECONDS = 300.0


async def cached(
    request: Request,
    key: Hashable,
    now: datetime,
    compute: Callable[[Session], T],
    *,
    seconds: float | None = None,
) -> T:
    """`compute(session)`'s answer through the app's page cache (see the module)."""
    cache: PageCache = request.app.state.page_cache
    return await cache.get(key, now, compute, seconds=seconds)
