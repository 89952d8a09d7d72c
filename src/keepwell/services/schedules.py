"""Schedules from the store, compiled once per use case, and which clock a request runs on.

PRODUCT.md 3 and 4 ("Clock start"): a request's clock runs on its account's coverage
schedule if it has one, else on the schedule of the CSM who owned the account when the
request opened, in that schedule's own time zone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from keepwell.domain.hours import BusinessCalendar, Schedule, calendar_for, spliced
from keepwell.store.models import Schedule as ScheduleRow
from keepwell.store.models import User, UserSchedule

# Where no schedule applies (an account with no owner, an owner without a schedule), the
# clock runs around the clock: time is still measured, and nothing is hidden.
ALWAYS_OPEN = "(always open)"
_ALWAYS_OPEN_SPEC: dict[str, Any] = {
    "timezone": "UTC",
    "week": {
        day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    },
}


def load_schedules(session: Session) -> dict[str, Schedule]:
    """Every schedule with all its versions (PRODUCT.md 3: effective-dated)."""
    return load_schedules_from(session.connection())


def load_schedules_from(connection: Connection) -> dict[str, Schedule]:
    """Every schedule, and the clock of each user whose schedule changed (`user_clock`)."""
    versions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    table = ScheduleRow.__table__
    rows = connection.execute(select(table.c.schedule_id, table.c.spec))
    for schedule_id, spec in rows:
        versions[schedule_id].append(spec)
    schedules = {sid: Schedule.from_versions(specs) for sid, specs in versions.items()}
    schedules[ALWAYS_OPEN] = Schedule.from_versions([_ALWAYS_OPEN_SPEC])
    for user_id, history in user_schedule_histories(connection).items():
        if len(history) > 1:
            schedules[user_clock(user_id)] = spliced(
                [(day, schedules.get(sid or "") or schedules[ALWAYS_OPEN]) for day, sid in history]
            )
    return schedules


# A user's schedules over time (PRODUCT.md 3: "a CSM moving from a 20-hour to a 40-hour
# week applies from its effective date on") are one schedule to the engine: the versions
# of each in force from its effective date, spliced (`spliced`). It goes by this id.
USER_CLOCK = "(schedules of {})"


def user_clock(user_id: str) -> str:
    return USER_CLOCK.format(user_id)


def user_schedule_histories(connection: Connection) -> dict[str, list[tuple[date, str | None]]]:
    """Each user's schedules by effective date, oldest first (the first from the start)."""
    columns = (UserSchedule.user_id, UserSchedule.effective, UserSchedule.schedule_id)
    histories: dict[str, list[tuple[date, str | None]]] = defaultdict(list)
    for user_id, effective, schedule_id in connection.execute(
        select(*columns).order_by(*columns[:2])
    ):
        histories[user_id].append((effective, schedule_id))
    return histories


def owner_schedules(connection: Connection) -> dict[str, str | None]:
    """The schedule each user's clock runs on: the user's schedule, or, once it has changed,
    their schedules over time (`user_clock`)."""
    current = dict(connection.execute(select(User.id, User.schedule_id)).all())
    for user_id, history in user_schedule_histories(connection).items():
        if len(history) > 1:
            current[user_id] = user_clock(user_id)
    return current


@dataclass
class Calendars:
    """Compiled calendars by schedule id, built on first use and kept for the use case."""

    schedules: dict[str, Schedule]
    _compiled: dict[str, BusinessCalendar] = field(default_factory=dict)

    def __getitem__(self, schedule_id: str) -> BusinessCalendar:
        if schedule_id not in self._compiled:
            schedule = self.schedules.get(schedule_id) or self.schedules[ALWAYS_OPEN]
            self._compiled[schedule_id] = calendar_for(schedule)
        return self._compiled[schedule_id]


def clock_schedule(
    coverage: str | None, owner_schedule: str | None, schedules: dict[str, Schedule]
) -> str:
    """The schedule a request's clock runs on: coverage, else the owner's, else always open."""
    for candidate in (coverage, owner_schedule):
        if candidate and candidate in schedules:
            return candidate
    return ALWAYS_OPEN
