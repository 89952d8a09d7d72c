"""`/settings/users` (issue 14 §4): the people who sign in. Add one, change their role and
manager, deactivate and reactivate; each change is recorded and shown as a short history.
The rules are in `services/users.py`; these routes parse the form and draw the answer."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from keepwell.config import get_settings
from keepwell.domain.access import ROLES
from keepwell.services import audit
from keepwell.services.users import (
    MIN_PASSWORD_LENGTH,
    UnknownUser,
    UserError,
    add_user,
    change_user,
    deactivate,
    get_user_by_id,
    list_users,
    manager_choices,
    reactivate,
)
from keepwell.web.auth import AdminForm, AdminPage, Principal, writing
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.pages.render import page
from keepwell.web.pages.settings import field_error, history_lines

router = APIRouter(include_in_schema=False)
ZONES = sorted(available_timezones())
ADD_FIELDS = ("email", "name", "role", "manager_id", "timezone")
DONE = {
    "added": "{name} is added: they can sign in now.",
    "changed": "{name}'s role and manager are saved.",
    "unchanged": "Nothing changed for {name}.",
    "deactivated": "{name} is deactivated: their sessions and tokens have ended.",
    "reactivated": "{name} is reactivated: they can sign in again.",
}


def _users_page(
    request: Request, principal: Principal, session: Session, *, status_code: int = 200,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    notice: str | None = None,
) -> HTMLResponse:  # fmt: skip
    users = list_users(session)
    names = {u.id: u.name for u in users}
    return page(
        request, "settings_users.html", principal, status_code=status_code, users=users,
        managers=manager_choices(session), roles=ROLES, zones=ZONES,
        history=history_lines(audit.recent(session, "user."), names), errors=errors or {},
        values=values or {"role": "csm", "timezone": get_settings().timezone},
        min_length=MIN_PASSWORD_LENGTH, notice=notice,
    )  # fmt: skip


def _notice(session: Session, done: str, user_id: str) -> str | None:
    if done not in DONE or not user_id:
        return None
    try:
        return DONE[done].format(name=get_user_by_id(session, user_id).name)
    except UnknownUser:
        return None


@router.get("/settings/users", response_class=HTMLResponse)
def users(
    request: Request, principal: AdminPage, session: SessionDep, done: str = "", user: str = ""
) -> HTMLResponse:
    return _users_page(request, principal, session, notice=_notice(session, done, user))


@router.post("/settings/users", response_class=HTMLResponse)
def add(request: Request, form: AdminForm, session: SessionDep, now: NowDep) -> Response:
    principal, fields = form
    try:
        with writing(request) as own:
            user = add_user(
                own, email=fields.get("email", ""), name=fields.get("name", ""),
                role=fields.get("role", ""), password=fields.get("password", ""),
                confirm_password=fields.get("confirm_password", ""), now=now,
                timezone=fields.get("timezone", "").strip(),
                manager_id=fields.get("manager_id") or None, by=principal.user.id,
            )  # fmt: skip
            added = user.id
    except UserError as exc:
        field, message = field_error(exc)
        values = {name: fields.get(name, "") for name in ADD_FIELDS}
        return _users_page(request, principal, session, status_code=422,
                           errors={field: message}, values=values)  # fmt: skip
    return RedirectResponse(f"/settings/users?done=added&user={added}", status_code=303)


def _user_page(
    request: Request, principal: Principal, session: Session, user_id: str, *,
    status_code: int = 200, errors: dict[str, str] | None = None, notice: str | None = None,
) -> HTMLResponse:  # fmt: skip
    try:
        user = get_user_by_id(session, user_id)
    except UnknownUser as exc:
        return page(request, "refused.html", principal, status_code=404, message=str(exc),
                    back="/settings/users")  # fmt: skip
    names = {u.id: u.name for u in list_users(session)}
    context: dict[str, Any] = {
        "person": user,
        "managers": [(i, n) for i, n in manager_choices(session) if i != user.id],
        "roles": ROLES,
        "history": history_lines(reversed(audit.history(session, f"user:{user.id}")), names),
        "errors": errors or {},
        "notice": notice,
        "is_self": user.id == principal.user.id,
    }
    return page(request, "settings_user.html", principal, status_code=status_code, **context)


@router.get("/settings/users/{user_id}", response_class=HTMLResponse)
def user_page(
    user_id: str, request: Request, principal: AdminPage, session: SessionDep, done: str = ""
) -> HTMLResponse:
    notice = _notice(session, done, user_id)
    return _user_page(request, principal, session, user_id, notice=notice)


def _write(
    request: Request, form: Any, session: Session, user_id: str, done: str, write: Any
) -> Response:
    """Run one user change in its own transaction; the user's page again, with the error
    at its field (422) or the change's notice."""
    principal, fields = form
    try:
        with writing(request) as own:
            changed = write(own, get_user_by_id(own, user_id), principal.user.id, fields)
    except UnknownUser as exc:
        return page(request, "refused.html", principal, status_code=404, message=str(exc),
                    back="/settings/users")  # fmt: skip
    except UserError as exc:
        field, message = field_error(exc)
        return _user_page(request, principal, session, user_id, status_code=422,
                          errors={field: message})  # fmt: skip
    outcome = done if changed is not False else "unchanged"
    return RedirectResponse(f"/settings/users/{user_id}?done={outcome}", status_code=303)


@router.post("/settings/users/{user_id}", response_class=HTMLResponse)
def change(
    user_id: str, request: Request, form: AdminForm, session: SessionDep, now: NowDep
) -> Response:
    def write(own: Session, user: Any, by: str, fields: dict[str, str]) -> bool:
        return change_user(own, user, role=fields.get("role", ""),
                           manager_id=fields.get("manager_id") or None, now=now, by=by)  # fmt: skip

    return _write(request, form, session, user_id, "changed", write)


@router.post("/settings/users/{user_id}/deactivate", response_class=HTMLResponse)
def deactivate_user(
    user_id: str, request: Request, form: AdminForm, session: SessionDep, now: NowDep
) -> Response:
    def write(own: Session, user: Any, by: str, _fields: dict[str, str]) -> None:
        deactivate(own, user, now, by=by)

    return _write(request, form, session, user_id, "deactivated", write)


@router.post("/settings/users/{user_id}/reactivate", response_class=HTMLResponse)
def reactivate_user(
    user_id: str, request: Request, form: AdminForm, session: SessionDep, now: NowDep
) -> Response:
    def write(own: Session, user: Any, by: str, _fields: dict[str, str]) -> None:
        reactivate(own, user, now, by=by)

    return _write(request, form, session, user_id, "reactivated", write)
