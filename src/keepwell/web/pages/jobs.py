"""`/settings/jobs` (issue 14 §5, issue 15): what runs in the background and what waits for
the admin: recent jobs, deliveries that failed (replayed as `keepwell deliveries replay`
does), events and mail held for a mapping, alert destinations a permanent error disabled."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.services import alerts, deliveries, jobs, mail, slack
from keepwell.web.auth import AdminForm, AdminPage, writing
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.jobs import get_jobs
from keepwell.web.pages.render import page

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
NEEDS_REPLAY = (deliveries.DEAD, deliveries.FAILED)


@router.get("/settings/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    principal: AdminPage,
    session: SessionDep,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    replayed: int | None = None,
    enabled: str = "",
) -> HTMLResponse:
    engine = request.app.state.engine
    total = jobs.count_jobs(engine)
    pages = max(1, math.ceil(total / PER_PAGE))
    rows = jobs.list_jobs(engine, limit=PER_PAGE, offset=(page_number - 1) * PER_PAGE)
    channels, people = slack.list_channels(engine)
    return page(
        request, "settings_jobs.html", principal, jobs=rows, total=total, page_number=page_number,
        pages=pages, failed=deliveries.list_deliveries(engine, states=NEEDS_REPLAY),
        channels=[c for c in channels if c.account_id is None and c.held],
        people=people, held_mail=mail.held_mail(session),
        destinations=alerts.disabled_destinations(session), replayed=replayed, enabled=enabled,
        max_attempts=deliveries.MAX_ATTEMPTS,
    )  # fmt: skip


@router.post("/settings/jobs/deliveries/{delivery_id}/replay", response_class=HTMLResponse)
def replay(delivery_id: int, request: Request, form: AdminForm, now: NowDep) -> Response:
    principal, _fields = form
    engine = request.app.state.engine
    try:
        deliveries.replay(engine, delivery_id, now, by=principal.user.id)
    except deliveries.UnknownDelivery as exc:
        return page(request, "refused.html", principal, status_code=404, message=str(exc),
                    back="/settings/jobs")  # fmt: skip
    get_jobs(request.app).apply_delivery(delivery_id)
    return RedirectResponse(f"/settings/jobs?replayed={delivery_id}", status_code=303)


@router.post("/settings/jobs/destinations/enable", response_class=HTMLResponse)
def enable(request: Request, form: AdminForm, now: NowDep) -> Response:
    principal, fields = form
    channel, address = fields.get("channel", ""), fields.get("address", "")
    with writing(request) as own:
        found = alerts.enable_destination(own, channel, address, now, by=principal.user.id)
    if not found:
        message = f"{channel} {address} is not disabled."
        return page(request, "refused.html", principal, status_code=404, message=message,
                    back="/settings/jobs")  # fmt: skip
    return RedirectResponse(f"/settings/jobs?enabled={channel}", status_code=303)
