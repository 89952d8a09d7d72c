"""SLA clocks for every request (PRODUCT.md 3): deadlines and business time, in bulk.

Requests are grouped by the schedule their clock runs on, and each group goes through the
business-hours engine as arrays: one call per schedule, not one per request. Recomputed for
all requests when schedules, holidays or targets change, and for the rebuilt ones after an
import.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from keepwell.domain.hours import BusinessCalendar, seconds_to_micros
from keepwell.domain.sla import SlaTargets
from keepwell.domain.timeline import Ownership
from keepwell.services.batch import gc_paused
from keepwell.services.schedules import (
    ALWAYS_OPEN,
    Calendars,
    clock_schedule,
    load_schedules_from,
    owner_schedules,
)
from keepwell.store import bulk
from keepwell.store.bulk import Row
from keepwell.store.models import Account, Base
from keepwell.store.types import UTCDateTime

REQUESTS = Base.metadata.tables["requests"]
ASSIGNMENTS = Base.metadata.tables["assignments"]
NONE = np.iinfo(np.int64).min  # a missing instant inside an int64 array

SLA_COLUMNS = (
    "schedule_id",
    "first_response_due",
    "resolution_due",
    "response_seconds",
    "resolution_seconds",
    "resolution_days",
    "response_breached",
    "resolution_breached",
)


@dataclass(frozen=True)
class SlaSummary:
    requests: int  # recomputed
    schedules: int
    changed: int = 0  # whose clocks came out different, and were written


def owner_histories(connection: Connection) -> dict[str, Ownership]:
    """Every account's owners over time (domain.timeline), instants in microseconds."""
    moves: dict[str, list[tuple[int, str]]] = defaultdict(list)
    columns = ASSIGNMENTS.c
    query = select(columns.account_id, bulk.micros(connection, columns.at), columns.owner_id)
    for account_id, at, owner in connection.execute(query):
        moves[account_id].append((at, owner))
    return {
        account_id: Ownership(owner, tuple(moves.get(account_id, ())))
        for account_id, owner in connection.execute(select(Account.id, Account.owner_id))
    }


def recompute_sla(
    session: Session,
    targets: SlaTargets,
    only: Collection[str] | None = None,
    *,
    besides: Collection[str] = (),
) -> SlaSummary:
    """Recompute the SLA columns of every request (or of the requests `only` names), but
    those in `besides` (an import computed their clocks as it wrote them)."""
    connection = session.connection()
    if only is None and besides and len(besides) >= _count(connection):
        return SlaSummary(0, 0)  # every request is among those already done
    with gc_paused():
        return _recompute(session, connection, targets, only, besides)


def _recompute(
    session: Session,
    connection: Connection,
    targets: SlaTargets,
    only: Collection[str] | None,
    besides: Collection[str],
) -> SlaSummary:
    loaded = _load_requests(connection, only)
    if besides:
        skip = set(besides)
        loaded = [row for row in loaded if row[0] not in skip]
    if not loaded:
        return SlaSummary(0, 0)
    clocks = clock_rows(connection, loaded, targets)
    # Only clocks that came out different are written: a recompute after a change of
    # targets rewrites them all, one after an unrelated change next to none (PostgreSQL
    # would otherwise write a new version of every row and of its index entries).
    rows = [(row[0], *new) for row, new in zip(loaded, clocks, strict=True) if new != row[5:]]
    bulk.update_from_rows(connection, REQUESTS, "id", SLA_COLUMNS, rows)
    session.expire_all()
    schedules = len({new[0] for new in clocks})
    return SlaSummary(len(clocks), schedules, len(rows))


def _count(connection: Connection) -> int:
    return connection.execute(select(func.count()).select_from(REQUESTS)).scalar_one()


RequestTimes = tuple[str, str, int, int | None, int | None]  # id, account, opened, first, resolved


def clock_values(
    connection: Connection, requests: Sequence[RequestTimes], targets: SlaTargets
) -> dict[str, tuple[object, ...]]:
    """The SLA columns (in SLA_COLUMNS order) of each request, by request id."""
    rows = clock_rows(connection, requests, targets)
    return dict(zip((request[0] for request in requests), rows, strict=True))


