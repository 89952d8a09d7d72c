"""Transactions are real ones on both databases, from their first statement."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Engine, inspect, make_url, text

from book import BASICS, load
from keepwell.store.db import migration_transaction, transaction


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
