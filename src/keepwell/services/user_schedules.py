"""A user's schedules over time, kept as user lines change them (PRODUCT.md 3: "a CSM moving
from a 20-hour to a 40-hour week applies from its effective date on, and figures of earlier
periods keep the schedule that was in force then").

A user line's `schedule` holds from its `schedule_effective` date (00:00 in the schedule's
zone), by default from the day of the import in the company zone; a user's first line sets
it from the start. The clocks read the history through `services.schedules`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, insert

from keepwell.ingest.records import USER
from keepwell.store import bulk
from keepwell.store.models import Base

FROM_THE_START = date(1, 1, 1)  # the effective date of a user's first schedule
TABLE = Base.metadata.tables["user_schedules"]

History = list[tuple[date, str | None]]  # (effective, schedule id), oldest first


def record_schedule_changes(
    connection: Connection, inserted: Iterable[Sequence[Any]], updated: Iterable[Sequence[Any]],
    today: date,
) -> int:  # fmt: skip
    """Keep the schedule histories of the users of these user rows (as the import writes
    them: USER's columns) up to date; how many users' histories changed."""
    lines = [(row, True) for row in inserted] + [(row, False) for row in updated]
    if not lines:
        return 0
    index = {name: USER.columns.index(name) for name in ("id", "schedule_id")}
    effective_at = USER.columns.index("schedule_effective")
    stored = _histories(connection, {row[index["id"]] for row, _ in lines})
    changed = 0
    for row, new_user in lines:
        user_id = row[index["id"]]
        before = stored.get(user_id, [])
        after = next_history(
            before, row[index["schedule_id"]], row[effective_at], today, new_user=new_user
        )
        if after != before:
            _replace(connection, user_id, after)
            stored[user_id] = after
            changed += 1
    return changed


def next_history(
    history: History, schedule: str | None, effective: date | None, today: date, *, new_user: bool
) -> History:
    """The history after a user line that states `schedule`, from `effective` if given."""
    if not history:
        if schedule is None:
            return []
        if new_user and effective is None:
            return [(FROM_THE_START, schedule)]  # a first line: from the start
        return [(FROM_THE_START, None), (effective or today, schedule)]
    last_day, current = history[-1]
    if schedule == current:
        moved = effective is not None and last_day not in (FROM_THE_START, effective)
        if not moved:
            return history
        history = history[:-1]  # the line moves the change to another day
    return _changed(history, schedule, effective or today)


def _changed(history: History, schedule: str | None, since: date) -> History:
    """`schedule` from `since` on: what was to change from that day on is replaced."""
    kept = [(day, sid) for day, sid in history if day < since]
    if kept and kept[-1][1] == schedule:
        return kept
    return [*kept, (since if kept else FROM_THE_START, schedule)]


def _histories(connection: Connection, users: set[str]) -> dict[str, History]:
    columns = ("user_id", "effective", "schedule_id")
    out: dict[str, History] = defaultdict(list)
    for user_id, effective, schedule_id in bulk.rows_where_in(
        connection, TABLE, columns, "user_id", users
    ):
        out[user_id].append((effective, schedule_id))
    return {user_id: sorted(history) for user_id, history in out.items()}


def _replace(connection: Connection, user_id: str, history: History) -> None:
    connection.execute(delete(TABLE).where(TABLE.c.user_id == user_id))
    if history:
        rows = [{"user_id": user_id, "effective": d, "schedule_id": s} for d, s in history]
        connection.execute(insert(TABLE), rows)
