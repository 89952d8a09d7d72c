"""The import use case: a JSON Lines file in, records written, requests rebuilt, a summary out.

All or nothing: the caller's transaction holds every write, and a file with invalid lines
writes nothing unless `skip_invalid` is set (PRODUCT.md 9). Idempotent: every record is keyed
by its id or by what it states, and a digest of its content tells unchanged lines apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import compress
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.orm import Session

from keepwell.domain.requests import (
    DerivedRequest,
    ThreadActions,
    ThreadMessages,
    derive_request_columns,
)
from keepwell.domain.sla import SlaTargets
from keepwell.ingest.jsonl import (
    Batch,
    Key,
    LineError,
    TypeChanges,
    ZippedRows,
    check_references,
    parse_lines,
    plan_changes,
)
from keepwell.ingest.records import ESCALATE, MESSAGE, RECORD_TYPES, RESOLVE, RecordType
from keepwell.services.batch import gc_paused
from keepwell.services.side_load import SIDE_LOAD_FROM_BYTES, SideLoad, side_loading
from keepwell.services.sla import SLA_COLUMNS, clock_values, recompute_sla
from keepwell.services.user_schedules import record_schedule_changes
from keepwell.store import bulk
from keepwell.store.db import WRITES, one_book_writer_at_a_time
from keepwell.store.models import Base

ProgressCallback = Callable[[str, int], None]

# Where the ids each kind of reference names are kept.
_REFERENCE_TARGETS = {
    "user": ("users", "id"),
    "account": ("accounts", "id"),
    "contact": ("contacts", "id"),
    "schedule": ("schedule_versions", "schedule_id"),
    "thread": ("messages", "thread_id"),
}
_REQUEST_COLUMNS = (*DerivedRequest._fields, *SLA_COLUMNS)


class ImportRejected(Exception):
    """The file has invalid lines and nothing was imported."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"{len(errors)} invalid line(s); nothing was imported")
        self.errors = errors


@dataclass
class TypeSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportSummary:
    lines: int = 0
    types: dict[str, TypeSummary] = field(default_factory=dict)
    skipped: list[LineError] = field(default_factory=list)
    requests_rebuilt: int = 0
    threads_replayed: int = 0
    rebuilt_requests: set[str] = field(default_factory=set, repr=False)
    # The types a second process wrote (`keepwell.services.side_load`).
    side_loaded: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(t.added or t.updated for t in self.types.values())

    @property
    def clocks_changed(self) -> bool:
        return any(
            self.types[name].added or self.types[name].updated
            for name in _CLOCK_TYPES
            if name in self.types
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "types": {name: vars(t) for name, t in self.types.items()},
            "skipped": [
                {"line": e.line, "field": e.field, "error": e.message} for e in self.skipped
            ],
            "requests_rebuilt": self.requests_rebuilt,
            "threads_replayed": self.threads_replayed,
            "side_loaded": self.side_loaded,
        }


def import_lines(
    session: Session,
    lines: Iterable[bytes | str],
    *,
    skip_invalid: bool = False,
    progress: ProgressCallback | None = None,
    targets: SlaTargets | None = None,
    side: SideLoad | None = None,
    company_timezone: str = "UTC",
    today: date | None = None,
) -> ImportSummary:
    """Import JSON Lines into the session's transaction; raise `ImportRejected` on bad lines.

    The SLA clocks of the rebuilt requests are recomputed too, or of every request when a
    line changed what clocks run on (schedules, users, accounts, assignments). `today` (by
    default the day in `company_timezone`) is when a user's changed schedule applies from
    unless the line says (`schedule_effective`).
    """
    one_book_writer_at_a_time(session)
    targets = targets or SlaTargets()
    today = today or datetime.now(ZoneInfo(company_timezone)).date()
    with gc_paused():  # it halved import time
        summary = _import(session, lines, skip_invalid, progress, targets, side, today)
        if summary.clocks_changed:
            recompute_sla(session, targets, besides=summary.rebuilt_requests)
    return summary