def clock_rows(
    connection: Connection, requests: Sequence[Sequence[Any]], targets: SlaTargets
) -> list[tuple[object, ...]]:
    """The SLA columns (in SLA_COLUMNS order) of each request, in the order given. Each
    request starts with the fields of RequestTimes; anything after them is ignored."""
    calendars = Calendars(load_schedules_from(connection))
    clocks = _clock_schedules(connection, requests, calendars)
    groups: dict[str, list[int]] = defaultdict(list)
    for index, schedule_id in enumerate(clocks):
        groups[schedule_id].append(index)
    opened = np.array([r[2] for r in requests], dtype=np.int64)
    first = np.array([NONE if r[3] is None else r[3] for r in requests], dtype=np.int64)
    resolved = np.array([NONE if r[4] is None else r[4] for r in requests], dtype=np.int64)
    times = _BusinessTimes.empty(len(requests))
    for schedule_id, indexes in groups.items():
        rows = np.array(indexes)
        times.fill(rows, calendars[schedule_id], opened[rows], first[rows], resolved[rows], targets)
    answered, closed = first != NONE, resolved != NONE
    target = seconds_to_micros(str(targets.first_response_seconds))
    return list(
        zip(
            clocks,
            times.first_due.tolist(),
            times.resolution_due.tolist(),
            _where(answered, times.response / 1e6),
            _where(closed, times.resolution / 1e6),
            _where(closed, times.resolution_days),
            _where(answered, times.response > target),
            _where(closed, times.resolution_days > targets.resolution_business_days),
            strict=True,
        )
    )


def _load_requests(connection: Connection, only: Collection[str] | None) -> list[Row]:
    """Each request's times (RequestTimes) followed by its SLA columns as stored."""
    columns = ("id", "account_id", "opened_at", "first_response_at", "resolved_at", *SLA_COLUMNS)
    table = REQUESTS
    if only is None:
        selected = [_readable(connection, table.c[c]) for c in columns]
        return bulk.raw_rows(connection, select(*selected))
    return bulk.rows_where_in(connection, table, columns, "id", only)


def _readable(connection: Connection, column: Any) -> Any:
    """Instants as microseconds, flags as 0/1 on both databases, to compare with."""
    if isinstance(column.type, UTCDateTime):
        return bulk.micros(connection, column)
    return column


def _clock_schedules(
    connection: Connection, requests: Sequence[Sequence[Any]], calendars: Calendars
) -> list[str]:
    """The schedule each request's clock runs on (PRODUCT.md 3): the account's coverage
    schedule, else its owner's when the request opened (the owner's schedules over time:
    each stretch of the clock by the one in force then). Worked out once per account when
    no ownership change can matter, per request otherwise."""
    coverage = dict(connection.execute(select(Account.id, Account.schedule_id)).all())
    user_schedule = owner_schedules(connection)
    histories = owner_histories(connection)
    schedules = calendars.schedules

    def clock_at(account_id: str, opened: int) -> str:
        history = histories.get(account_id)
        owner = history.owner_at_micros(opened) if history else None
        owner_schedule = user_schedule.get(owner) if owner else None
        return clock_schedule(coverage.get(account_id), owner_schedule, schedules)

    fixed = {
        account_id: clock_at(account_id, 0)
        for account_id, history in histories.items()
        if not history.moves
        or clock_schedule(coverage.get(account_id), None, schedules) != ALWAYS_OPEN
    }
    return [fixed.get(r[1]) or clock_at(r[1], r[2]) for r in requests]


@dataclass
class _BusinessTimes:
    """Deadlines and business time to first response and to resolution, per request,
    filled schedule by schedule (zero where the event has not happened)."""

    first_due: np.ndarray
    resolution_due: np.ndarray
    response: np.ndarray
    resolution: np.ndarray
    resolution_days: np.ndarray

    @classmethod
    def empty(cls, size: int) -> _BusinessTimes:
        def instants() -> np.ndarray:
            return np.zeros(size, dtype=np.int64)

        return cls(instants(), instants(), instants(), instants(), np.zeros(size))

    def fill(
        self,
        rows: np.ndarray,
        calendar: BusinessCalendar,
        opened: np.ndarray,
        first: np.ndarray,
        resolved: np.ndarray,
        targets: SlaTargets,
    ) -> None:
        """The `rows` (requests on one calendar), from their opening, first response and
        resolution (NONE where it has not happened)."""
        target = seconds_to_micros(str(targets.first_response_seconds))
        self.first_due[rows] = calendar.add(opened, np.full(opened.shape, target))
        days = np.full(opened.shape, targets.resolution_business_days, dtype=np.float64)
        self.resolution_due[rows] = calendar.add_business_days(opened, days)
        answered, closed = first != NONE, resolved != NONE
        replied = np.maximum(first, opened)[answered]
        self.response[rows[answered]] = calendar.between(opened[answered], replied)
        done = np.maximum(resolved, opened)[closed]
        self.resolution[rows[closed]] = calendar.between(opened[closed], done)
        days_to_resolve = calendar.business_days_between(opened[closed], done)
        self.resolution_days[rows[closed]] = days_to_resolve


def _where(present: np.ndarray, values: np.ndarray) -> list[object]:
    """The values as Python objects, None where `present` is False."""
    return [v if p else None for p, v in zip(present.tolist(), values.tolist(), strict=True)]
