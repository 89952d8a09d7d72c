"""Templates and what every page shows: the user, the navigation for their role, the CSRF
token of their session."""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Callable, Hashable
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
NOT_IN_AN_ID = re.compile(r"[^A-Za-z0-9_-]")


def dom_id(value: str) -> str:
    """`value` as a part of an element id that any CSS selector takes as it is (the forms'
    message slots are found by `#id`): other characters become `_`, and a short hash of the
    value keeps two such values apart."""
    safe = NOT_IN_AN_ID.sub("_", value)
    if safe == value:
        return value
    return f"{safe}_{hashlib.sha256(value.encode()).hexdigest()[:8]}"


templates.env.globals["dom_id"] = dom_id


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
    NavItem("Settings", "/settings", ("admin",)),
    NavItem("API", "/docs"),
    NavItem("Password", "/account/password"),
)


def fragment(template: str, **context: Any) -> Markup:
    """A part of a page drawn on its own (escaped like a page), to be kept and placed in one."""
    return Markup(templates.get_template(template).render(**context))


# Fragments drawn from the views the page cache keeps, by the view's identity (a view need
# not be hashable), forgotten with the view.
_DRAWN: dict[int, dict[Hashable, Markup]] = {}


def drawn_once(view: object, variant: Hashable, draw: Callable[[], Markup]) -> Markup:
    """The fragment `draw()` makes of a kept `view` (web/page_cache.py), drawn once per
    `variant` (what else the fragment depends on: who looks, say) while the view is kept."""
    fragments = _DRAWN.get(id(view))
    if fragments is None:
        fragments = _DRAWN[id(view)] = {}
        weakref.finalize(view, _DRAWN.pop, id(view), None)
    drawn = fragments.get(variant)
    if drawn is None:
        drawn = fragments[variant] = draw()
    return drawn


# What a write did, by the `done` of the address a form returns to: said at the page's top.
DONE = {
    "resolve": "Resolved.",
    "escalate": "Escalated.",
    "next_step": "Next step set.",
    "activity": "Activity logged.",
}


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
            "done": DONE.get(request.query_params.get("done", "")),
            **context,
        },
        status_code=status_code,
        headers={"cache-control": "no-store"},
    )
