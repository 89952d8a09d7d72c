"""Side loading: a second process writes a large import's messages; the result must be the
database a one-process import leaves, and anything unusual must fall back to it."""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, event, text

from book import BASICS, escalate, message, resolve
from keepwell.services import side_load
from keepwell.services.importing import ImportRejected, import_file, import_lines
from keepwell.store.db import make_engine, migrate, transaction

sqlite_only = pytest.mark.skipif(
    bool(os.environ.get("KEEPWELL_TEST_DATABASE_URL")), reason="side loading is SQLite's"
)


def book(threads: int = 60) -> list[dict[str, Any]]:
    """Threads of an inbound message and a reply, some resolved, one escalated; message ids
    out of key order, so that the worker's ordering is exercised."""
    records: list[dict[str, Any]] = [*BASICS]
    for t in reversed(range(threads)):
        day = f"2026-10-{1 + t % 28:02d}"
        records.append(message(f"m-{t}-a", f"t-{t}", f"{day}T14:03:00Z"))
        records.append(message(f"m-{t}-b", f"t-{t}", f"{day}T14:20:00Z", "outbound"))
        if t % 3 == 0:
            records.append(resolve(f"t-{t}", f"{day}T15:40:00Z"))
    records.append(escalate("t-1", "2026-10-02T14:10:00Z", novel=True))
    return records


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    return path


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the import writes, in key order (the worker stores messages in id order)."""
    with engine.connect() as connection:
        return {
            table: sorted(tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}")))
            for table in ("messages", "resolves", "escalations", "requests")
        }


@pytest.fixture
def reference(tmp_path: Path) -> Engine:
    """A second database, for what a one-process import of the same file leaves."""
    engine = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    migrate(engine)
    return engine


def one_process(engine: Engine, path: Path, **options: Any) -> None:
    with transaction(engine) as session, path.open("rb") as stream:
        import_lines(session, stream, **options)


@sqlite_only
def test_the_worker_writes_the_messages_a_plain_import_would(
    engine: Engine, reference: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch: list[Path] = []
    start = side_load._start
    monkeypatch.setattr(side_load, "_start", lambda *a: scratch.append(a[1]) or start(*a))
    path = write(tmp_path / "book.jsonl", book())
    summary = import_file(engine, path, side_load_from=0)
    one_process(reference, path)
    assert summary.side_loaded == ["message"]
    assert summary.types["message"].added == 120
    assert dump(engine) == dump(reference)
    for thread in threading.enumerate():
        if thread.name == side_load.CLEANUP_THREAD:
            thread.join()
    # The scratch database was made beside the database, and is gone.
    assert [directory.parent for directory in scratch] == [tmp_path]
    assert not scratch[0].exists()


@sqlite_only
def test_foreign_keys_are_on_again_after_a_side_load(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, write(tmp_path / "book.jsonl", book()), side_load_from=0)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        databases = connection.exec_driver_sql("PRAGMA database_list").fetchall()
    assert [name for _, name, _ in databases] == ["main"]


@sqlite_only
def test_a_second_import_of_the_file_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "book.jsonl", book())
    import_file(engine, path, side_load_from=0)
    again = import_file(engine, path, side_load_from=0)
    assert again.side_loaded == []  # the table is not empty any more
    assert not again.changed


@sqlite_only
def test_a_file_with_a_bad_line_imports_nothing(engine: Engine, tmp_path: Path) -> None:
    records = book()
    records.insert(9, {**message("m-bad", "t-bad", "not a time")})
    path = write(tmp_path / "book.jsonl", records)
    with pytest.raises(ImportRejected) as rejected:
        import_file(engine, path, side_load_from=0)
    assert [(e.line, e.field) for e in rejected.value.errors] == [(10, "at")]
    assert all(not rows for rows in dump(engine).values())


@sqlite_only
def test_skipped_lines_make_the_import_write_its_own_rows(
    engine: Engine, reference: Engine, tmp_path: Path
) -> None:
    records = book()
    records.insert(9, message("m-lost", "t-lost", "2026-10-01T10:00:00Z", account="nobody"))
    path = write(tmp_path / "book.jsonl", records)
    summary = import_file(engine, path, skip_invalid=True, side_load_from=0)
    one_process(reference, path, skip_invalid=True)
    assert summary.side_loaded == []
    assert [e.line for e in summary.skipped] == [10]
    assert dump(engine) == dump(reference)


@sqlite_only
def test_a_repeated_message_makes_the_import_write_its_own_rows(
    engine: Engine, reference: Engine, tmp_path: Path
) -> None:
    records = book()
    records.append({**message("m-3-a", "t-3", "2026-10-04T14:03:00Z"), "text": "edited"})
    path = write(tmp_path / "book.jsonl", records)
    summary = import_file(engine, path, side_load_from=0)
    one_process(reference, path)
    assert summary.side_loaded == []
    assert summary.types["message"].updated == 1
    assert dump(engine) == dump(reference)


@sqlite_only
def test_a_failing_worker_leaves_the_rows_to_the_import(
    engine: Engine,
    reference: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    crash = "import sys; sys.stderr.write('disk full\\n'); sys.exit(3)"
    monkeypatch.setattr(side_load, "WORKER", [sys.executable, "-c", crash])
    path = write(tmp_path / "book.jsonl", book())
    with caplog.at_level(logging.WARNING):
        summary = import_file(engine, path, side_load_from=0)
    one_process(reference, path)
    assert summary.side_loaded == []
    assert "disk full" in caplog.text
    assert dump(engine) == dump(reference)


@sqlite_only
def test_a_worker_that_cannot_start_leaves_the_rows_to_the_import(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(side_load, "WORKER", [str(tmp_path / "no-such-program")])
    summary = import_file(engine, write(tmp_path / "book.jsonl", book()), side_load_from=0)
    assert summary.side_loaded == []
    assert len(dump(engine)["messages"]) == 120
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert len(connection.exec_driver_sql("PRAGMA database_list").fetchall()) == 1


def _no_attachments(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)


def _no_schema(*_: Any) -> list[str]:
    raise sqlite3.OperationalError("disk I/O error")


@sqlite_only
@pytest.mark.parametrize(
    "failure", ["ATTACH refused", "failing after ATTACH"], ids=["attach", "after-attach"]
)
def test_a_side_load_that_fails_to_set_up_leaves_nothing_behind(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    # One connection, so that the one checked afterwards is the one the import had.
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    if failure == "ATTACH refused":
        event.listen(engine, "connect", _no_attachments)
    else:
        monkeypatch.setattr(side_load, "_schema_sql", _no_schema)
    summary = import_file(engine, write(tmp_path / "book.jsonl", book()), side_load_from=0)
    assert summary.side_loaded == []
    assert len(dump(engine)["messages"]) == 120
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        databases = connection.exec_driver_sql("PRAGMA database_list").fetchall()
    assert [name for _, name, _ in databases] == ["main"]
    for thread in threading.enumerate():
        if thread.name == side_load.CLEANUP_THREAD:
            thread.join()
    assert not list(tmp_path.glob("keepwell-side-*"))
    engine.dispose()


def test_a_small_file_is_imported_in_one_process(engine: Engine, tmp_path: Path) -> None:
    summary = import_file(engine, write(tmp_path / "book.jsonl", book(3)))
    assert summary.side_loaded == []
    assert summary.types["message"].added == 6


@pytest.mark.skipif(not os.environ.get("KEEPWELL_TEST_DATABASE_URL"), reason="PostgreSQL's")
def test_postgresql_imports_a_large_file_in_one_process(engine: Engine, tmp_path: Path) -> None:
    summary = import_file(engine, write(tmp_path / "book.jsonl", book()), side_load_from=0)
    assert summary.side_loaded == []
    assert len(dump(engine)["messages"]) == 120


@sqlite_only
def test_a_file_that_changes_during_the_import_imports_nothing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = orjson.dumps(message("m-late", "t-late", "2026-10-30T10:00:00Z")).decode()
    grow = (
        "import json, sys; job = json.load(open(sys.argv[1])); "
        f"open(job['source'], 'a').write({extra!r} + '\\n'); sys.exit(3)"
    )
    monkeypatch.setattr(side_load, "WORKER", [sys.executable, "-c", grow])
    path = write(tmp_path / "book.jsonl", book())
    with pytest.raises(side_load.FileChanged, match="changed while it was imported"):
        import_file(engine, path, side_load_from=0)
    assert all(not rows for rows in dump(engine).values())
