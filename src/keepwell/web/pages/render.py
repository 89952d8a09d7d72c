"""Templates and what every page shows: the user, the navigation for their role, the CSRF
token of their session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from keepwell.domain.access import ROLES
from keepwell.web.auth import Principal, csrf_token

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: tuple[str, ...] = ROLES


# Each page adds itself here with the roles that may open it.
NAV = (
    NavItem("Today", "/"),
    NavItem("Accounts", "/accounts"),
    NavItem("Settings", "/settings/sla", ("admin",)),
    NavItem("API", "/docs"),
    NavItem("Password", "/account/password"),
)


def nav_for(role: str) -> list[NavItem]:
    return [item for item in NAV if role in item.roles]


def page(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page for the signed-in `principal` (or a signed-out visitor with a `csrf` token)."""
    user = principal.user if principal else None
    if principal is not None and principal.session_id is not None:
        csrf = csrf_token(principal.session_id)
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "nav": nav_for(user.role) if user else [],
            "path": request.url.path,
            "csrf_token": csrf,
            **context,
        },
        status_code=status_code,
        headers={"cache-control": "no-store"},
    )
