"""The page cache: figures kept until the book changes or the time bucket moves, on both
databases, and a changed book is seen at once by every reader."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from keepwell.store.db import make_engine, transaction
from keepwell.store.models import User
from keepwell.web.page_cache import UNCACHED, BookVersion, PageCache

NOW = datetime(2026, 11, 10, 9, 0, 5, tzinfo=UTC)


def _count_users(session: Session) -> int:
    return session.execute(select(func.count()).select_from(User)).scalar_one()


def _add_user(engine: Engine, user_id: str) -> None:
    with transaction(engine, writes=True) as session:
        session.add(
            User(
                id=user_id, name=user_id, email=f"{user_id}@example.com", role="csm", timezone="UTC"
            )
        )


def _get(cache: PageCache, now: datetime, calls: list[int]) -> int:
    def compute(session: Session) -> int:
        calls.append(1)
        return _count_users(session)

    return asyncio.run(cache.get("users", now, compute))


def test_the_version_moves_with_a_commit_and_not_with_a_read(engine: Engine) -> None:
    version = BookVersion(engine)
    before = version.current()
    assert before is not UNCACHED
    with transaction(engine) as session:
        _count_users(session)
    assert version.current() == before
    _add_user(engine, "u-new")
    assert version.current() != before
    version.close()


def test_figures_are_kept_until_the_book_changes(engine: Engine) -> None:
    cache = PageCache(engine, seconds=10)
    calls: list[int] = []
    assert _get(cache, NOW, calls) == 0
    assert _get(cache, NOW, calls) == 0
    assert len(calls) == 1, "a second view in the same bucket of an unchanged book computes"
    _add_user(engine, "u-new")
    assert _get(cache, NOW, calls) == 1, "a committed change was missed"
    assert len(calls) == 2
    cache.close()


def test_the_time_bucket_bounds_how_long_figures_are_kept(engine: Engine) -> None:
    cache = PageCache(engine, seconds=10)
    calls: list[int] = []

    async def views() -> None:
        def compute(session: Session) -> int:
            calls.append(1)
            return len(calls)

        assert await cache.get("k", NOW, compute) == 1
        # The next bucket: the figures kept are shown while new ones are computed.
        assert await cache.get("k", NOW + timedelta(seconds=10), compute) == 1
        for _ in range(200):
            if len(calls) == 2:
                break
            await asyncio.sleep(0.01)
        assert await cache.get("k", NOW + timedelta(seconds=10), compute) == 2
        # Two buckets on: too old to show, computed at once.
        assert await cache.get("k", NOW + timedelta(seconds=30), compute) == 3

    asyncio.run(views())
    assert len(calls) == 3
    cache.close()


def test_viewers_asking_at_once_share_one_computation(engine: Engine) -> None:
    cache = PageCache(engine, seconds=10)
    calls: list[int] = []

    def compute(session: Session) -> int:
        calls.append(1)
        time.sleep(0.05)
        return _count_users(session)

    async def views() -> list[int]:
        return list(await asyncio.gather(*(cache.get("k", NOW, compute) for _ in range(8))))

    assert asyncio.run(views()) == [0] * 8
    assert len(calls) == 1
    cache.close()


def test_a_failure_reaches_every_viewer_and_is_not_kept(engine: Engine) -> None:
    cache = PageCache(engine, seconds=10)

    def fails(session: Session) -> int:
        time.sleep(0.02)
        raise LookupError("no such account")

    async def views() -> list[object]:
        return list(
            await asyncio.gather(*(cache.get("k", NOW, fails) for _ in range(3)),
                                 return_exceptions=True)
        )  # fmt: skip

    assert [type(e) for e in asyncio.run(views())] == [LookupError] * 3
    assert asyncio.run(cache.get("k", NOW, _count_users)) == 0
    cache.close()


def test_zero_seconds_turns_caching_off(engine: Engine) -> None:
    cache = PageCache(engine, seconds=0)
    calls: list[int] = []
    _get(cache, NOW, calls)
    _get(cache, NOW, calls)
    assert len(calls) == 2


def test_an_in_memory_database_is_never_cached() -> None:
    engine = make_engine("sqlite://")
    assert BookVersion(engine).current() is UNCACHED


def test_a_failing_probe_computes_afresh_and_reconnects(engine: Engine) -> None:
    cache = PageCache(engine, seconds=10)
    calls: list[int] = []
    _get(cache, NOW, calls)
    cache.version.close()
    cache.version._connection = _Broken()  # the server went away
    _get(cache, NOW, calls)
    assert len(calls) == 2, "a view after a failed probe must not trust what was kept"
    _get(cache, NOW, calls)
    _get(cache, NOW, calls)
    assert len(calls) == 3, "the probe did not reconnect"
    cache.close()


class _Broken:
    def execute(self, *_: object) -> None:
        raise OSError("connection lost")

    def close(self) -> None:
        pass


def test_another_process_commit_is_seen(engine: Engine) -> None:
    """A commit on a connection the cache never saw (another worker) moves the version."""
    version = BookVersion(engine)
    before = version.current()
    other = make_engine(str(engine.url.render_as_string(hide_password=False)))
    with other.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, name, email, role, timezone, active) "
                "VALUES ('u-x', 'X', 'x@x', 'csm', 'UTC', true)"
            )
        )
    other.dispose()
    assert version.current() != before
    version.close()


def test_disposing_the_engine_closes_the_probe_connection(database_url: str) -> None:
    """Each app holds a connection of its own for the probe: on PostgreSQL a test suite
    making hundreds of apps ran out of server connections until they closed with the
    engine."""
    engine = make_engine(database_url)
    version = BookVersion(engine)
    version.current()
    assert version._connection is not None
    engine.dispose()
    assert version._connection is None
