"""An import is one transaction on both databases: whatever ends it early (a failing step, a
killed process) leaves the schema and the data exactly as they were."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, text

from book import BASICS, load, message
from keepwell.store import bulk
from keepwell.store.models import Base

# Run as a separate process: import the file, and once the first rows are written (the
# messages, into a table whose indexes the import dropped first), say so and wait to be
# killed.
KILLED_IMPORT = """
import sys, time
from pathlib import Path
from keepwell.services.importing import import_file
from keepwell.store import bulk
from keepwell.store.db import make_engine

def after_first_write(insert):
    def wrapped(connection, table, *args, **kwargs):
        insert(connection, table, *args, **kwargs)
        print("written", table.name, flush=True)
        time.sleep(600)
    return wrapped

bulk._sqlite_insert = after_first_write(bulk._sqlite_insert)
bulk._postgres_copy = after_first_write(bulk._postgres_copy)
import_file(make_engine(sys.argv[1]), Path(sys.argv[2]))
"""


def schema(engine: Engine) -> list[tuple[Any, ...]]:
    """Every table and index as the database describes it."""
    if engine.dialect.name == "sqlite":
        query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    else:
        query = (
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() ORDER BY indexname"
        )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query))]


def data(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(table.select())), key=repr)
            for table in Base.metadata.sorted_tables
        }


def many_messages(path: Path, count: int) -> Path:
    with path.open("wb") as out:
        for i in range(count):
            day = f"2026-10-{1 + i % 28:02d}"
            at = f"{day}T{9 + i % 8:02d}:{i % 60:02d}:00Z"
            out.write(orjson.dumps(message(f"m-{i}", f"t-{i // 2}", at)) + b"\n")
    return path


def test_a_large_import_killed_after_its_first_write_leaves_schema_and_data_as_they_were(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    load(engine, *BASICS)  # yesterday's import: the accounts, no messages yet
    # Enough messages into the empty table that the import drops its indexes first.
    path = many_messages(tmp_path / "today.jsonl", bulk.REBUILD_INDEXES_FROM)
    schema_before, data_before = schema(engine), data(engine)
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_IMPORT, database_url, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        said = process.stdout.readline() if process.stdout else b""
        assert said == b"written messages\n", process.stderr.read() if process.stderr else ""
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert schema(engine) == schema_before
    assert data(engine) == data_before
