"""`/settings/schedules` (issue 14 §4, admin): the business-hours schedules and their
versions, a chosen week's hours as a chart (and a table), and a form to add a version from a
date; saving enqueues the recompute that follows, whose progress the page then shows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.config import get_settings
from keepwell.domain.access import Action, can
from keepwell.services import schedule_edits
from keepwell.services.jobs import get_job
from keepwell.services.schedule_edits import ScheduleView, UnknownSchedule, VersionInvalid
from keepwell.store.db import transaction
from keepwell.web.auth import PagePrincipal, Principal, SignedInForm
from keepwell.web.charts import week_hours_svg
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.jobs import get_jobs
from keepwell.web.pages.accounts import CHART_POLICY
from keepwell.web.pages.render import page

router = APIRouter(include_in_schema=False)
PATH = "/settings/schedules"


def _refused(request: Request, principal: Principal) -> HTMLResponse | None:
    if can(principal.user.role, Action.ADMINISTER):
        return None
    return page(request, "refused.html", principal, status_code=403,
                message=f"a {principal.user.role} may not change settings", back="/")  # fmt: skip


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _week_of(value: str | None, now: datetime) -> date:
    """The Monday of the week asked for (any day of it), else of this week (company zone)."""
    try:
        return _monday(date.fromisoformat(value or ""))
    except ValueError:
        return _monday(now.astimezone(ZoneInfo(get_settings().timezone)).date())


def _chosen(schedules: list[ScheduleView], asked: str | None) -> ScheduleView | None:
    by_id = {s.id: s for s in schedules}
    return by_id.get(asked or "") or (schedules[0] if schedules else None)


@router.get(PATH, response_class=HTMLResponse)
def schedules_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    now: NowDep,
    schedule: Annotated[str | None, Query(max_length=200)] = None,
    week: Annotated[str | None, Query(max_length=20)] = None,
    job: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    if refused := _refused(request, principal):
        return refused
    return _render(request, principal, session, now, schedule, week, job)


def _render(
    request: Request,
    principal: Principal,
    session: SessionDep,
    now: datetime,
    schedule_id: str | None,
    week: str | None,
    job_id: str | None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    draft: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    schedules = schedule_edits.list_schedules(session)
    chosen = _chosen(schedules, schedule_id)
    monday = _week_of(week, now)
    hours = schedule_edits.week_hours(session, chosen.id, monday, draft) if chosen else []
    if values is None:
        in_force = _in_force(chosen, monday)
        values = schedule_edits.form_values(in_force, monday)
    job = get_job(session, job_id) if job_id else None
    return page(
        request, "settings_schedules.html", principal, status_code=status_code,
        schedules=schedules, chosen=chosen, monday=monday, hours=hours, values=values,
        errors=errors or {}, job=job, weekdays=schedule_edits.DAY_NAMES, draft=draft,
        week_query=urlencode({"week": monday.isoformat(), **(draft or {})}),
    )  # fmt: skip


def _in_force(chosen: ScheduleView | None, day: date) -> schedule_edits.VersionView | None:
    if chosen is None:
        return None
    versions = [v for v in chosen.versions if v.effective is None or v.effective <= day]
    return (versions or list(chosen.versions))[-1]


@router.post(PATH + "/{schedule_id}/versions", response_model=None)
def add_version(schedule_id: str, request: Request, form: SignedInForm, now: NowDep) -> Response:
    principal, fields = form
    if refused := _refused(request, principal):
        return refused
    try:
        with transaction(request.app.state.engine, writes=True) as session:
            saved = schedule_edits.save_version(
                session, schedule_id, fields, by=principal.user.id, now=now
            )
    except UnknownSchedule as exc:
        raise HTTPException(404, f"no schedule {exc}") from exc
    except VersionInvalid as exc:
        with transaction(request.app.state.engine) as session:
            return _render(
                request, principal, session, now, schedule_id, fields.get("effective"), None,
                errors=exc.errors, values={k: fields.get(k, "") for k in schedule_edits.FIELDS},
                status_code=422,
            )  # fmt: skip
    get_jobs(request.app).send_recompute(saved.job_id)
    query = urlencode(
        {"schedule": schedule_id, "week": saved.effective.isoformat(), "job": saved.job_id}
    )
    return RedirectResponse(f"{PATH}?{query}#recompute", status_code=303)


@router.post(PATH + "/{schedule_id}/preview", response_model=None)
def preview_version(
    schedule_id: str, request: Request, form: SignedInForm, now: NowDep
) -> Response:
    """The page with the form as filled, and the chosen week's hours as they would be were
    the version saved: nothing is written."""
    principal, fields = form
    if refused := _refused(request, principal):
        return refused
    draft = {k: fields.get(k, "") for k in schedule_edits.FIELDS}
    week = fields.get("preview_week") or fields.get("effective")
    with transaction(request.app.state.engine) as session:
        try:
            kept = {**draft, "preview_week": fields.get("preview_week", "")}
            return _render(request, principal, session, now, schedule_id, week, None,
                           values=kept, draft=draft)  # fmt: skip
        except UnknownSchedule as exc:
            raise HTTPException(404, f"no schedule {exc}") from exc
        except VersionInvalid as exc:
            return _render(request, principal, session, now, schedule_id, week, None,
                           errors=exc.errors, values=draft, status_code=422)  # fmt: skip


@router.get(PATH + "/{schedule_id}/week.svg")
def week_chart(
    schedule_id: str,
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    now: NowDep,
    week: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    if not can(principal.user.role, Action.ADMINISTER):
        raise HTTPException(403, f"a {principal.user.role} may not read settings")
    monday = _week_of(week, now)
    # A draft's fields in the query: the week as it would be were the draft saved.
    asked = request.query_params
    draft = {k: asked.get(k, "") for k in schedule_edits.FIELDS} if "effective" in asked else None
    try:
        hours = schedule_edits.week_hours(session, schedule_id, monday, draft)
    except UnknownSchedule as exc:
        raise HTTPException(404, f"no schedule {exc}") from exc
    except VersionInvalid as exc:
        raise HTTPException(422, str(exc)) from exc
    days = [(f"{d.day:%a %d %b}", [(a / 3600, b / 3600) for a, b in d.intervals]) for d in hours]
    title = f"{schedule_id}{' (preview)' if draft else ''}: week of {monday:%d %B %Y}"
    svg = week_hours_svg(title, days)
    headers = {"content-security-policy": CHART_POLICY, "cache-control": "no-store"}
    return Response(svg, media_type="image/svg+xml", headers=headers)
