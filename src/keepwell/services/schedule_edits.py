"""Business-hours schedules in the settings (issue 14 §4): each schedule with its versions,
the hours of a chosen week, and a new version effective from a date.

A version saved here is a `schedule` line of the import (PRODUCT.md 9) checked by the same
rules (`ingest.jsonl.parse_line`: the business-hours engine's) and stored as the import
stores it, so a re-import of the same line changes nothing. Saving records who changed what
in the audit log and, in the same transaction, the recompute that follows (the SLA clocks,
the health and the kept scorecards that read them), enqueued once committed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import holidays as holiday_data
import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keepwell.domain.hours import WEEKDAYS, Schedule, ScheduleError
from keepwell.domain.hours.calendar import versions_on
from keepwell.ingest import jsonl
from keepwell.ingest.records import NO_EFFECTIVE_DATE, SCHEDULE
from keepwell.services import audit
from keepwell.services.recompute import record_recompute
from keepwell.store.models import Account, User
from keepwell.store.models import Schedule as VersionRow
from keepwell.store.upsert import insert

# What a schedule change is followed by: the clocks, and what reads them.
RECOMPUTE_AFTER = ("sla", "health", "scorecards")
DAY_NAMES = {
    "mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
    "fri": "Friday", "sat": "Saturday", "sun": "Sunday",
}  # fmt: skip
FIELDS = ("effective", "timezone", *(f"week_{d}" for d in WEEKDAYS), "holidays_country",
          "holidays_subdivision", "holidays_dates", "days")  # fmt: skip
_SEPARATORS = re.compile(r"[,;\s]+")
_DASHES = re.compile(r"\s*[-–]\s*")


class UnknownSchedule(LookupError):
    """No schedule with that id."""


class VersionInvalid(ValueError):
    """A version that breaks the rules: `errors` by form field (FIELDS, or "week"), and by
    the rule's own field (`week.fri[1]`, as the import names it) in `paths`."""

    def __init__(self, errors: dict[str, str], paths: dict[str, str] | None = None) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in (paths or errors).items()))
        self.errors = errors
        self.paths = paths or errors


# -- reading


@dataclass(frozen=True)
class VersionView:
    effective: date | None  # None: from the start
    timezone: str
    week: tuple[tuple[str, str], ...]  # (day name, "09:00–13:00, 14:00–18:00" or "closed")
    country: str | None
    subdivision: str | None
    closed_dates: tuple[str, ...]
    days: tuple[tuple[str, str], ...]  # (date, hours or "closed")
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class ScheduleView:
    id: str
    versions: tuple[VersionView, ...]  # oldest first
    users: tuple[str, ...]  # names of the users who work it now
    accounts: int  # accounts it covers


def list_schedules(session: Session) -> list[ScheduleView]:
    """Every schedule with its versions, who works it and what it covers, by id."""
    rows = session.execute(
        select(VersionRow.schedule_id, VersionRow.effective, VersionRow.spec).order_by(
            VersionRow.schedule_id, VersionRow.effective
        )
    )
    versions: dict[str, list[VersionView]] = defaultdict(list)
    for schedule_id, effective, spec in rows:
        versions[schedule_id].append(_view(effective, spec))
    users: dict[str, list[str]] = defaultdict(list)
    for worked, name in session.execute(
        select(User.schedule_id, User.name).where(User.schedule_id.is_not(None)).order_by(User.name)
    ):
        users[worked or ""].append(name)
    covered = dict(
        session.execute(
            select(Account.schedule_id, func.count()).group_by(Account.schedule_id)
        ).all()
    )
    return [
        ScheduleView(sid, tuple(views), tuple(users.get(sid, ())), covered.get(sid, 0))
        for sid, views in versions.items()
    ]


def _view(effective: date, spec: Mapping[str, Any]) -> VersionView:
    week = spec.get("week") or {}
    holidays = spec.get("holidays") or {}
    return VersionView(
        effective=None if effective == NO_EFFECTIVE_DATE else effective,
        timezone=spec["timezone"],
        week=tuple((DAY_NAMES[d], _hours_text(week.get(d, []))) for d in WEEKDAYS),
        country=holidays.get("country"),
        subdivision=holidays.get("subdivision"),
        closed_dates=tuple(str(d) for d in holidays.get("dates", [])),
        days=tuple((str(k), _hours_text(v)) for k, v in sorted((spec.get("days") or {}).items())),
        spec=spec,
    )


def _hours_text(intervals: list[list[str]]) -> str:
    return ", ".join(f"{a}–{b}" for a, b in intervals) if intervals else "closed"


