"""The write forms of the pages (issue 13 §2): each posts to the same service as the API,
carries the session's CSRF token and an idempotency key made when the form was drawn, and
answers htmx with a fragment, a plain browser with a redirect back."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from keepwell.ingest.records import ACTIVITY_KINDS
from keepwell.services import actions
from keepwell.web.auth import FormRefused, Principal, SignedInForm
from keepwell.web.deps import NowDep
from keepwell.web.pages.render import DONE, page
from keepwell.web.writes import run_write, write_context

router = APIRouter(include_in_schema=False)
ESCALATION_ROLES = ("manager", "admin")


def form_defaults(now: datetime) -> dict[str, Any]:
    """What every page with write forms needs: a fresh idempotency key per drawn form
    (`new_key()` in the template), the activity kinds, a default due date."""
    return {
        "new_key": lambda: secrets.token_urlsafe(16),
        "activity_kinds": ACTIVITY_KINDS,
        "default_due": (now + timedelta(days=7)).date().isoformat(),
    }


def _back(fields: dict[str, str], fallback: str, done: str | None = None) -> str:
    """Where a plain form returns: its `next` field when it is a path on this site, with
    `done` (what was done: render.DONE shows it) in the query string."""
    target = fields.get("next", "")
    target = target if target.startswith("/") and not target.startswith("//") else fallback
    if done is None:
        return target
    path, _, query = target.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query) if k != "done"]
    return f"{path}?{urlencode([*kept, ('done', done)])}"


# A form's id (its hidden `form_id` field; never `form`, which would hide the element's own
# `form` property from htmx): the place of its messages, `#{form}-error` and
# `#{form}-{field}-error` beside each field that may be refused.
FORM_ID = re.compile(r"[A-Za-z0-9_-]{1,120}")


def refusal(
    request: Request, principal: Principal, fields: dict[str, str], status: int, message: str,
    fallback: str, *, field: str | None = None, tag: str = "p",
) -> Response:  # fmt: skip
    """A refused form: htmx gets the message at the field it names (or at the top of the
    form), a plain browser a page saying why, with the way back."""
    if not request.headers.get("hx-request"):
        return page(request, "refused.html", principal, status_code=status, message=message,
                    back=_back(fields, fallback))  # fmt: skip
    text = html.escape(message)
    form = fields.get("form_id", "")
    if not FORM_ID.fullmatch(form):  # not one of our forms: the message where it aimed
        return HTMLResponse(f'<{tag} class="alert" role="alert">{text}</{tag}>', status)
    slot = f"#{form}-{field}-error" if field else f"#{form}-error"
    headers = {"HX-Retarget": slot, "HX-Reswap": "innerHTML", "HX-Reselect": ".refused"}
    return HTMLResponse(f'<span class="refused" role="alert">{text}</span>', status, headers)


async def form_refused(request: Request, exc: Exception) -> Response:
    """The pages' answer to auth.FormRefused (a form without its CSRF token): HTML, 403."""
    assert isinstance(exc, FormRefused)
    principal = exc.principal(request)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return refusal(request, principal, exc.fields, 403, exc.message, "/")


def _answer(
    request: Request, form: SignedInForm, now: datetime, write: Callable[..., object],
    fallback: str, done: str, named: tuple[str, ...], tag: str = "p", redraw: bool = False,
) -> Response:  # fmt: skip
    """A plain form gets a redirect back (or a page saying why not); htmx gets a fragment,
    a `tag` that may stand where the form's target was (an `li` in a list), or a message by
    the field at fault (`named`: the fields the form shows a message beside). `redraw`: htmx
    too is sent back to the page, whose main part it swaps in (the account page's forms
    change its facts, timeline and history at once)."""
    principal, fields = form
    ctx = write_context(principal.user, now, fields.get("idempotency_key"))
    try:
        run_write(request, lambda session: write(session, ctx, fields))
    except HTTPException as exc:
        if exc.status_code not in (403, 404, 422):
            raise
        field = _field(exc.detail)
        return refusal(request, principal, fields, exc.status_code, _message(exc.detail),
                       fallback, field=field if field in named else None, tag=tag)  # fmt: skip
    if request.headers.get("hx-request") and not redraw:
        return HTMLResponse(
            f'<{tag} class="notice" role="status" tabindex="-1" data-focus>{DONE[done]}</{tag}>'
        )
    # a plain browser; and htmx when the page is redrawn (it follows, selects the main part)
    return RedirectResponse(_back(fields, fallback, done), status_code=303)


def _message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        first = detail[0]
        return f"{first['loc'][-1]}: {first['msg']}"
    return str(detail)


def _field(detail: Any) -> str | None:
    if isinstance(detail, list) and detail:
        return str(detail[0]["loc"][-1])
    return None


@router.post("/requests/{request_id}/resolve")
def resolve(request_id: str, request: Request, form: SignedInForm, now: NowDep) -> Response:
    def write(session: Session, ctx: actions.WriteContext, fields: dict[str, str]) -> object:
        return actions.resolve_request(session, ctx, request_id, fields.get("note"))

    return _answer(request, form, now, write, "/", "resolve", ("note",), tag="li")


@router.post("/requests/{request_id}/escalate")
def escalate(request_id: str, request: Request, form: SignedInForm, now: NowDep) -> Response:
    def write(session: Session, ctx: actions.WriteContext, fields: dict[str, str]) -> object:
        novel = fields.get("novel") in ("on", "true", "1")
        return actions.escalate_request(
            session, ctx, request_id, fields.get("to"), fields.get("reason"), novel
        )

    return _answer(request, form, now, write, "/", "escalate", ("to", "reason"))


@router.post("/accounts/{account_id}/next-steps")
def next_step(account_id: str, request: Request, form: SignedInForm, now: NowDep) -> Response:
    def write(session: Session, ctx: actions.WriteContext, fields: dict[str, str]) -> object:
        return actions.set_next_step(
            session, ctx, account_id, fields.get("text"), fields.get("due")
        )

    back = f"/accounts/{account_id}"
    return _answer(request, form, now, write, back, "next_step", ("text", "due"), redraw=True)


@router.post("/accounts/{account_id}/activities")
def activity(account_id: str, request: Request, form: SignedInForm, now: NowDep) -> Response:
    def write(session: Session, ctx: actions.WriteContext, fields: dict[str, str]) -> object:
        return actions.log_activity(
            session, ctx, account_id, fields.get("kind"), fields.get("text")
        )

    back = f"/accounts/{account_id}"
    return _answer(request, form, now, write, back, "activity", ("kind", "text"), redraw=True)
