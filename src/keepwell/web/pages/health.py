"""`/health` (issue 14 §2): the book's health: the band distribution, the week's biggest
drops, overrides expiring soon, the accounts with no data for a measure, and the back-test
(the report of `keepwell health backtest --json`)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from keepwell.config import get_settings
from keepwell.domain.access import Action, may_ever
from keepwell.domain.health import MEASURES
from keepwell.services.company_settings import effective
from keepwell.services.health_page import (
    DROP_DAYS,
    EXPIRING_DAYS,
    health_page,
    latest_bands,
)
from keepwell.web.auth import PagePrincipal
from keepwell.web.charts import bar_svg
from keepwell.web.deps import NowDep
from keepwell.web.page_cache import SLOW_SECONDS, cached
from keepwell.web.pages.accounts import CHART_POLICY
from keepwell.web.pages.figures import HELPERS
from keepwell.web.pages.render import page

router = APIRouter(include_in_schema=False)


@router.get("/health", response_class=HTMLResponse)
async def health(request: Request, principal: PagePrincipal, now: NowDep) -> HTMLResponse:
    role = principal.user.role
    if not may_ever(role, Action.READ_BOOK):
        return page(request, "refused.html", principal, status_code=403,
                    message="Your role may not read health.", back="/")  # fmt: skip
    settings = get_settings()
    view = await cached(
        request, ("health",), now,
        lambda session: health_page(
            session, now, settings.timezone, effective(session, settings).weights
        ),
        seconds=SLOW_SECONDS,
    )  # fmt: skip
    return page(
        request, "health.html", principal, view=view, measures=MEASURES,
        drop_days=DROP_DAYS, expiring_days=EXPIRING_DAYS,
        administers=may_ever(role, Action.ADMINISTER), **HELPERS,
    )  # fmt: skip


@router.get("/health/charts/bands.svg")
async def bands_svg(request: Request, principal: PagePrincipal, now: NowDep) -> Response:
    if not may_ever(principal.user.role, Action.READ_BOOK):
        raise HTTPException(403, "your role may not read health")
    zone = get_settings().timezone
    bands = await cached(
        request,
        ("health bands",),
        now,
        lambda session: latest_bands(session, now, zone),
        seconds=SLOW_SECONDS,
    )
    svg = bar_svg("Accounts by health band, latest run", bands, "accounts")
    headers = {"content-security-policy": CHART_POLICY, "cache-control": "no-store"}
    return Response(svg, media_type="image/svg+xml", headers=headers)