@dataclass(frozen=True)
class DayHours:
    day: date
    intervals: tuple[tuple[int, int], ...]  # seconds after local midnight
    why: str  # "weekly hours", "public holiday", "closed date", "date-specific hours"
    effective: date | None  # the version in force

    @property
    def open_seconds(self) -> int:
        return sum(end - start for start, end in self.intervals)

    @property
    def pairs(self) -> list[list[str]]:
        return [[_clock(a), _clock(b)] for a, b in self.intervals]

    @property
    def text(self) -> str:
        return ", ".join(f"{a}–{b}" for a, b in self.pairs) or "closed"


def week_hours(
    session: Session, schedule_id: str, monday: date, draft: Mapping[str, str] | None = None
) -> list[DayHours]:
    """The open hours of the seven days from `monday`, each by the version in force that day
    (PRODUCT.md 3: a date's own hours, else closed on a holiday, else the weekday's). With a
    `draft` (the form's fields), as they would be were it saved; VersionInvalid if it is not
    valid."""
    stored = _stored_versions(session, schedule_id)
    if draft is not None:
        spec = _checked_spec(schedule_id, draft)
        stored[date.fromisoformat(spec["effective"])] = spec
        _check_schedule(stored)
    schedule = Schedule.from_versions(list(stored.values()))
    days = [monday + timedelta(days=i) for i in range(7)]
    out = []
    for day, version in zip(days, versions_on(schedule, days), strict=True):
        if day in dict(version.days):
            why = "date-specific hours"
        elif day in version.closed_dates:
            why = "closed date"
        elif version.is_closed_date(day):
            why = "public holiday"
        else:
            why = "weekly hours"
        out.append(DayHours(day, version.hours_on(day), why, version.effective))
    return out


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def form_values(version: VersionView | None, effective: date) -> dict[str, str]:
    """The form's fields filled from a version (the one in force: a new one starts as a
    copy of it), effective from `effective`."""
    values = dict.fromkeys(FIELDS, "")
    values["effective"] = effective.isoformat()
    if version is None:
        return values
    spec = version.spec
    week = spec.get("week") or {}
    values["timezone"] = spec["timezone"]
    for day in WEEKDAYS:
        values[f"week_{day}"] = ", ".join(f"{a}-{b}" for a, b in week.get(day, []))
    values["holidays_country"] = version.country or ""
    values["holidays_subdivision"] = version.subdivision or ""
    values["holidays_dates"] = ", ".join(version.closed_dates)
    values["days"] = "\n".join(
        f"{day} {', '.join(f'{a}-{b}' for a, b in hours) or 'closed'}"
        for day, hours in sorted((spec.get("days") or {}).items())
    )
    return values


# -- writing


@dataclass(frozen=True)
class Saved:
    schedule_id: str
    effective: date
    replaced: bool  # a version effective that day was there before
    job_id: str  # the recompute that follows, recorded QUEUED: enqueue it once committed


def save_version(
    session: Session, schedule_id: str, fields: Mapping[str, str], *, by: str, now: datetime
) -> Saved:
    """Add (or replace) the version of `schedule_id` effective from the form's date: checked
    as an import line is, stored as the import stores it, recorded in the audit log, and
    followed by a recompute recorded QUEUED (RECOMPUTE_AFTER). UnknownSchedule; VersionInvalid
    with a message for each field at fault."""
    return save_spec(session, schedule_id, spec_from_form(fields), by=by, now=now)


def save_spec(
    session: Session, schedule_id: str, spec: Mapping[str, Any], *, by: str, now: datetime
) -> Saved:
    """`save_version` for a version given as a schedule line's fields (PRODUCT.md 3 and 9:
    timezone, week, holidays, days, effective), as the API takes it."""
    stored = _stored_versions(session, schedule_id)
    values = _checked_line(schedule_id, spec)
    row = dict(zip(SCHEDULE.columns, values, strict=True))
    effective: date = row["effective"]
    if effective == NO_EFFECTIVE_DATE:
        raise VersionInvalid({"effective": "required: the date the new hours apply from"})
    before = stored.get(effective)
    _check_schedule({**stored, effective: row["spec"]})
    statement = insert(session, VersionRow.__table__).values(
        **row, source_hash=jsonl.digest(values)
    )
    changes = {name: statement.excluded[name] for name in ("timezone", "spec", "source_hash")}
    session.execute(
        statement.on_conflict_do_update(index_elements=["schedule_id", "effective"], set_=changes)
    )
    subject = f"schedule:{schedule_id}"
    audit.record(session, at=now, by=by, action="schedule.version", subject=subject,
                 before=dict(before) if before else None, after=dict(row["spec"]))  # fmt: skip
    reason = f"schedule {schedule_id} from {effective.isoformat()}"
    job_id = record_recompute(session, RECOMPUTE_AFTER, reason=reason, by=by, now=now)
    session.expire_all()
    return Saved(schedule_id, effective, before is not None, job_id)


