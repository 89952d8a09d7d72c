"""`/`: Today (issue 13 §3). A CSM: their priority inbox and the accounts that need them; a
manager or admin: the team's breaches and accounts at risk, by CSM; a viewer: a summary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from keepwell.config import get_settings
from keepwell.domain.access import Action, may_ever
from keepwell.services.inbox import inbox
from keepwell.services.today import attention, escalation_targets, summary, team_today
from keepwell.web.auth import PagePrincipal
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.pages.forms import form_defaults
from keepwell.web.pages.render import page

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def today(
    request: Request, principal: PagePrincipal, session: SessionDep, now: NowDep
) -> HTMLResponse:
    user = principal.user
    zone = get_settings().timezone
    context: dict[str, Any] = {"now": now, **form_defaults(now)}
    context["escalate_to"] = escalation_targets(session)
    if user.role in ("manager", "admin"):
        context["team"] = team_today(session, user, now, zone)
    elif user.role == "csm":
        context["inbox"] = inbox(session, user.id, now)
        context["attention"] = attention(session, now, zone, owner=user.id, week_zone=user.timezone)
    else:
        context["summary"] = summary(session, now, zone)
    context["may_write"] = may_ever(user.role, Action.RESOLVE)
    return page(request, "today.html", principal, **context)
