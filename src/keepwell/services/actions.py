"""The writes a person makes in the web app (issue 13 §2): resolve a request, escalate it, set
an account's next step, log an activity.

Each is made as the import's own record (`resolve`, `escalate`, `next_step`, `activity`
lines of PRODUCT.md 9) and applied by `import_lines`, so the same field rules hold, the
thread's requests are replayed and their SLA clocks recomputed. Each is safe to submit twice:
- an idempotency key (a form's hidden field, the API's `Idempotency-Key` header) already used
  by the same person for the same write on the same subject writes nothing again;
- an activity's id is derived from that key, so even two racing submits make one row;
- without a key, a write that states what is already so writes nothing: resolving a request
  that is resolved, the same escalation as the thread's latest, the same next step as the
  account's current one.
Every write that changed something adds an `audit_log` entry (who, when, what, the key).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from keepwell.config import Settings
from keepwell.domain.access import Action, can
from keepwell.domain.sla import SlaTargets
from keepwell.ingest.records import ACTIVITY_KINDS
from keepwell.services import audit
from keepwell.services.company_settings import effective
from keepwell.services.importing import ImportRejected, import_lines
from keepwell.services.ownership import owner_at
from keepwell.store.models import Account, Activity, AuditEntry, Escalation, NextStep, Request, User


class WriteError(ValueError):
    """Bad input: the message names the field (`field: what is wrong`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(LookupError):
    pass


class NotAllowed(PermissionError):
    pass


@dataclass(frozen=True)
class WriteContext:
    """Who writes, when, and under which rules (the import's targets and company zone)."""

    user: User
    now: datetime
    # None: the SLA targets in force, read in the write's own transaction from `environment`
    # and the admin's saved values (services/company_settings.py).
    targets: SlaTargets | None
    timezone: str = "UTC"
    key: str | None = None  # the idempotency key, when the caller sent one
    environment: Settings | None = None

    def targets_in(self, session: Session) -> SlaTargets:
        if self.targets is not None:
            return self.targets
        return effective(session, self.environment or Settings.model_construct()).sla


# -- who may


def owner_now(session: Session, account_id: str, now: datetime) -> str | None:
    """The account's owner at `now`; NotFound when there is no such account."""
    found = session.execute(
        select(Account.id, owner_at(now)).where(Account.id == account_id)
    ).first()
    if found is None:
        raise NotFound(f"no account {account_id!r}")
    return found[1]


def may_write(session: Session, user: User, action: Action, account_id: str, now: datetime) -> bool:
    """Whether `user` may take `action` on the account (a CSM: only one they own now)."""
    return can(user.role, action, owns=owner_now(session, account_id, now) == user.id)


def _check(session: Session, ctx: WriteContext, action: Action, account_id: str) -> None:
    if not may_write(session, ctx.user, action, account_id, ctx.now):
        raise NotAllowed(f"a {ctx.user.role} may not {action.value.replace('_', ' ')} here")


# -- the writes


def resolve_request(
    session: Session, ctx: WriteContext, request_id: str, note: str | None
) -> Request:
    """Resolve the request (a `resolve` line on its thread, now); one already resolved is
    returned as it is."""
    request = _request(session, request_id)
    _check(session, ctx, Action.RESOLVE, request.account_id)
    if _resolved(request, ctx.now) or _repeated(session, ctx, "resolve", _subject(request)):
        return request
    line = {"type": "resolve", "thread": request.thread_id, "note": _text("note", note)}
    _apply(session, ctx, line, "resolve", _subject(request), before=_request_state(request))
    return _after(session, request_id, "resolve", _subject(request))


def escalate_request(
    session: Session,
    ctx: WriteContext,
    request_id: str,
    to: str | None,
    reason: str | None,
    novel: bool,
) -> Request:
    """Escalate the request to `to` (a user id), saying why and whether it is novel."""
    request = _request(session, request_id)
    _check(session, ctx, Action.ESCALATE, request.account_id)
    to = (to or "").strip() or None
    if to is not None and session.get(User, to) is None:
        raise WriteError("to", f"no user {to!r}")
    reason = _text("reason", reason)
    subject = _subject(request)
    if _repeated(session, ctx, "escalate", subject) or _same_escalation(
        session, request, to, reason, novel
    ):
        return request
    line = {"type": "escalate", "thread": request.thread_id, "to": to, "reason": reason,
            "novel": novel}  # fmt: skip
    _apply(session, ctx, line, "escalate", subject, before=_request_state(request))
    return _after(session, request_id, "escalate", subject)


def set_next_step(
    session: Session, ctx: WriteContext, account_id: str, text: str | None, due: date | str | None
) -> NextStep:
    """The account's next step from now: what, and by when."""
    _check(session, ctx, Action.SET_NEXT_STEP, account_id)
    what = _text("text", text, required=True)
    day = _day("due", due)
    subject = f"account:{account_id}"
    current = _current_next_step(session, account_id, ctx.now)
    unchanged = current is not None and (current.text, current.due) == (what, day)
    if current is not None and (unchanged or _repeated(session, ctx, "next_step", subject)):
        return current
    before = _next_step_state(current) if current else None
    line = {"type": "next_step", "account": account_id, "text": what, "due": day.isoformat()}
    _apply(session, ctx, line, "next_step", subject, before=before)
    step = _current_next_step(session, account_id, ctx.now)
    assert step is not None
    return step


def log_activity(
    session: Session, ctx: WriteContext, account_id: str, kind: str | None, text: str | None
) -> Activity:
    """An activity on the account, now; its id comes from the idempotency key."""
    _check(session, ctx, Action.LOG_ACTIVITY, account_id)
    if kind not in ACTIVITY_KINDS:
        raise WriteError("kind", f"one of {', '.join(ACTIVITY_KINDS)}")
    activity_id = _activity_id(ctx)
    if (known := session.get(Activity, activity_id)) is not None:
        return known
    line = {"type": "activity", "id": activity_id, "account": account_id, "kind": kind,
            "text": _text("text", text)}  # fmt: skip
    _apply(session, ctx, line, "activity", f"account:{account_id}", before=None)
    return session.get_one(Activity, activity_id)


# -- the parts


def _subject(request: Request) -> str:
    return f"account:{request.account_id}"


def _request(session: Session, request_id: str) -> Request:
    request = session.get(Request, request_id)
    if request is None:
        raise NotFound(f"no request {request_id!r}")
    return request


def _resolved(request: Request, now: datetime) -> bool:
    return request.resolved_at is not None and request.resolved_at <= now


def _text(field: str, value: str | None, *, required: bool = False) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise WriteError(field, "required")
    return value or None


def _day(field: str, value: date | str | None) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise WriteError(field, "a date, YYYY-MM-DD") from None


def _activity_id(ctx: WriteContext) -> str:
    """The same key from the same person names the same activity; without a key, the moment
    does (a repeat is then a new activity: forms and the API send keys)."""
    seed = f"{ctx.user.id}|{ctx.key if ctx.key else ctx.now.isoformat()}"
    return "act-" + hashlib.sha256(seed.encode()).hexdigest()[:20]


def _repeated(session: Session, ctx: WriteContext, action: str, subject: str) -> bool:
    """Whether this person already made this write on this subject with this key."""
    if not ctx.key:
        return False
    entries = session.scalars(
        select(AuditEntry.after).where(
            AuditEntry.subject == subject,
            AuditEntry.action == action,
            AuditEntry.by_id == ctx.user.id,
        )
    )
    return any((after or {}).get("key") == ctx.key for after in entries)


def _same_escalation(
    session: Session, request: Request, to: str | None, reason: str | None, novel: bool
) -> bool:
    latest = session.scalars(
        select(Escalation)
        .where(Escalation.thread_id == request.thread_id, Escalation.at >= request.opened_at)
        .order_by(Escalation.at.desc())
        .limit(1)
    ).first()
    return latest is not None and (latest.to_id, latest.reason, latest.novel) == (to, reason, novel)


def _current_next_step(session: Session, account_id: str, now: datetime) -> NextStep | None:
    return session.scalars(
        select(NextStep)
        .where(NextStep.account_id == account_id, NextStep.at <= now)
        .order_by(NextStep.at.desc())
        .limit(1)
    ).first()


def _request_state(request: Request) -> dict[str, Any]:
    return {
        "request": request.id,
        "resolved_at": request.resolved_at.isoformat() if request.resolved_at else None,
        "escalations": request.escalations,
        "novel": request.novel,
    }


def _next_step_state(step: NextStep) -> dict[str, Any]:
    return {"text": step.text, "due": step.due.isoformat(), "by": step.by_id}


def _apply(
    session: Session,
    ctx: WriteContext,
    record: dict[str, Any],
    action: str,
    subject: str,
    before: dict[str, Any] | None,
) -> None:
    """Import the record as one line, by the user, now; then audit it."""
    line = {**record, "at": ctx.now.isoformat(), "by": ctx.user.id}
    try:
        import_lines(
            session,
            [orjson.dumps({k: v for k, v in line.items() if v is not None})],
            targets=ctx.targets_in(session),
            company_timezone=ctx.timezone,
            today=ctx.now.date(),
        )
    except ImportRejected as exc:
        first = exc.errors[0]
        raise WriteError(first.field or action, first.message) from exc
    after = {k: v for k, v in record.items() if k != "type"} | {"key": ctx.key}
    audit.record(session, at=ctx.now, by=ctx.user.id, action=action, subject=subject,
                 before=before, after=after)  # fmt: skip


def _after(session: Session, request_id: str, action: str, subject: str) -> Request:
    """The request as the replay left it (its thread's requests were rebuilt)."""
    request = session.get(Request, request_id)
    if request is None:  # a replay keeps request ids (the opening message's): never seen
        raise NotFound(f"no request {request_id!r} after the {action} of {subject}")
    return request