def _stored_versions(session: Session, schedule_id: str) -> dict[date, Mapping[str, Any]]:
    query = select(VersionRow.effective, VersionRow.spec).where(
        VersionRow.schedule_id == schedule_id
    )
    stored: dict[date, Mapping[str, Any]] = {
        effective: spec for effective, spec in session.execute(query)
    }
    if not stored:
        raise UnknownSchedule(schedule_id)
    return stored


def _checked_spec(schedule_id: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """The form's version as a schedule line's fields, checked as the import checks them."""
    values = _checked_line(schedule_id, spec_from_form(fields))
    row = dict(zip(SCHEDULE.columns, values, strict=True))
    if row["effective"] == NO_EFFECTIVE_DATE:
        raise VersionInvalid({"effective": "required: the date the new hours apply from"})
    spec: dict[str, Any] = row["spec"]
    return spec


def spec_from_form(fields: Mapping[str, str]) -> dict[str, Any]:
    """The fields of a schedule line (PRODUCT.md 3) from the form's text: intervals as
    "09:00-13:00, 14:00-18:00" (empty: closed), dates separated by commas or spaces, one
    date a line in `days` ("2026-12-24 09:00-13:00", or "2026-12-25 closed")."""
    errors: dict[str, str] = {}
    week = {}
    for day in WEEKDAYS:
        try:
            week[day] = _intervals(fields.get(f"week_{day}", ""))
        except ValueError as exc:
            errors[f"week_{day}"] = str(exc)
    spec: dict[str, Any] = {"timezone": fields.get("timezone", "").strip(), "week": week}
    if effective := fields.get("effective", "").strip():
        spec["effective"] = effective
    holidays: dict[str, Any] = {}
    if country := fields.get("holidays_country", "").strip():
        holidays["country"] = country.upper()
    if subdivision := fields.get("holidays_subdivision", "").strip():
        holidays["subdivision"] = _subdivision_code(holidays.get("country", ""), subdivision)
    if dates := [d for d in _SEPARATORS.split(fields.get("holidays_dates", "")) if d]:
        holidays["dates"] = dates
    if holidays:
        spec["holidays"] = holidays
    try:
        if days := _days(fields.get("days", "")):
            spec["days"] = days
    except ValueError as exc:
        errors["days"] = str(exc)
    if errors:
        raise VersionInvalid(errors)
    return spec


def _subdivision_code(country: str, typed: str) -> str:
    """A subdivision code typed in lower case ("ny") as the `holidays` package spells it
    ("NY"); anything else as typed (some names are aliases in mixed case: "Alsace-Moselle")."""
    codes = set(holiday_data.list_supported_countries().get(country, ()))
    return typed.upper() if typed not in codes and typed.upper() in codes else typed


def _intervals(text: str) -> list[list[str]]:
    text = text.strip()
    if not text or text.lower() == "closed":
        return []
    out = []
    for part in (p for p in re.split(r"[,;]", text) if p.strip()):
        ends = _DASHES.split(part.strip())
        if len(ends) != 2 or not all(ends):
            raise ValueError(f"{part.strip()!r}: write each interval as HH:MM-HH:MM")
        out.append(ends)
    return out


def _days(text: str) -> dict[str, list[list[str]]]:
    days: dict[str, list[list[str]]] = {}
    for number, line in enumerate((ln.strip() for ln in text.splitlines()), 1):
        if not line:
            continue
        day, _, hours = line.partition(" ")
        try:
            days[day.rstrip(":")] = _intervals(hours)
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return days


def _checked_line(schedule_id: str, spec: Mapping[str, Any]) -> tuple[Any, ...]:
    """The schedule line's values as the import parses them, or VersionInvalid."""
    line = orjson.dumps({**spec, "type": "schedule", "id": schedule_id})
    try:
        _, values = jsonl.parse_line(line)
    except jsonl.LineProblem as problem:
        field = problem.field or "effective"
        raise VersionInvalid(
            {form_field(field): problem.message}, {field: problem.message}
        ) from None
    return values


def form_field(field: str) -> str:
    """The form field where a schedule rule's `field` (`week.fri[1]`) is entered."""
    head, _, rest = field.partition(".")
    if head == "week" and rest:
        return f"week_{rest.split('[')[0]}"
    if head == "holidays" and rest:
        return f"holidays_{rest.split('[')[0]}"
    if head in ("timezone", "effective", "days", "week"):
        return head
    return head or "effective"


def _check_schedule(versions: Mapping[date, Mapping[str, Any]]) -> None:
    try:
        Schedule.from_versions(list(versions.values()))
    except ScheduleError as exc:
        field = exc.field or "effective"
        raise VersionInvalid({form_field(field): exc.message}, {field: exc.message}) from None
