"""`/`: the signed-in user's start page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from keepwell.web.auth import PagePrincipal
from keepwell.web.pages.render import page

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def today(request: Request, principal: PagePrincipal) -> HTMLResponse:
    return page(request, "today.html", principal)
