"""Templates and what every page shows: the user, the navigation for their role, the CSRF
token of their session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from keepwell.domain.access import ROLES, Action, may_ever
from keepwell.store.models import User
from keepwell.web.auth import Principal, csrf_token

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str  # may name `{user_id}`: the signed-in user's id
    roles: tuple[str, ...] = ROLES


READ_BOOK_ROLES = tuple(role for role in ROLES if may_ever(role, Action.READ_BOOK))

# Each page adds itself here with the roles that may open it.
NAV = (
    NavItem("Today", "/"),
    NavItem("Accounts", "/accounts"),
    NavItem("Team", "/team", ("admin", "manager")),
    NavItem("My scorecard", "/team/{user_id}", ("csm",)),
    NavItem("Health", "/health", READ_BOOK_ROLES),
    NavItem("Revenue", "/revenue", READ_BOOK_ROLES),
    NavItem("API", "/docs"),
    NavItem("Password", "/account/password"),
)


def fragment(template: str, **context: Any) -> Markup:
    """A part of a page drawn on its own (escaped like a page), to be kept and placed in one."""
    return Markup(templates.get_template(template).render(**context))


def nav_for(user: User) -> list[NavItem]:
    return [
        NavItem(item.label, item.href.format(user_id=quote(user.id, safe="")), item.roles)
        for item in NAV
        if user.role in item.roles
    ]


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
            "nav": nav_for(user) if user else [],
            "path": request.url.path,
            "csrf_token": csrf,
            **context,
        },
        status_code=status_code,
        headers={"cache-control": "no-store"},
    )
