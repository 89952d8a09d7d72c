"""The rule settings as JSON (issue 14 §4, admin): what `/settings/sla`, `/settings/targets`,
`/settings/health` and `keepwell settings` show and change, through the same service
(`services/company_settings.py`): checked, audited, followed by the recompute they need."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from keepwell.config import get_settings
from keepwell.domain.targets import TargetsError
from keepwell.services import company_settings as cs
from keepwell.store.db import transaction
from keepwell.web.auth import AdminUser
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.jobs import get_jobs

router = APIRouter(prefix="/api/settings", tags=["settings"])
KEY_DOC = f"one of {', '.join(cs.KEYS)}"


class SettingOut(BaseModel):
    key: str
    value: Any = Field(description="seconds, business days, the targets' tables, or weights")
    source: str = Field(description="saved, environment or default")
    variable: str = Field(description="the environment variable that gives its default")
    saved_by: str | None
    saved_at: datetime | None


class ValueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Any = Field(
        description="a number of seconds (sla_first_response_seconds) or business days "
        "(sla_resolution_business_days), the targets as the TOML file's tables in JSON, or "
        "an object of health weights"
    )


class ChangeOut(BaseModel):
    key: str
    before: Any
    after: Any
    changed: bool
    recompute: list[str] = Field(description="what is computed again: sla, health, scorecards")
    job_id: str | None = Field(description="the recompute job; none when nothing changed")


@router.get("", response_model=list[SettingOut])
def list_settings(session: SessionDep, _admin: AdminUser) -> list[SettingOut]:
    """Every rule setting in force, and where it comes from."""
    try:
        settings = cs.in_force(cs.effective(session, get_settings()))
    except TargetsError as exc:
        raise HTTPException(500, str(exc)) from exc
    return [SettingOut.model_validate(setting, from_attributes=True) for setting in settings]


@router.put(
    "/{key}",
    response_model=ChangeOut,
    responses={404: {"description": "no such setting"}, 422: {"description": "not valid"}},
)
def put_setting(
    key: str, body: ValueIn, request: Request, now: NowDep, admin: AdminUser
) -> ChangeOut:
    """Save a setting's new value (it overrides the environment's until reset); audited, and
    followed by the recompute it needs (`job_id`)."""
    _known(key)
    return _changed(request, lambda session: cs.change_setting(
        session, get_settings(), key, body.value, by=admin.id, at=now))  # fmt: skip


@router.delete("/{key}", response_model=ChangeOut, responses={404: {"description": "no such"}})
def reset_setting(key: str, request: Request, now: NowDep, admin: AdminUser) -> ChangeOut:
    """Forget a setting's saved value: the environment's (or the default) is in force again."""
    _known(key)
    return _changed(request, lambda session: cs.reset_setting(
        session, get_settings(), key, by=admin.id, at=now))  # fmt: skip


def _known(key: str) -> None:
    if key not in cs.KEYS:
        raise HTTPException(404, f"no setting {key!r} ({KEY_DOC})")


def _changed(request: Request, change: Any) -> ChangeOut:
    try:
        with transaction(request.app.state.engine, writes=True) as session:
            outcome: cs.Outcome = change(session)
    except cs.SettingRefused as exc:
        detail = [{"type": "value_error", "loc": ["body", "value", *exc.field.split(".")[1:]],
                   "msg": exc.message}]  # fmt: skip
        raise HTTPException(422, detail) from exc
    if outcome.job_id is not None:
        get_jobs(request.app).send_recompute(outcome.job_id)
    (only,) = outcome.changes
    return ChangeOut(key=only.key, before=only.before, after=only.after, changed=only.changed,
                     recompute=list(outcome.recompute), job_id=outcome.job_id)  # fmt: skip
