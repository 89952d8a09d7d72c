"""Transactions are real ones on both databases, from their first statement."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Engine, event, inspect, make_url, text
from sqlalchemy.exc import OperationalError

from book import BASICS, load
from keepwell.store.db import make_engine, migration_transaction, transaction


class Abandoned(Exception):
    pass


def test_a_rolled_back_transaction_takes_its_ddl_back_with_it(engine: Engine) -> None:
    before = {index["name"] for index in inspect(engine).get_indexes("messages")}
    with pytest.raises(Abandoned), transaction(engine) as session:
        session.execute(text("DROP INDEX ix_messages_thread_id_at"))
        raise Abandoned
    assert {index["name"] for index in inspect(engine).get_indexes("messages")} == before


@pytest.mark.parametrize("writes", [True, False])
def test_a_writing_transaction_takes_sqlites_write_lock_at_once(
    engine: Engine, database_url: str, writes: bool
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    other = sqlite3.connect(make_url(database_url).database or "", timeout=0, isolation_level=None)
    with transaction(engine, writes=writes) as session:
        session.execute(text("SELECT 1"))  # a read, no write yet
        if writes:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        else:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    other.close()


def test_a_migration_may_recreate_a_table_that_others_refer_to(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's batch migrations: PostgreSQL alters tables in place")
    load(engine, *BASICS)  # a contact refers to the account
    with migration_transaction(engine) as connection:
        operations = Operations(MigrationContext.configure(connection))
        with operations.batch_alter_table("accounts", recreate="always"):
            pass  # what a batch migration does on SQLite: copy, drop, rename
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM accounts")).scalars().all() == ["acme"]
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_writers_wait_their_turn_on_the_lock_file_and_go_once_it_is_free(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    with transaction(engine) as session:
        session.execute(text("CREATE TABLE events (what TEXT)"))
    events: list[str] = []
    first_in, let_go = threading.Event(), threading.Event()

    def first() -> None:
        with transaction(engine, writes=True) as session:
            first_in.set()
            let_go.wait(5)
            session.execute(text("INSERT INTO events VALUES ('first')"))
            events.append("first commits")

    def second() -> None:
        with transaction(engine, writes=True) as session:
            events.append("second begins")
            session.execute(text("INSERT INTO events VALUES ('second')"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert first_in.wait(5)
    threads[1].start()
    threads[1].join(0.3)
    assert threads[1].is_alive() and events == []  # waiting on the lock file, not inside
    let_go.set()
    for thread in threads:
        thread.join(10)
    assert events == ["first commits", "second begins"]
    assert Path(f"{tmp_path / 'turns.db'}-writer").exists()
    engine.dispose()


def test_a_thread_writing_twice_at_once_meets_sqlites_timeout_instead_of_waiting_forever(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested.db'}")
    event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=100"))
    raised: list[BaseException] = []

    def write_twice() -> None:
        with transaction(engine, writes=True) as outer:
            outer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock taken
            try:
                with transaction(engine, writes=True) as inner:
                    inner.execute(text("SELECT 1"))
            except OperationalError as exc:
                raised.append(exc)

    # In a thread of its own, so that a regression hangs that thread, not the suite.
    thread = threading.Thread(target=write_twice, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the second writer waited for its own thread's turn"
    assert len(raised) == 1 and "locked" in str(raised[0])
    engine.dispose()
