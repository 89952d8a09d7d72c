"""The write forms of the pages (issue 13 §2): each posts to the same service as the API,
carries the session's CSRF token and an idempotency key made when the form was drawn, and
answers htmx with a fragment, a plain browser with a redirect back."""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from keepwell.ingest.records import ACTIVITY_KINDS
from keepwell.services import actions
from keepwell.web.auth import SignedInForm
from keepwell.web.deps import NowDep
from keepwell.web.pages.render import page
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


def _back(fields: dict[str, str], fallback: str) -> str:
    """Where a plain form returns: its `next` field when it is a path on this site."""
    target = fields.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else fallback


def _answer(
    request: Request, form: SignedInForm, now: datetime, write: Callable[..., object],
    fallback: str, done: str, tag: str = "p",
) -> Response:  # fmt: skip
    """A plain form gets a redirect back (or a page saying why not); htmx gets a fragment,
    a `tag` that may stand where the form's target was (an `li` in a list)."""
    principal, fields = form
    ctx = write_context(principal.user, now, fields.get("idempotency_key"))
    try:
        run_write(request, lambda session: write(session, ctx, fields))
    except HTTPException as exc:
        if exc.status_code not in (403, 404, 422):
            raise
        message = _message(exc.detail)
        if request.headers.get("hx-request"):
            return HTMLResponse(
                f'<{tag} class="alert" role="alert">{html.escape(message)}</{tag}>',
                status_code=exc.status_code,
            )
        return page(request, "refused.html", principal, status_code=exc.status_code,
                    message=message, back=_back(fields, fallback))  # fmt: skip
    if request.headers.get("hx-request"):
        return HTMLResponse(f'<{tag} class="notice" role="status">{done}</{tag}>')
    return RedirectResponse(_back(fields, fallback), status_code=303)


def _message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        first = detail[0]
        return f"{first['loc'][-1]}: {first['msg']}"
    return str(detail)


@router.post("/requests/{request_id}/resolve")
def resolve(request_id: str, request: Request, form: SignedInForm, now: NowDep) -> Response:
    def write(session: Session, ctx: actions.WriteContext, fields: dict[str, str]) -> object:
        return actions.resolve_request(session, ctx, request_id, fields.get("note"))

    return _answer(request, form, now, write, "/", "Resolved.", tag="li")


@router.post("/requests/{request_id}/escalate")
def escalate(request_id: str, request: Request, form: SignedInForm, now: NowDep) -> Response:
    def write(session: Session, ctx: actions.WriteContext, fields: dict[str, str]) -> object:
        novel = fields.get("novel") in ("on", "true", "1")
        return actions.escalate_request(
            session, ctx, request_id, fields.get("to"), fields.get("reason"), novel
        )

    return _answer(request, form, now, write, "/", "Escalated.")


@router.post("/accounts/{account_id}/next-steps")
def next_step(account_id: str, request: Request, form: SignedInForm, now: NowDep) -> Response:
    def write(session: Session, ctx: actions.WriteContext, fields: dict[str, str]) -> object:
        return actions.set_next_step(
            session, ctx, account_id, fields.get("text"), fields.get("due")
        )

    return _answer(request, form, now, write, f"/accounts/{account_id}", "Next step set.")


@router.post("/accounts/{account_id}/activities")
def activity(account_id: str, request: Request, form: SignedInForm, now: NowDep) -> Response:
    def write(session: Session, ctx: actions.WriteContext, fields: dict[str, str]) -> object:
        return actions.log_activity(
            session, ctx, account_id, fields.get("kind"), fields.get("text")
        )

    return _answer(request, form, now, write, f"/accounts/{account_id}", "Activity logged.")
