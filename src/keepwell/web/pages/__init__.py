"""The server-rendered pages (Jinja2 + htmx), on the same app and services as the API."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from keepwell.web.auth import SignInRequired
from keepwell.web.pages import accounts, forms, schedules, settings, signin, today


def install(app: FastAPI) -> None:
    """Add the pages, and send a signed-out visitor of any page to /login."""

    async def to_login(_request: Request, _exc: Exception) -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    app.add_exception_handler(SignInRequired, to_login)
    app.include_router(signin.router)
    app.include_router(today.router)
    app.include_router(accounts.router)
    app.include_router(forms.router)
    app.include_router(settings.router)
    app.include_router(schedules.router)
