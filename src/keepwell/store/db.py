"""Engines, sessions and migrations. The caller owns the transaction (`with session.begin():`).

Every transaction is a real one on both databases, from its first statement: reads, DDL and
writes commit or roll back together. Python's sqlite3 would, left in its legacy mode, begin
only before the first INSERT, UPDATE or DELETE, so that the reads before it and any DDL (an
import drops and rebuilds indexes around a large load) ran outside the transaction and
committed on their own. Here sqlite3 begins nothing and SQLAlchemy emits `BEGIN` itself
(SQLAlchemy's documented recipe; Python 3.12's `autocommit=False` would do the same, and
Keepwell runs on 3.11 too). Statements that SQLite refuses inside a transaction (ATTACH,
DETACH, `PRAGMA foreign_keys`, `journal_mode`) run on a connection before it begins.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

MIGRATIONS = Path(__file__).with_name("migrations")
# The execution option of a connection whose transaction writes from its start (an import, a
# migration): on SQLite it begins with `BEGIN IMMEDIATE`, taking the write lock before its
# first read, so that what it planned from its reads still holds when it writes, and a second
# writer waits for it (the connection's timeout) instead of failing on a stale snapshot.
WRITES = {"keepwell_writes": True}
# The PostgreSQL advisory lock that migrations take: any fixed number of our own.
MIGRATION_LOCK = 0x6B6565707765  # "keepwe"


class SchemaBehind(Exception):
    """The database's schema is older than this version of Keepwell needs."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets real transactions, WAL, foreign keys and a large
    page cache."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # sqlite3 emits no BEGIN of its own from now on: `_sqlite_begin` does.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # A new database gets 16 KiB pages instead of 4 KiB: bulk imports write and index
    # millions of rows in fewer, fuller pages (a 2M-message import inserts and indexes
    # ~20% faster). A no-op on an existing database, and it must come before WAL.
    cursor.execute("PRAGMA page_size=16384")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB: bulk imports touch many pages
    cursor.execute("PRAGMA temp_store=MEMORY")
    # ANALYZE samples about this many rows of each index instead of reading it whole.
    cursor.execute("PRAGMA analysis_limit=1000")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    # Two processes opening a new database at once both convert it to WAL, which needs an
    # exclusive lock; SQLite answers one of them "database is locked" at once, without its
    # busy timeout, to avoid a deadlock. The other's conversion takes milliseconds: retry.
    for attempt in range(100):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)


def _sqlite_begin(connection: Connection) -> None:
    writes = connection.get_execution_options().get("keepwell_writes", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine, *, writes: bool = False) -> Iterator[Session]:
    """One session in one transaction: committed on success, rolled back on any error.

    `writes`: for a use case that reads and then writes from what it read. On SQLite it takes
    the write lock at once (`WRITES`); otherwise a writer that commits between its reads and
    its first write makes it fail with "database is locked" (SQLite refuses to write from a
    stale snapshot) instead of waiting its turn."""
    options = WRITES if writes else {}
    with (
        _writers_queue(engine) if writes else nullcontext(),
        engine.connect().execution_options(**options) as connection,
        Session(bind=connection, expire_on_commit=False) as session,
        session.begin(),
    ):
        yield session


@contextmanager
def _writers_queue(engine: Engine) -> Iterator[None]:
    """On a SQLite file, writers wait for each other on a lock file beside it, woken the
    moment the one before them ends, instead of in SQLite's busy handler, which polls in
    sleeps growing to 100 ms: a webhook's commit queued behind a delivery being applied
    waited tens of milliseconds past its turn. Threads and processes alike (flock locks one
    open file, and each turn opens its own). A thread already holding the turn does not wait
    for itself: its second writer meets SQLite's busy timeout, as without the queue."""
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    held: set[Path] = _turns.__dict__.setdefault("held", set())
    if path is None or fcntl is None or path in held:
        yield
        return
    fd = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held.add(path)
        try:
            yield
        finally:
            held.discard(path)
    finally:
        os.close(fd)  # releases the lock


_turns = threading.local()  # the SQLite files whose writers' turn this thread holds


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL, absolute; None for in-memory and other databases."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):  # a URI (`?uri=true`): left to SQLite to read
        return None
    return Path(parsed.database).resolve()


def alembic_config(engine: Engine, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration, once however many processes start at once.

    The migrations run in one transaction. On PostgreSQL it first takes an advisory lock, on
    the connection the migrations run on, released when the transaction ends; on SQLite the
    write lock that `BEGIN IMMEDIATE` takes does the same. A second process waits, then finds
    the schema current and does nothing. A schema already current takes no lock at all, so
    that a command started during a long import is not kept waiting.
    """
    if schema_is_current(engine):
        return
    with migration_transaction(engine) as connection:
        command.upgrade(alembic_config(engine, connection), "head")


@contextmanager
def migration_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in the transaction migrations run in, holding the migration lock.

    On SQLite, foreign keys are off meanwhile (before the transaction: inside one the pragma
    does nothing) and checked whole before the commit, as SQLite's procedure for schema
    changes has it: a batch migration recreates a table by copying it and dropping the old
    one, which foreign keys on would refuse for any table that others refer to."""
    with engine.connect() as connection, _foreign_keys_off(connection):
        connection.execution_options(**WRITES)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            yield connection
            if connection.dialect.name == "sqlite":
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")


@contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    raw = connection.connection.driver_connection
    if connection.dialect.name != "sqlite" or raw is None:
        yield
        return
    was_on = raw.execute("PRAGMA foreign_keys").fetchone()[0]
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if was_on:
            raw.execute("PRAGMA foreign_keys=ON")


def schema_revisions(engine: Engine) -> tuple[set[str], set[str]]:
    """The revisions the database is at, and the ones this version of Keepwell needs."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current, set(script.get_heads())


def schema_is_current(engine: Engine) -> bool:
    current, needed = schema_revisions(engine)
    return current == needed


def require_current_schema(engine: Engine) -> None:
    """For a process that must not migrate (a web worker, a background worker): raise
    `SchemaBehind` unless the schema is the newest, naming what to run."""
    current, needed = schema_revisions(engine)
    if current != needed:
        at = ", ".join(sorted(current)) or "empty"
        raise SchemaBehind(
            f"the database schema is at {at}, this Keepwell needs {', '.join(sorted(needed))}:"
            " run `keepwell migrate` first"
        )


def open_database(url: str) -> Engine:
    """An engine on a database migrated to the newest schema (`migrate`)."""
    engine = make_engine(url)
    migrate(engine)
    return engine


# The PostgreSQL advisory lock every writer of the book takes: any fixed number of our own.
BOOK_WRITE_LOCK = 0x6B77646C76  # "kwdlv"


def one_book_writer_at_a_time(session: Session) -> None:
    """Writing the book replays whole threads (an import, a page's write and a webhook's
    delivery all rebuild a thread's requests from its messages): two transactions adding a
    question and its answer at once would each rebuild the thread without the other's
    message, and the last to commit would win. So the writers take turns: on SQLite by the
    write lock `transaction(writes=True)` takes at once, on PostgreSQL by this lock, held
    until the transaction ends (and taken again by the same transaction at no cost)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BOOK_WRITE_LOCK})
