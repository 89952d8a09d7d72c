"""`keepwell migrate`: one migration however many processes start at once; a process that
may not migrate refuses a schema behind; a new SQLite database is announced once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy import make_url, text
from typer.testing import CliRunner

from keepwell.cli.app import app
from keepwell.config import get_settings
from keepwell.store.db import (
    MIGRATIONS,
    SchemaBehind,
    alembic_config,
    make_engine,
    require_current_schema,
    schema_is_current,
)
from keepwell.store.models import Base
from keepwell.web.app import create_app

runner = CliRunner()
# `keepwell ARGS...` as a process that, once started, says so (creates READY) and waits
# for GO: two of them then run their commands at the same moment, not a startup apart.
TOGETHER = """
import sys, time
from pathlib import Path
from keepwell.cli import main
ready, go = Path(sys.argv.pop(1)), Path(sys.argv.pop(1))
ready.touch()
while not go.exists():
    time.sleep(0.001)
main()
"""


def head() -> str:
    """The newest migration, what every schema is brought to."""
    return str(ScriptDirectory(str(MIGRATIONS)).get_current_head())


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database nothing has touched yet, on the server the tests run against."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_fresh"
    server = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:
        drop = sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
        connection.execute(drop)


def test_two_migrations_started_at_once_both_succeed_and_migrate_once(
    fresh_url: str, tmp_path: Path
) -> None:
    environment = {**os.environ, "KEEPWELL_DATABASE_URL": fresh_url}
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(2)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", TOGETHER, str(flag), str(go), "migrate"],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for flag in ready
    ]
    while not all(flag.exists() for flag in ready) and all(p.poll() is None for p in processes):
        time.sleep(0.01)
    go.touch()
    results = [(p.wait(), *p.communicate()) for p in processes]
    assert [code for code, _, _ in results] == [0, 0], results
    engine = make_engine(fresh_url)
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert versions == [(head(),)]
    assert differences == []


def test_a_process_that_may_not_migrate_refuses_a_schema_behind(fresh_url: str) -> None:
    engine = make_engine(fresh_url)
    command.upgrade(alembic_config(engine), "0003")
    assert not schema_is_current(engine)
    needs = rf"at 0003, this Keepwell needs {head()}: run `keepwell migrate`"
    with pytest.raises(SchemaBehind, match=needs):
        require_current_schema(engine)
    with pytest.raises(SchemaBehind):
        create_app(engine)  # what a web worker builds
    engine.dispose()


def test_migrate_says_the_schema_is_current_when_it_is(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    get_settings.cache_clear()
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"The schema is current (revision {head()})."


def test_a_command_that_creates_a_sqlite_database_says_where_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", "sqlite:///keepwell.db")
    get_settings.cache_clear()
    first = runner.invoke(app, ["stats", "--json"])
    again = runner.invoke(app, ["stats", "--json"])
    assert (first.exit_code, again.exit_code) == (0, 0), first.output
    assert first.stderr == f"Created a new database at {tmp_path / 'keepwell.db'}\n"
    assert again.stderr == ""