def import_file(
    engine: Engine,
    path: Path,
    lines: Iterable[bytes] | None = None,
    *,
    skip_invalid: bool = False,
    progress: ProgressCallback | None = None,
    targets: SlaTargets | None = None,
    side_load_from: int = SIDE_LOAD_FROM_BYTES,
    company_timezone: str = "UTC",
) -> ImportSummary:
    """Import the file at `path` in a transaction of its own (`import_lines`). `lines`, when
    given, are the file's lines as the caller reads them (through a progress bar, say).

    A large file into an empty messages table on SQLite is side loaded: a second process
    writes the messages meanwhile (`keepwell.services.side_load`).

    The transaction takes SQLite's write lock at its first statement, so that no other
    writer changes what the import planned from; not with a side load, whose scratch database
    it would lock too, away from the worker: then the import begins as readers do, and a
    writer that came between its reads and its writes makes it fail (SQLite checks), never
    write from a stale plan.
    """
    with (
        engine.connect() as connection,
        side_loading(connection, path, side_load_from) as side,
        Session(bind=connection.execution_options(**({} if side else WRITES))) as session,
        session.begin(),  # committed or rolled back before the side load closes
        path.open("rb") if lines is None else nullcontext(lines) as stream,
    ):
        return import_lines(
            session,
            stream,
            skip_invalid=skip_invalid,
            progress=progress,
            targets=targets,
            side=side,
            company_timezone=company_timezone,
        )


# Records that decide which schedule a request's clock runs on (PRODUCT.md 3).
_CLOCK_TYPES = ("schedule", "user", "account", "assign")


def _import(
    session: Session,
    lines: Iterable[bytes | str],
    skip_invalid: bool,
    progress: ProgressCallback | None,
    targets: SlaTargets,
    side: SideLoad | None,
    today: date,
) -> ImportSummary:
    connection = session.connection()
    batch = parse_lines(lines, on_progress=(lambda n: progress("read", n)) if progress else None)
    errors = _validate(connection, batch, skip_invalid)
    if errors and not skip_invalid:
        raise ImportRejected(errors)
    plans = plan_changes(batch, lambda rt, keys: _stored_digests(connection, rt, keys))
    summary = ImportSummary(lines=batch.lines, skipped=errors)
    touched = _touched_threads(plans)
    # A message that moves to another thread leaves the requests of the one it was in.
    touched |= _threads_left(connection, plans)
    stored_before = _existing_ids(connection, "thread", touched) if touched else set()
    _write_all(connection, batch, plans, summary, progress, side)
    if users := plans.get("user"):
        record_schedule_changes(connection, users.inserts.values, users.updates.values, today)
    _rebuild_requests(connection, plans, touched, stored_before, summary, targets)
    large = _largely_written(plans, summary)
    if side:  # nothing since has read the tables it writes
        # The parsed file is freed while the worker is still busy, not after it is done.
        del batch, plans
        summary.side_loaded = side.finish(
            connection, lambda name, plan: _write(connection, RECORD_TYPES[name], plan)
        )
    _refresh_statistics(connection, large)  # after the side load's rows are in
    session.expire_all()
    return summary


def _write_all(
    connection: Connection,
    batch: Batch,
    plans: dict[str, TypeChanges],
    summary: ImportSummary,
    progress: ProgressCallback | None,
    side: SideLoad | None,
) -> None:
    """Every type's inserts and updates, in the order references need; the side load's
    types are left to it."""
    # The worker parsed the whole file: its rows stand for none of a file with bad lines.
    side = None if summary.skipped else side
    for name, record_type in RECORD_TYPES.items():
        plan = plans.get(name)
        if plan is None:
            continue
        if not (side and side.takes(name, plan, batch.rows[name])):
            _write(connection, record_type, plan)
        summary.types[name] = TypeSummary(plan.added, plan.updated, plan.unchanged)
        if progress:
            progress(f"write {name}", len(plan.inserts) + len(plan.updates))


# Rows written to a table from which PostgreSQL's planner statistics are refreshed.
ANALYZE_FROM = 10_000


def _largely_written(plans: dict[str, TypeChanges], summary: ImportSummary) -> list[str]:
    """The tables this import wrote at least ANALYZE_FROM rows of."""
    tables = [
        RECORD_TYPES[name].table
        for name, plan in plans.items()
        if plan.added + plan.updated >= ANALYZE_FROM
    ]
    if summary.requests_rebuilt >= ANALYZE_FROM:
        tables.append("requests")
    return tables


