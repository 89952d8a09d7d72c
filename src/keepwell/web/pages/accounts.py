"""`/accounts` and `/accounts/{id}` (issue 13 §3): the list with filters, search, sort and
pages (links with query strings: it works without script), and one account's page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from keepwell.config import get_settings
from keepwell.domain.access import Action
from keepwell.services.account_page import account_view, mrr_to_today
from keepwell.services.accounts_page import SORTS, AccountQuery, choices, list_accounts
from keepwell.services.actions import NotFound, may_write
from keepwell.services.health import today_in
from keepwell.services.today import escalation_targets
from keepwell.web.auth import PagePrincipal
from keepwell.web.charts import line_svg
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.pages.forms import form_defaults
from keepwell.web.pages.render import page

router = APIRouter(include_in_schema=False)
FILTERS = ("owner", "band", "segment", "country", "stage", "q", "sort", "order")
# A chart is an image of its own: its SVG keeps pygal's inline styles, never a script.
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


@router.get("/accounts", response_class=HTMLResponse)
def accounts(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    now: NowDep,
    owner: str = "",
    band: str = "",
    segment: str = "",
    country: str = "",
    stage: str = "",
    q: Annotated[str, Query(max_length=200)] = "",
    sort: str = "name",
    order: str = "asc",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    where = AccountQuery(
        owner=owner or None, band=band or None, segment=segment or None,
        country=country or None, stage=stage or None, search=q or None,
        sort=sort if sort in SORTS else "name", descending=order == "desc", page=page_number,
    )  # fmt: skip
    found = list_accounts(session, where, now, get_settings().timezone)
    asked = {name: value for name, value in request.query_params.items() if name in FILTERS}

    def link(**changes: object) -> str:
        params = {**asked, **{k: str(v) for k, v in changes.items()}}
        return "/accounts?" + urlencode({k: v for k, v in params.items() if v})

    return page(
        request, "accounts.html", principal, found=found, where=where, asked=asked,
        choices=choices(session), sorts=SORTS, link=link,
    )  # fmt: skip


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account(
    account_id: str,
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    now: NowDep,
    timeline: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    try:
        view = account_view(session, account_id, now, get_settings().timezone, timeline)
    except NotFound as exc:
        return page(request, "refused.html", principal, status_code=404, message=str(exc),
                    back="/accounts")  # fmt: skip
    user = principal.user
    return page(
        request, "account.html", principal, view=view, timeline_page=timeline,
        may_write=may_write(session, user, Action.LOG_ACTIVITY, account_id, now),
        escalate_to=escalation_targets(session), **form_defaults(now),
    )  # fmt: skip


@router.get("/accounts/{account_id}/charts/{name}.svg")
def chart(
    account_id: str, name: str, principal: PagePrincipal, session: SessionDep, now: NowDep
) -> Response:
    try:
        view = account_view(session, account_id, now, get_settings().timezone)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    if name == "health":
        svg = line_svg("Health score, last 90 days", view.trend, "score")
    elif name == "mrr":
        today = today_in(now, get_settings().timezone)
        svg = line_svg(f"MRR ({view.account.currency})", mrr_to_today(view.mrr, today), "MRR")
    else:
        raise HTTPException(404, f"no chart {name!r}")
    headers = {"content-security-policy": CHART_POLICY, "cache-control": "no-store"}
    return Response(svg, media_type="image/svg+xml", headers=headers)
