"""Sign in, sign out, change one's password (issue 13 §1)."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.services.sessions import SESSION_LIFETIME, end_session
from keepwell.services.users import (
    MIN_PASSWORD_LENGTH,
    UserError,
    change_password,
    sign_in,
)
from keepwell.store.models import User
from keepwell.web.auth import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    Principal,
    SignedInForm,
    csrf_matches,
    csrf_token,
    optional_principal,
    read_form,
    sign,
    unsign,
    writing,
)
from keepwell.web.deps import NowDep
from keepwell.web.pages.render import page

router = APIRouter(include_in_schema=False)
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def _presession(request: Request) -> tuple[str, bool]:
    """The signed-out browser's random value, and whether it is new (to be set)."""
    known = unsign(request.cookies.get(PRESESSION_COOKIE))
    return (known, False) if known else (secrets.token_urlsafe(32), True)


def _login_page(request: Request, *, status_code: int = 200, **context: object) -> HTMLResponse:
    value, new = _presession(request)
    response = page(
        request, "login.html", None, status_code=status_code, csrf=csrf_token(value), **context
    )
    if new:
        _set_cookie(request, response, PRESESSION_COOKIE, sign(value), max_age=None)
    return response


def _set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, principal: MaybePrincipal) -> Response:
    if principal is not None and principal.session_id is not None:
        return RedirectResponse("/", status_code=303)
    return _login_page(request, email="")


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, now: NowDep) -> Response:
    form = await read_form(request)
    email = form.get("email", "").strip()
    if not csrf_matches(unsign(request.cookies.get(PRESESSION_COOKIE)), form.get("csrf_token")):
        return _login_page(
            request, status_code=403, email=email, error="The form had expired. Please try again."
        )
    # Committed before the answer goes out: the browser follows the redirect at once and
    # must find its new session; a failure must still count for the throttle.
    with writing(request) as session:
        outcome = sign_in(session, email, form.get("password", ""), now)
    if outcome.retry_at is not None:
        wait = max(1, math.ceil((outcome.retry_at - now).total_seconds()))
        response = _login_page(
            request, status_code=429, email=email, retry_at=outcome.retry_at,
            retry_minutes=math.ceil(wait / 60),
        )  # fmt: skip
        response.headers["retry-after"] = str(wait)
        return response
    if outcome.session_id is None:
        return _login_page(request, email=email, error="Wrong email or password.")
    signed_in = RedirectResponse("/", status_code=303)
    lifetime = int(SESSION_LIFETIME.total_seconds())
    _set_cookie(request, signed_in, SESSION_COOKIE, sign(outcome.session_id), max_age=lifetime)
    signed_in.delete_cookie(PRESESSION_COOKIE, path="/")
    return signed_in


@router.post("/logout")
def logout(request: Request, form: SignedInForm, now: NowDep) -> Response:
    principal, _fields = form
    if principal.session_id is not None:
        with writing(request) as session:
            end_session(session, principal.session_id, now)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, principal: MaybePrincipal) -> Response:
    if principal is None or principal.session_id is None:
        return RedirectResponse("/login", status_code=303)
    return page(request, "password.html", principal, min_length=MIN_PASSWORD_LENGTH)


@router.post("/account/password", response_class=HTMLResponse)
def password(request: Request, form: SignedInForm, now: NowDep) -> Response:
    principal, fields = form
    error = None
    if fields.get("new_password") != fields.get("confirm_password"):
        error = "The two new passwords differ."
    else:
        try:
            with writing(request) as session:
                change_password(
                    session,
                    session.get_one(User, principal.user.id),
                    fields.get("old_password", ""),
                    fields.get("new_password", ""),
                    now,
                    keep_session=principal.session_id,
                )
        except UserError as exc:
            error = str(exc)
    return page(
        request,
        "password.html",
        principal,
        status_code=200 if error is None else 422,
        min_length=MIN_PASSWORD_LENGTH,
        error=_readable(error),
        done=error is None,
    )


def _readable(error: str | None) -> str | None:
    """`old_password: this is not ...` reads on a page as `This is not ...`."""
    if error is None:
        return None
    _field, _, message = error.partition(": ")
    return (message or error)[:1].upper() + (message or error)[1:] + "."