def _refresh_statistics(connection: Connection, tables: list[str]) -> None:
    """After a large load PostgreSQL plans with statistics of the tables as they were until
    autovacuum catches up: a query on a table it believes empty may run an index probe per
    row. ANALYZE samples a fixed number of rows, a fraction of a second on millions. SQLite
    keeps none until asked, and then plans with the ones it was given: they are refreshed
    the same way (sampled, `PRAGMA analysis_limit`). Both inside the import's transaction."""
    for name in tables:
        connection.execute(text(f"ANALYZE {connection.dialect.identifier_preparer.quote(name)}"))


def _validate(connection: Connection, batch: Batch, skip_invalid: bool) -> list[LineError]:
    """Field errors, then reference errors; when skipping, repeat until no reference breaks."""
    errors = list(batch.errors)
    while True:
        broken = check_references(
            batch,
            exists=lambda kind, ids: _existing_ids(connection, kind, ids),
            thread_accounts=lambda threads: _thread_accounts(connection, threads),
            managers=lambda users: _managers(connection, users),
        )
        errors.extend(broken)
        if not broken or not skip_invalid:
            return sorted(errors)
        # A skipped account takes its contacts and messages with it, and so on down.
        batch.drop_lines({e.line for e in broken})


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _existing_ids(connection: Connection, kind: str, ids: set[str]) -> set[str]:
    table_name, column = _REFERENCE_TARGETS[kind]
    table = _table(table_name)
    if bulk.is_empty(connection, table):
        return set()
    return bulk.existing_values(connection, table, column, ids)


def _thread_accounts(connection: Connection, threads: set[str]) -> dict[str, str]:
    messages = _table("messages")
    if bulk.is_empty(connection, messages):
        return {}
    rows = bulk.rows_where_in(
        connection, messages, ("thread_id", "account_id"), "thread_id", threads
    )
    return dict(rows)


def _managers(connection: Connection, users: set[str]) -> dict[str, str | None]:
    rows = bulk.rows_where_in(connection, _table("users"), ("id", "manager_id"), "id", users)
    return dict(rows)


def _stored_digests(
    connection: Connection, record_type: RecordType, key_columns: list[Sequence[Any]]
) -> dict[Key, int | None]:
    table = _table(record_type.table)
    if bulk.is_empty(connection, table):
        return {}
    names = record_type.key_columns
    rows = bulk.rows_where_in(connection, table, (*names, "source_hash"), names[0], key_columns[0])
    wanted = set(zip(*key_columns, strict=True))
    stored = {tuple(row[:-1]): row[-1] for row in rows}
    return {key: digest for key, digest in stored.items() if key in wanted}


def _write(connection: Connection, record_type: RecordType, plan: TypeChanges) -> None:
    table = _table(record_type.table)
    columns = (*record_type.columns, "source_hash")
    bulk.insert_rows(connection, table, columns, plan.inserts.with_digests())
    bulk.update_rows(
        connection, table, columns, record_type.key_columns, plan.updates.with_digests()
    )


def _rebuild_requests(
    connection: Connection,
    plans: dict[str, TypeChanges],
    touched: set[str],
    stored_before: set[str],
    summary: ImportSummary,
    targets: SlaTargets,
) -> None:
    """Replay every thread the import touched and replace its requests.

    Threads the database held before the import, and threads an updated message moved
    into, come back from the database whole, after the writes; the other threads, new in
    this file, are replayed from its rows, which are all inserts (a resolve or escalation can
    only name a thread that has messages).
    """
    if not touched:
        return
    requests = _table("requests")
    from_store = stored_before | _threads_of_updates(plans)
    messages, actions = _events_from_file(plans, touched - from_store)
    stored_messages, stored_actions = _events_from_store(connection, from_store)
    if not bulk.is_empty(connection, requests):
        bulk.delete_where_in(connection, requests, "thread_id", touched)
    derived = derive_request_columns(messages + stored_messages, actions + stored_actions)
    # The clocks are computed as the requests are written: no second pass over them.
    times = list(
        zip(derived.id, derived.account_id, derived.opened_at, derived.first_response_at,
            derived.resolved_at, strict=True)
    )  # fmt: skip
    clocks = clock_values(connection, times, targets)
    clock_columns = list(zip(*map(clocks.__getitem__, derived.id), strict=True))
    rows: bulk.Rows = ZippedRows([*derived, *clock_columns]) if clock_columns else []
    bulk.insert_rows(connection, requests, _REQUEST_COLUMNS, rows)
    summary.requests_rebuilt = len(rows)
    summary.threads_replayed = len(touched)
    summary.rebuilt_requests = set(derived.id)


