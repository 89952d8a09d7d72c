"""The server-rendered pages (Jinja2 + htmx), on the same app and services as the API."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from keepwell.web.auth import FormRefused, PageForbidden, SignInRequired
from keepwell.web.pages import (
    accounts,
    forms,
    health,
    jobs,
    revenue,
    rules,
    schedules,
    settings,
    signin,
    team,
    today,
    tokens,
    users,
)
from keepwell.web.pages.render import page


def install(app: FastAPI) -> None:
    """Add the pages; send a signed-out visitor of any page to /login, and answer a form
    refused for its CSRF token with HTML (the API's refusals stay JSON)."""

    async def to_login(_request: Request, _exc: Exception) -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageForbidden)
        return page(request, "refused.html", exc.principal, status_code=403,
                    message=exc.message, back="/")  # fmt: skip

    app.add_exception_handler(SignInRequired, to_login)
    app.add_exception_handler(FormRefused, forms.form_refused)
    app.add_exception_handler(PageForbidden, refused)
    app.include_router(signin.router)
    app.include_router(today.router)
    app.include_router(accounts.router)
    app.include_router(forms.router)
    app.include_router(team.router)
    app.include_router(health.router)
    app.include_router(revenue.router)
    app.include_router(rules.router)
    app.include_router(schedules.router)
    app.include_router(settings.router)
    app.include_router(users.router)
    app.include_router(tokens.router)
    app.include_router(jobs.router)
