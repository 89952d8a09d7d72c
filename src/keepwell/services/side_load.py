"""Side loading: a large import into an empty messages table on SQLite writes the messages
from a second process.

Parsing a file and inserting millions of rows into SQLite each keep one core busy for
tens of seconds, and Python runs them one after the other. So when a large file goes into
an empty messages table, a worker process parses the same file and writes the messages into
a scratch database, indexes included, while the import validates, plans, writes the other
tables and derives requests. At the end the messages are copied into the import's
transaction in one statement: SQLite's transfer optimisation copies records and index entries in
order (2 million messages with both their indexes in about 3 s; inserting them takes 18).

The worker's rows are used only when they are the rows the import would write: the table
was empty, the import inserts every parsed line of the type and nothing else, and the
worker read the same file (size and modification time) and the same lines (count and sum
of line numbers; the import can only drop lines, so equal counts mean equal sets).
Otherwise, or when the worker fails, the import writes those rows itself. Only the import's
transaction writes the database; the scratch database is deleted afterwards.

The transfer optimisation needs foreign keys off on the connection (the import checks every
reference itself, PRODUCT.md 9) and ATTACH needs a connection outside a transaction, so the
import owns its connection for the time (`import_file`).
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import astuple, dataclass, field
from operator import add, itemgetter
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from keepwell.ingest.jsonl import Batch, TypeChanges, TypeRows, parse_lines
from keepwell.ingest.records import RECORD_TYPES
from keepwell.store import bulk
from keepwell.store.models import Base

# The type whose table grows with client traffic into the millions of rows. The smaller
# event tables (resolves, activities, ...) stay with the import: it finishes its own work
# well before the worker is done with messages.
SIDE_TYPES = ("message",)
# Below this size a file is imported in one process: a second one takes a second to start
# and its work would not pay for that.
SIDE_LOAD_FROM_BYTES = 64 * 2**20
_SCHEMA = "keepwell_side"
CLEANUP_THREAD = "keepwell-side-cleanup"
log = logging.getLogger(__name__)

# The worker's command line, the job file's path appended (tests make it fail).
WORKER = [sys.executable, "-m", __name__]

FileStamp = tuple[int, int]  # size and modification time in nanoseconds


class FileChanged(Exception):
    """The file changed while it was imported; nothing was imported."""


@dataclass(frozen=True)
class Written:
    """What the worker wrote of one type: how many lines, and the sum of their numbers."""

    rows: int
    line_sum: int

    @classmethod
    def of(cls, rows: TypeRows) -> Written:
        return cls(len(rows), sum(rows.lines))


@dataclass
class SideLoad:
    """A worker writing a file's messages into a scratch database that the
    import's connection has attached."""

    source: Path
    directory: Path
    stamp: FileStamp
    process: subprocess.Popen[bytes]
    tables: dict[str, str]  # record type -> its table, empty when the import started
    taken: dict[str, Written] = field(default_factory=dict)  # type -> the rows expected

    def takes(self, name: str, plan: TypeChanges, rows: TypeRows) -> bool:
        """Whether the worker's rows may stand for this type's writes: the plan inserts the
        parsed rows of a file without bad lines as they are, and nothing else. Decided
        before the worker is done, so that the import goes on meanwhile."""
        if name not in self.tables or plan.inserts is not rows or plan.updates:
            return False
        self.taken[name] = Written.of(rows)
        return True

    def finish(
        self, connection: Connection, write: Callable[[str, TypeChanges], None]
    ) -> list[str]:
        """Copy what the worker wrote into the import's tables, and return those types.

        The import has let go of its own rows by now (freed while the worker finishes), so
        if the worker failed, they are parsed again and written with `write`. A file that
        changed while it was imported is refused: which version would be the import?
        """
        if not self.taken:
            return []
        written = self._report()
        raw = connection.connection.driver_connection
        assert raw is not None
        copied = []
        for name, expected in self.taken.items():
            if written.get(name) == expected:
                table = RECORD_TYPES[name].table
                # This exact form (no column list, SELECT *) is what SQLite transfers whole.
                raw.execute(f'INSERT INTO main."{table}" SELECT * FROM {_SCHEMA}."{table}"')
                copied.append(name)
            else:
                write(name, self._parsed_again(name, expected))
        return copied

    def _parsed_again(self, name: str, expected: Written) -> TypeChanges:
        with self.source.open("rb") as lines:
            rows = parse_lines(lines).rows.get(name, TypeRows())
        if Written.of(rows) != expected or _stamp(self.source) != self.stamp:
            raise FileChanged(f"{self.source} changed while it was imported")
        return TypeChanges(inserts=rows, added=len(rows))

    def _report(self) -> dict[str, Written]:
        """What the worker wrote, or nothing if it failed or read another file."""
        out, err = self.process.communicate()
        if self.process.returncode != 0:
            problem = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            log.warning("side load failed, the import writes its rows itself: %s", problem[0])
            return {}
        report = orjson.loads(out)
        if tuple(report["stamp"]) != self.stamp or _stamp(self.source) != self.stamp:
            raise FileChanged(f"{self.source} changed while it was imported")
        return {name: Written(*counts) for name, counts in report["written"].items()}

    def stop(self) -> None:
        """End the worker if the import ended first (it failed, say)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


@contextmanager
def side_loading(
    connection: Connection, source: Path, from_bytes: int = SIDE_LOAD_FROM_BYTES
) -> Iterator[SideLoad | None]:
    """A side load of `source` for an import on `connection`, or None when it does not
    apply: not SQLite, a small file, no empty side table, or a transaction already open.
    Foreign keys are off on the connection meanwhile and on again afterwards.

    Both ATTACH and `PRAGMA foreign_keys` must run before the import's transaction begins
    (SQLite refuses the one and ignores the other inside a transaction). Each step of the
    setup is undone at the end, and at once if a later step fails: then the import goes on
    without a side load, its connection as it found it."""
    raw = connection.connection.driver_connection
    if not isinstance(raw, sqlite3.Connection) or raw.in_transaction:
        yield None
        return
    if not source.is_file() or source.stat().st_size < from_bytes:
        yield None
        return
    tables = _empty_tables(raw)
    if not tables:
        yield None
        return
    with ExitStack() as undo:
        try:
            side = _set_up(raw, source, tables, undo)
        except (OSError, sqlite3.Error) as exc:
            log.warning("side load could not be set up, the import writes its rows: %s", exc)
            side = None
        if side is None:  # the import writes its rows itself, on its connection as it was
            undo.close()
        yield side


def _set_up(
    raw: sqlite3.Connection, source: Path, tables: dict[str, str], undo: ExitStack
) -> SideLoad | None:
    """Attach a scratch database and start the worker; every step done is pushed on `undo`
    (which runs them last first)."""
    directory = Path(tempfile.mkdtemp(prefix="keepwell-side-", dir=_beside_database(raw)))
    # Unlinking a file of hundreds of megabytes takes most of a second on a disk mounted
    # with discard: done meanwhile (the interpreter waits for it at exit).
    undo.callback(_remove_in_background, directory)
    if raw.execute("PRAGMA foreign_keys").fetchone()[0]:
        raw.execute("PRAGMA foreign_keys=OFF")
        undo.callback(raw.execute, "PRAGMA foreign_keys=ON")
    target = directory / "side.db"
    raw.execute(f"ATTACH DATABASE ? AS {_SCHEMA}", (str(target),))
    undo.callback(raw.execute, f"DETACH DATABASE {_SCHEMA}")
    side = _start(source, directory, target, tables, _schema_sql(raw, tables.values()))
    if side:
        undo.callback(side.stop)
    return side


def _remove_in_background(directory: Path) -> None:
    threading.Thread(target=shutil.rmtree, args=(directory, True), name=CLEANUP_THREAD).start()


def _beside_database(raw: sqlite3.Connection) -> str | None:
    """The database's directory: the scratch database is as large as the messages, and the
    disk that holds them has room for it, where a temporary directory may be small."""
    for _, name, path in raw.execute("PRAGMA database_list"):
        if name == "main" and path:
            return str(Path(path).parent)
    return None  # an in-memory database: the system's temporary directory


def _empty_tables(raw: sqlite3.Connection) -> dict[str, str]:
    tables = {name: RECORD_TYPES[name].table for name in SIDE_TYPES}
    return {
        name: table
        for name, table in tables.items()
        if raw.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is None
    }


def _schema_sql(raw: sqlite3.Connection, tables: Any) -> list[str]:
    """The statements that create the tables and their indexes as the database has them:
    the transfer needs the same columns and indexes on both sides."""
    names = list(tables)
    marks = ", ".join("?" for _ in names)
    query = (
        f"SELECT sql FROM sqlite_master WHERE tbl_name IN ({marks}) AND sql IS NOT NULL "
        "ORDER BY type = 'index', name"
    )
    return [sql for (sql,) in raw.execute(query, names)]


def _start(
    source: Path, directory: Path, target: Path, tables: dict[str, str], schema: list[str]
) -> SideLoad | None:
    """The worker is a fresh interpreter (`python -m` this module), not a fork: the import
    may run in a process with threads (a web server), and a spawned multiprocessing child
    would re-run the caller's main module."""
    stamp = _stamp(source)
    job = {"source": str(source), "target": str(target), "types": list(tables), "schema": schema}
    (directory / "job.json").write_bytes(orjson.dumps(job))
    try:
        process = subprocess.Popen(
            [*WORKER, str(directory / "job.json")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        log.warning("side load could not start, the import writes its rows itself: %s", exc)
        return None
    return SideLoad(source, directory, stamp, process, tables)


def _stamp(source: Path) -> FileStamp:
    stat = source.stat()
    return stat.st_size, stat.st_mtime_ns


def _work() -> None:
    """The worker: parse the file as the import does, write the side tables, and
    report on stdout what it wrote of the file as it found it."""
    gc.disable()  # nothing it builds holds cycles, and it exits when done (`gc_paused`)
    job = orjson.loads(Path(sys.argv[1]).read_bytes())
    source = Path(job["source"])
    stamp = _stamp(source)
    with source.open("rb") as lines:
        batch = parse_lines(lines)
    written = write_side_tables(batch, Path(job["target"]), job["types"], job["schema"])
    report = {"stamp": stamp, "written": {name: astuple(w) for name, w in written.items()}}
    sys.stdout.buffer.write(orjson.dumps(report))
    sys.stdout.flush()
    # Leave without freeing millions of parsed rows one by one (seconds of work).
    os._exit(0)


def write_side_tables(
    batch: Batch, target: Path, names: list[str], schema: list[str]
) -> dict[str, Written]:
    """Write the rows of the named types into a new database at `target`, created with
    `schema`. A file with invalid lines writes nothing: the import either rejects it or
    skips lines, and then writes the rows itself."""
    if batch.errors:
        return {}
    raw = sqlite3.connect(target, isolation_level=None)
    try:
        # A scratch file, deleted after the import: no journal, no syncing.
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144"):
            raw.execute(f"PRAGMA {pragma}")
        raw.execute("BEGIN")
        for sql in schema:
            if _creates_table(sql):
                raw.execute(sql)
        written = {}
        for name in names:
            rows = batch.rows.get(name)
            if rows is None:
                continue
            record_type = RECORD_TYPES[name]
            table = Base.metadata.tables[record_type.table]
            bulk.sqlite_insert(
                raw, table, (*record_type.columns, "source_hash"), _in_key_order(rows)
            )
            written[name] = Written.of(rows)
        for sql in schema:  # indexes once the rows are in: faster than keeping them up
            if not _creates_table(sql):
                raw.execute(sql)
        raw.execute("COMMIT")
    finally:
        raw.close()
    return written


def _in_key_order(rows: TypeRows) -> Iterator[tuple[Any, ...]]:
    """The rows with their digests, in the order of their id: each goes at the end of the
    primary key's index instead of somewhere inside it (a fifth faster on 2M messages)."""
    ids = list(map(itemgetter(0), rows.values))
    order = sorted(range(len(ids)), key=ids.__getitem__)
    return map(add, map(rows.values.__getitem__, order), zip(map(rows.digests.__getitem__, order)))


def _creates_table(sql: str) -> bool:
    return sql.lstrip().upper().startswith("CREATE TABLE")


if __name__ == "__main__":
    _work()