def _threads_left(connection: Connection, plans: dict[str, TypeChanges]) -> set[str]:
    """The threads the updated messages are stored in before the import: a message whose
    `thread` changed leaves its old thread. (Resolves and escalations are keyed by their
    thread: an update cannot move one.)"""
    plan = plans.get(MESSAGE.name)
    if plan is None or not plan.updates:
        return set()
    ids = plan.updates.column(MESSAGE.columns.index("id"))
    rows = bulk.rows_where_in(connection, _table("messages"), ("thread_id",), "id", ids)
    return {thread for (thread,) in rows}


def _touched_threads(plans: dict[str, TypeChanges]) -> set[str]:
    touched: set[str] = set()
    for record_type in (MESSAGE, RESOLVE, ESCALATE):
        plan = plans.get(record_type.name)
        if plan is None:
            continue
        index = record_type.columns.index("thread_id")
        for rows in (plan.inserts, plan.updates):
            touched.update(rows.column(index))
    return touched


def _threads_of_updates(plans: dict[str, TypeChanges]) -> set[str]:
    threads: set[str] = set()
    for record_type in (MESSAGE, RESOLVE, ESCALATE):
        plan = plans.get(record_type.name)
        if plan is not None and plan.updates:
            threads.update(plan.updates.column(record_type.columns.index("thread_id")))
    return threads


def _events_from_file(
    plans: dict[str, TypeChanges], threads: set[str]
) -> tuple[ThreadMessages, ThreadActions]:
    """The events of the given threads among the rows this import inserts."""
    if not threads:
        return ThreadMessages(), ThreadActions()

    def columns(record_type: RecordType, *names: str) -> list[Sequence[Any]]:
        rows = plans.get(record_type.name, TypeChanges()).inserts
        indexes = [record_type.columns.index(name) for name in names]
        if not rows:
            return [() for _ in names]
        thread = rows.column(record_type.columns.index("thread_id"))
        if threads.issuperset(thread):  # the usual case: all of them
            return [rows.column(i) for i in indexes]
        wanted = list(map(threads.__contains__, thread))
        return [list(compress(rows.column(i), wanted)) for i in indexes]

    return (
        ThreadMessages(*columns(MESSAGE, *_MESSAGE_EVENT_COLUMNS)),
        ThreadActions.resolves(*columns(RESOLVE, *_RESOLVE_EVENT_COLUMNS))
        + ThreadActions.escalations(*columns(ESCALATE, *_ESCALATE_EVENT_COLUMNS)),
    )


# The columns of the stored rows that replay a thread, in the order the events take them.
_MESSAGE_EVENT_COLUMNS = (
    "id", "account_id", "thread_id", "at", "direction", "automated", "deleted"
)  # fmt: skip
_RESOLVE_EVENT_COLUMNS = ("thread_id", "at", "by_id", "note")
_ESCALATE_EVENT_COLUMNS = ("thread_id", "at", "by_id", "novel")


def _events_from_store(
    connection: Connection, threads: set[str]
) -> tuple[ThreadMessages, ThreadActions]:
    if not threads:
        return ThreadMessages(), ThreadActions()

    def columns(table: str, names: tuple[str, ...]) -> list[Sequence[Any]]:
        rows = bulk.rows_where_in(connection, _table(table), names, "thread_id", threads)
        return list(zip(*rows, strict=True)) if rows else [() for _ in names]

    return (
        ThreadMessages(*columns("messages", _MESSAGE_EVENT_COLUMNS)),
        ThreadActions.resolves(*columns("resolves", _RESOLVE_EVENT_COLUMNS))
        + ThreadActions.escalations(*columns("escalations", _ESCALATE_EVENT_COLUMNS)),
    )
