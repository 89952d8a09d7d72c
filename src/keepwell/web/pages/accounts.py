"""`/accounts` and `/accounts/{id}` (issue 13 §3): the list with filters, search, sort and
pages (links with query strings: it works without script), and one account's page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from keepwell.config import get_settings
from keepwell.domain.access import Action
from keepwell.services.account_page import AccountView, account_view
from keepwell.services.accounts_page import SORTS, AccountQuery, choices, list_accounts
from keepwell.services.actions import NotFound, may_write
from keepwell.services.today import escalation_targets
from keepwell.web.auth import PagePrincipal
from keepwell.web.charts import line_svg
from keepwell.web.deps import NowDep
from keepwell.web.page_cache import cached
from keepwell.web.pages.forms import form_defaults
from keepwell.web.pages.render import fragment, page

router = APIRouter(include_in_schema=False)
FILTERS = ("owner", "band", "segment", "country", "stage", "q", "sort", "order")
# A chart is an image of its own: its SVG keeps pygal's inline styles, never a script.
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


@router.get("/accounts", response_class=HTMLResponse)
async def accounts(
    request: Request,
    principal: PagePrincipal,
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
    asked = {name: value for name, value in request.query_params.items() if name in FILTERS}

    def link(**changes: object) -> str:
        params = {**asked, **{k: str(v) for k, v in changes.items()}}
        return "/accounts?" + urlencode({k: v for k, v in params.items() if v})

    def draw(session: Session) -> Markup:
        found = list_accounts(session, where, now, get_settings().timezone)
        return fragment(
            "parts/accounts_list.html", found=found, where=where, asked=asked,
            choices=choices(session), sorts=SORTS, link=link,
        )  # fmt: skip

    drawn = await cached(request, ("accounts", where, tuple(asked.items())), now, draw)
    return page(request, "accounts.html", principal, list=drawn)


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
async def account(
    account_id: str,
    request: Request,
    principal: PagePrincipal,
    now: NowDep,
    timeline: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    try:
        view = await _view(request, account_id, now, timeline)
    except NotFound as exc:
        return page(request, "refused.html", principal, status_code=404, message=str(exc),
                    back="/accounts")  # fmt: skip
    user = principal.user
    writes, escalate_to = await cached(
        request, ("account writes", user.id, account_id), now,
        lambda session: (
            may_write(session, user, Action.LOG_ACTIVITY, account_id, now),
            escalation_targets(session),
        ),
    )  # fmt: skip
    return page(
        request, "account.html", principal, view=view, timeline_page=timeline,
        may_write=writes, escalate_to=escalate_to, **form_defaults(now),
    )  # fmt: skip


async def _view(request: Request, account_id: str, now: datetime, timeline: int = 1) -> AccountView:
    zone = get_settings().timezone
    return await cached(
        request, ("account", account_id, timeline), now,
        lambda session: account_view(session, account_id, now, zone, timeline),
    )  # fmt: skip


@router.get("/accounts/{account_id}/charts/{name}.svg")
async def chart(
    account_id: str, name: str, request: Request, principal: PagePrincipal, now: NowDep
) -> Response:
    try:
        view = await _view(request, account_id, now)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    if name == "health":
        svg = line_svg("Health score, last 90 days", view.trend, "score")
    elif name == "mrr":
        svg = line_svg(f"MRR ({view.account.currency})", view.mrr, "MRR")
    else:
        raise HTTPException(404, f"no chart {name!r}")
    headers = {"content-security-policy": CHART_POLICY, "cache-control": "no-store"}
    return Response(svg, media_type="image/svg+xml", headers=headers)
