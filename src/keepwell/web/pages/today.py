"""`/`: Today (issue 13 §3). A CSM: their priority inbox and the accounts that need them; a
manager or admin: the team's breaches and accounts at risk, by CSM; a viewer: a summary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from keepwell.config import get_settings
from keepwell.domain.access import Action, may_ever
from keepwell.services.inbox import inbox
from keepwell.services.today import attention, escalation_targets, summary, team_today
from keepwell.web.auth import PagePrincipal
from keepwell.web.deps import NowDep
from keepwell.web.page_cache import cached
from keepwell.web.pages.forms import form_defaults
from keepwell.web.pages.render import page

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def today(request: Request, principal: PagePrincipal, now: NowDep) -> HTMLResponse:
    user = principal.user
    zone = get_settings().timezone

    def figures(session: Session) -> dict[str, Any]:
        found: dict[str, Any] = {"escalate_to": escalation_targets(session)}
        if user.role in ("manager", "admin"):
            found["team"] = team_today(session, user, now, zone)
        elif user.role == "csm":
            found["inbox"] = inbox(session, user.id, now)
            found["attention"] = attention(
                session, now, zone, owner=user.id, week_zone=user.timezone
            )
        else:
            found["summary"] = summary(session, now, zone)
        return found

    context = await cached(request, ("today", user.id, user.role, user.timezone), now, figures)
    return page(
        request, "today.html", principal, now=now, **form_defaults(now), **context,
        may_write=may_ever(user.role, Action.RESOLVE),
    )  # fmt: skip
