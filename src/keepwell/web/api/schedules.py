"""Business-hours schedules as JSON (issue 14 §4, admin): what `/settings/schedules` shows and
does, through the same service."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from keepwell.services import schedule_edits
from keepwell.services.schedule_edits import UnknownSchedule, VersionInvalid
from keepwell.store.db import transaction
from keepwell.web.auth import AdminUser
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.jobs import get_jobs

router = APIRouter(prefix="/api/schedules", tags=["settings"])
Intervals = list[list[str]]


class HolidaysIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str | None = Field(None, description="ISO 3166 code, e.g. US", max_length=8)
    subdivision: str | None = Field(None, description="e.g. NY", max_length=16)
    dates: list[str] | None = Field(None, description="extra closed dates, YYYY-MM-DD")


class VersionIn(BaseModel):
    """A version's fields, as a `schedule` import line has them (PRODUCT.md 3)."""

    model_config = ConfigDict(extra="forbid")
    timezone: str = Field(description="IANA name", max_length=64)
    week: dict[str, Intervals] = Field(
        default_factory=dict, description='by weekday: {"mon": [["09:00", "17:00"]], ...}'
    )
    holidays: HolidaysIn | None = None
    days: dict[str, Intervals] | None = Field(
        None, description='date-specific hours: {"2026-12-24": [["09:00", "13:00"]]}'
    )


class VersionOut(BaseModel):
    effective: date | None = Field(description="None: from the start")
    spec: dict[str, Any]


class ScheduleOut(BaseModel):
    id: str
    users: list[str]
    accounts: int
    versions: list[VersionOut]


class SavedOut(BaseModel):
    schedule_id: str
    effective: date
    replaced: bool
    job_id: str = Field(description="the recompute that follows (SLA clocks, health, scorecards)")


class DayOut(BaseModel):
    day: date
    open: list[list[str]]
    open_hours: float
    why: str
    version: date | None


@router.get("", response_model=list[ScheduleOut])
def list_schedules(session: SessionDep, _user: AdminUser) -> list[ScheduleOut]:
    """Every schedule with its versions (oldest first), who works it, what it covers."""
    return [
        ScheduleOut(
            id=s.id,
            users=list(s.users),
            accounts=s.accounts,
            versions=[VersionOut(effective=v.effective, spec=dict(v.spec)) for v in s.versions],
        )
        for s in schedule_edits.list_schedules(session)
    ]


@router.get("/{schedule_id}/week", response_model=list[DayOut])
def week_hours(schedule_id: str, session: SessionDep, week: date, _user: AdminUser) -> list[DayOut]:
    """The open hours of each day of the `week` (any of its days), local time."""
    start = date.fromordinal(week.toordinal() - week.weekday())
    try:
        hours = schedule_edits.week_hours(session, schedule_id, start)
    except UnknownSchedule as exc:
        raise HTTPException(404, f"no schedule {exc}") from exc
    return [
        DayOut(day=d.day, open=d.pairs, open_hours=d.open_seconds / 3600, why=d.why,
               version=d.effective)
        for d in hours
    ]  # fmt: skip


@router.put(
    "/{schedule_id}/versions/{effective}",
    response_model=SavedOut,
    responses={404: {"description": "no such schedule"}, 422: {"description": "not valid"}},
)
def put_version(
    schedule_id: str,
    effective: date,
    body: VersionIn,
    request: Request,
    now: NowDep,
    user: AdminUser,
) -> SavedOut:
    """Add the version effective from `effective` (or replace the one that is), checked as a
    `schedule` import line; audited, and followed by a recompute job (`job_id`)."""
    spec = {**body.model_dump(exclude_none=True), "effective": effective.isoformat()}
    try:
        with transaction(request.app.state.engine, writes=True) as session:
            saved = schedule_edits.save_spec(session, schedule_id, spec, by=user.id, now=now)
    except UnknownSchedule as exc:
        raise HTTPException(404, f"no schedule {exc}") from exc
    except VersionInvalid as exc:
        detail = [
            {"type": "value_error", "loc": ["body", *field.split(".")], "msg": message}
            for field, message in exc.paths.items()
        ]
        raise HTTPException(422, detail) from exc
    get_jobs(request.app).send_recompute(saved.job_id)
    return SavedOut(**asdict(saved))
