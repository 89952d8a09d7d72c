"""`/revenue` (issue 14 §3): a month's MRR movements, NRR, GRR and logo churn, its trailing
twelve months, the breakdowns by CSM, team and segment, NPS and CSAT by month; and
`/revenue/responses`, the survey responses behind a month's NPS and CSAT."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from keepwell.config import get_settings
from keepwell.domain.access import Action, may_ever
from keepwell.domain.months import FIRST_MONTH, LAST_MONTH, MonthError, parse_month
from keepwell.domain.revenue import (
    CHURN,
    CONTRACTION,
    EXPANSION,
    NEW,
    REACTIVATION,
    MissingRateError,
)
from keepwell.services.revenue import Money
from keepwell.services.revenue_page import (
    GROUPINGS,
    default_month,
    movements_chart,
    responses,
    revenue_page,
)
from keepwell.web.auth import PagePrincipal, Principal
from keepwell.web.charts import stacked_svg
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.page_cache import SLOW_SECONDS, cached
from keepwell.web.pages.accounts import CHART_POLICY
from keepwell.web.pages.figures import HELPERS
from keepwell.web.pages.render import page

router = APIRouter(include_in_schema=False)
MonthQuery = Annotated[str, Query(max_length=20)]
# The stack, bottom up from zero: what came in above it, what went out below it.
STACK = ((NEW, "New"), (REACTIVATION, "Reactivation"), (EXPANSION, "Expansion"),
         (CONTRACTION, "Contraction"), (CHURN, "Churn"))  # fmt: skip
OUTFLOWS = (CONTRACTION, CHURN)


def _money() -> Money:
    settings = get_settings()
    return Money(settings.timezone, settings.base_currency, settings.exchange_rates)


def _month(asked: str, now: datetime) -> str:
    """The month asked for, or the default; MonthError saying what is wrong."""
    return (
        parse_month(asked.strip()) if asked.strip() else default_month(now, get_settings().timezone)
    )


def _refused(request: Request, principal: Principal) -> HTMLResponse | None:
    if may_ever(principal.user.role, Action.READ_BOOK):
        return None
    return page(request, "refused.html", principal, status_code=403,
                message="Your role may not read revenue.", back="/")  # fmt: skip


@router.get("/revenue", response_class=HTMLResponse)
async def revenue(
    request: Request,
    principal: PagePrincipal,
    now: NowDep,
    month: MonthQuery = "",
) -> HTMLResponse:
    refused = _refused(request, principal)
    if refused is not None:
        return refused
    context = {**HELPERS, "groupings": GROUPINGS, "stack": STACK, "asked": month,
               "first_month": FIRST_MONTH, "last_month": LAST_MONTH}  # fmt: skip
    try:
        chosen = _month(month, now)
    except MonthError as exc:
        return page(request, "revenue.html", principal, status_code=422, view=None,
                    month_error=str(exc), **context)  # fmt: skip
    try:
        money = _money()
        view = await cached(
            request,
            ("revenue", chosen),
            now,
            lambda session: revenue_page(session, chosen, money),
            seconds=SLOW_SECONDS,
        )
    except MissingRateError as exc:
        problem = f"{exc}: an admin sets it with `keepwell rates set {exc.currency} RATE`."
        return page(request, "revenue.html", principal, view=None, month=chosen,
                    rate_error=problem, **context)  # fmt: skip
    return page(request, "revenue.html", principal, view=view, month=chosen, **context)


@router.get("/revenue/charts/movements.svg")
async def movements_svg(
    request: Request, principal: PagePrincipal, now: NowDep, month: MonthQuery = ""
) -> Response:
    if not may_ever(principal.user.role, Action.READ_BOOK):
        raise HTTPException(403, "your role may not read revenue")
    try:
        chosen = _month(month, now)
        money = _money()
        months = await cached(
            request, ("revenue movements", chosen), now,
            lambda session: movements_chart(session, chosen, money),
            seconds=SLOW_SECONDS,
        )  # fmt: skip
    except (MonthError, MissingRateError) as exc:
        raise HTTPException(422, str(exc)) from exc
    currency = months[-1]["currency"] if months else get_settings().base_currency
    series = [
        (label, [-m[kind] if kind in OUTFLOWS else m[kind] for m in months])
        for kind, label in STACK
    ]
    svg = stacked_svg(
        f"MRR movements by month ({currency})", [m["month"] for m in months], series, currency
    )
    headers = {"content-security-policy": CHART_POLICY, "cache-control": "no-store"}
    return Response(svg, media_type="image/svg+xml", headers=headers)


@router.get("/revenue/responses", response_class=HTMLResponse)
def survey_responses(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    now: NowDep,
    month: MonthQuery = "",
) -> HTMLResponse:
    refused = _refused(request, principal)
    if refused is not None:
        return refused
    try:
        chosen = _month(month, now)
    except MonthError as exc:
        return page(request, "responses.html", principal, status_code=422, month=None,
                    month_error=str(exc), asked=month, found=[])  # fmt: skip
    found = responses(session, chosen, get_settings().timezone)
    return page(request, "responses.html", principal, month=chosen, asked=month, found=found)
