"""`/settings/tokens` (issue 14 §4): API tokens. The list never shows a secret nor its
hash; a new token's secret is shown once, on the page that answers its creation."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from keepwell.services import audit
from keepwell.services.tokens import TokenError, UnknownToken, create_token_for, list_tokens
from keepwell.services.tokens import revoke_token as revoke
from keepwell.services.users import list_users
from keepwell.web.auth import AdminForm, AdminPage, Principal, writing
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.pages.render import page
from keepwell.web.pages.settings import field_error, history_lines

router = APIRouter(include_in_schema=False)


def _tokens_page(
    request: Request, principal: Principal, session: Session, *, status_code: int = 200,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    revoked: int | None = None,
) -> HTMLResponse:  # fmt: skip
    users = list_users(session)
    names = {u.id: u.name for u in users}
    return page(
        request, "settings_tokens.html", principal, status_code=status_code,
        tokens=list_tokens(session), names=names, users=[u for u in users if u.active],
        history=history_lines(audit.recent(session, "token."), names), errors=errors or {},
        values=values or {}, revoked=revoked,
    )  # fmt: skip


@router.get("/settings/tokens", response_class=HTMLResponse)
def tokens(
    request: Request, principal: AdminPage, session: SessionDep, revoked: int | None = None
) -> HTMLResponse:
    return _tokens_page(request, principal, session, revoked=revoked)


@router.post("/settings/tokens", response_class=HTMLResponse)
def create(request: Request, form: AdminForm, session: SessionDep, now: NowDep) -> Response:
    principal, fields = form
    user_id, label = fields.get("user_id", ""), fields.get("label", "")
    try:
        with writing(request) as own:
            token, secret = create_token_for(own, user_id, label, now, by=principal.user.id)
            made, owner_id = {"id": token.id, "label": token.label}, token.user_id
    except TokenError as exc:
        field, message = field_error(exc)
        return _tokens_page(request, principal, session, status_code=422,
                            errors={field: message}, values=fields)  # fmt: skip
    names = {u.id: u.name for u in list_users(session)}
    return page(request, "settings_token_created.html", principal, token=made, secret=secret,
                owner=names.get(owner_id, owner_id))  # fmt: skip


@router.post("/settings/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_one(token_id: int, request: Request, form: AdminForm, now: NowDep) -> Response:
    principal, _fields = form
    try:
        with writing(request) as own:
            revoke(own, token_id, now, by=principal.user.id)
    except UnknownToken as exc:
        return page(request, "refused.html", principal, status_code=404, message=str(exc),
                    back="/settings/tokens")  # fmt: skip
    return RedirectResponse(f"/settings/tokens?revoked={token_id}", status_code=303)
