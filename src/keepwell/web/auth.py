"""Who is asking, and may they (issue 13 §1): the one place the web layer decides access.

Every `/api` router is included with `Depends(current_user)`, so no route can forget it; a
route that needs more than reading the book adds `require(action)` or one of the scorecard
dependencies below, which ask `domain.access.can`. Pages use `page_user` (a signed-out visitor
is sent to /login) and `form_fields` (the CSRF check of every POSTed form).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from keepwell.config import get_settings
from keepwell.domain.access import Action, can, may_ever
from keepwell.services.sessions import find_session, live_session, resolve_session, touch_session
from keepwell.services.tokens import resolve_token, touch_token
from keepwell.store.db import transaction
from keepwell.store.models import User
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.page_cache import PageCache

SESSION_COOKIE = "keepwell_session"
# A signed-out browser's own random value, so the sign-in form's CSRF token is tied to it.
PRESESSION_COOKIE = "keepwell_presession"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 64 * 1024

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token: `keepwell token create EMAIL` prints one.",
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="The web app's session cookie (set by signing in at /login); unsafe methods "
    "also need the session's CSRF token in the `X-CSRF-Token` header.",
)


# -- signing: HMAC-SHA256 with KEEPWELL_SECRET_KEY (stdlib only)


def _mac(purpose: str, value: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"{purpose}|{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(value: str) -> str:
    """`value.signature`: the cookie form of a session id."""
    return f"{value}.{_mac('cookie', value)}"


def unsign(signed: str | None) -> str | None:
    """The value of a signed cookie, or None when it was not signed with our key."""
    if not signed or "." not in signed:
        return None
    value, signature = signed.rsplit(".", 1)
    return value if _same(signature, _mac("cookie", value)) else None


def csrf_token(session_id: str) -> str:
    """The CSRF token of a session (or of a signed-out browser's presession value)."""
    return _mac("csrf", session_id)


def csrf_matches(session_id: str | None, token: str | None) -> bool:
    if not session_id or not token:
        return False
    return _same(token, csrf_token(session_id))


def _same(given: str, expected: str) -> bool:
    """A constant-time comparison that takes any text a client sends (bytes: compare_digest
    refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode(), expected.encode())


# -- who is asking


@dataclass(frozen=True)
class Principal:
    """A signed-in user, and the session they came with (None for an API token)."""

    user: User
    session_id: str | None = None


def writing(request: Request) -> AbstractContextManager[Session]:
    """A transaction of its own for a write a request makes (sign-in, sign-out, a touch),
    committed before the answer goes out; the request's session only reads. It takes the
    write lock from its start (`writes`): sign-in reads the throttle's attempts, then writes."""
    return transaction(request.app.state.engine, writes=True)


def _from_cookie(request: Request, session: SessionDep, now: NowDep) -> Principal | None:
    session_id = unsign(request.cookies.get(SESSION_COOKIE))
    if session_id is None:
        return None
    live = resolve_session(session, session_id, now)
    if live is None:
        return None
    if live.touch_due:
        with writing(request) as own:
            touch_session(own, session_id, now)
    return Principal(live.user, session_id)


def optional_principal(
    request: Request,
    session: SessionDep,
    now: NowDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    _cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal | None:
    """The user of the bearer token, else of the session cookie, else None."""
    if credentials is not None:
        live = resolve_token(session, credentials.credentials, now)
        if live is None:
            return None
        if live.touch_due:
            with writing(request) as own:
                touch_token(own, credentials.credentials, now)
        return Principal(live.user)
    return _from_cookie(request, session, now)


def current_principal(
    request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
) -> Principal:
    """The API's gate: 401 without valid credentials; a cookie's unsafe request needs CSRF."""
    if principal is None:
        raise HTTPException(
            401,
            "sign in: send 'Authorization: Bearer TOKEN' or the session cookie",
            headers={"WWW-Authenticate": "Bearer"},
        )
    cookie_write = principal.session_id is not None and request.method not in SAFE_METHODS
    if cookie_write and not csrf_matches(principal.session_id, request.headers.get("x-csrf-token")):
        raise HTTPException(403, "X-CSRF-Token: missing or not this session's")
    return principal


def current_user(principal: Annotated[Principal, Depends(current_principal)]) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(current_user)]


def forbid(user: User, what: str) -> HTTPException:
    return HTTPException(403, f"a {user.role} may not {what}")


def require(action: Action) -> Callable[[User], User]:
    """A dependency: the current user, if their role may take `action` on something at all
    (ownership is checked where the subject is known)."""

    def dependency(user: CurrentUser) -> User:
        if not may_ever(user.role, action):
            raise forbid(user, action.value.replace("_", " "))
        return user

    return dependency


# An admin, for the settings' API (`require(Action.ADMINISTER)`).
AdminUser = Annotated[User, Depends(require(Action.ADMINISTER))]


# -- scorecards: managers and admins read all, a CSM only their own, a viewer none


def _scorecard_of(user: User, csm: str | None) -> str | None:
    """The CSM whose scorecards `user` asked for, as they may see them: a CSM asking for
    every card gets their own; asking for another's is refused."""
    if can(user.role, Action.READ_SCORECARD):
        return csm
    if may_ever(user.role, Action.READ_SCORECARD) and csm in (None, user.id):
        return user.id
    raise forbid(user, "read this scorecard" if csm else "read scorecards")


def scorecard_filter(user: CurrentUser, csm: str | None = None) -> str | None:
    """The `csm` query parameter of the scorecard list, checked against the role matrix."""
    return _scorecard_of(user, csm)


def scorecard_owner(user: CurrentUser, csm: str) -> str:
    """The `{csm}` path parameter of one CSM's scorecards, checked against the role matrix."""
    return _scorecard_of(user, csm) or csm


# -- pages


class SignInRequired(Exception):
    """A page was asked for without a live session: the answer is a redirect to /login."""


async def page_principal(request: Request, now: NowDep) -> Principal:
    """The signed-in user of a page, from the session row kept by the page cache until the
    book changes (signing out, a deactivation or a touch is a change): on the event loop, a
    page view that finds it there makes no database trip but the version probe."""
    session_id = unsign(request.cookies.get(SESSION_COOKIE))
    if session_id is None:
        raise SignInRequired
    cache: PageCache = request.app.state.page_cache
    found = await cache.get(("session", session_id), now, lambda own: find_session(own, session_id))
    live = live_session(found, now)
    if live is None:
        raise SignInRequired
    if live.touch_due:
        await run_in_threadpool(_touch, request, session_id, now)
    return Principal(live.user, session_id)


def _touch(request: Request, session_id: str, now: datetime) -> None:
    with writing(request) as own:
        touch_session(own, session_id, now)


PagePrincipal = Annotated[Principal, Depends(page_principal)]


async def read_form(request: Request) -> dict[str, str]:
    """A url-encoded form's fields (the last value of each); no multipart needed for ours."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}


class FormRefused(Exception):
    """A signed-in page's form refused before its write (its CSRF token): the pages answer
    with an HTML page (or, to htmx, a message by the form), never the API's JSON."""

    def __init__(self, principal: Principal, fields: dict[str, str], message: str) -> None:
        super().__init__(message)
        # Its user was read without lazy attributes (the page cache keeps it detached), so
        # it serves the answer after the request's session is gone.
        self.signed_in = principal
        self.fields = fields
        self.message = message

    def principal(self, request: Request) -> Principal | None:
        """Who was refused."""
        return self.signed_in


async def signed_in_form(
    request: Request, principal: PagePrincipal
) -> tuple[Principal, dict[str, str]]:
    """A signed-in page's POSTed form, refused with 403 unless it carries the session's CSRF
    token (its `csrf_token` field, or the `X-CSRF-Token` header htmx requests carry)."""
    form = await read_form(request)
    token = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not csrf_matches(principal.session_id, token):
        message = "csrf_token: missing or not this session's; reload the page"
        raise FormRefused(principal, form, message)
    return principal, form


SignedInForm = Annotated[tuple[Principal, dict[str, str]], Depends(signed_in_form)]


FormOf = tuple[Principal, dict[str, str]]


class PageForbidden(Exception):
    """A signed-in user asked for a page or posted a form their role may not: the answer is
    the 'Not done' page with 403 (installed in `web.pages`)."""

    def __init__(self, principal: Principal, message: str, session: Session) -> None:
        super().__init__(message)
        # The page is drawn after the request's session has ended: keep the user as loaded
        # (a user from the page cache is in no session already).
        if principal.user in session:
            session.expunge(principal.user)
        self.principal = principal
        self.message = message


def page_require(action: Action) -> Callable[..., Principal]:
    """A page's dependency: the signed-in principal, if their role may take `action`."""

    def dependency(principal: PagePrincipal, session: SessionDep) -> Principal:
        if not may_ever(principal.user.role, action):
            message = f"A {principal.user.role} may not open this page."
            raise PageForbidden(principal, message, session)
        return principal

    return dependency


def form_require(action: Action) -> Callable[..., FormOf]:
    """A POSTed form's dependency: CSRF checked first (`signed_in_form`), then the role."""

    def dependency(form: SignedInForm, session: SessionDep) -> FormOf:
        principal, _fields = form
        if not may_ever(principal.user.role, action):
            raise PageForbidden(principal, f"A {principal.user.role} may not do this.", session)
        return form

    return dependency


# The settings pages (issue 14 §4): admins only, as `domain.access` says of ADMINISTER.
AdminPage = Annotated[Principal, Depends(page_require(Action.ADMINISTER))]
AdminForm = Annotated[FormOf, Depends(form_require(Action.ADMINISTER))]
