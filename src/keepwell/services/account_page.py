"""One account as its page shows it (issue 13 §3): who owns it, health and its trend, the
timeline (latest first, paged), contacts, NPS, MRR, open requests and the history of changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from keepwell.services import audit
from keepwell.services.actions import NotFound, owner_now
from keepwell.services.health import account_health
from keepwell.store.models import (
    Account,
    Activity,
    AuditEntry,
    Contact,
    Escalation,
    HealthSnapshot,
    Message,
    MrrChange,
    NextStep,
    Request,
    Resolve,
    Survey,
    User,
)

TIMELINE_PAGE = 30
TREND_DAYS = 90


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # message, request, resolve, escalation, activity, next step
    title: str
    text: str | None
    by: str | None = None  # who, by name
    breached: bool = False


@dataclass(frozen=True)
class AccountView:
    account: Account
    owner_id: str | None
    owner_name: str | None
    health: dict[str, Any]
    trend: list[tuple[date, float]]
    mrr: list[tuple[date, Decimal]]
    contacts: list[Contact]
    surveys: list[Survey]
    open_requests: list[Request]
    timeline: list[Event]
    older: bool  # whether there are events before this page
    history: list[AuditEntry]
    users: dict[str, str]  # id -> name, for the people the page names
    next_step: NextStep | None


def account_view(
    session: Session, account_id: str, now: datetime, timezone: str, timeline_page: int = 1
) -> AccountView:
    """Everything the account page shows; NotFound when there is no such account."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id!r}")
    owner_id = owner_now(session, account_id, now)
    users = {user_id: name for user_id, name in session.execute(select(User.id, User.name))}
    contacts = list(
        session.scalars(
            select(Contact)
            .where(Contact.account_id == account_id)
            .order_by(Contact.name, Contact.id)
        )
    )
    events = _timeline(session, account_id, now, users, contacts)
    first = (max(1, timeline_page) - 1) * TIMELINE_PAGE
    still_open = (Request.resolved_at.is_(None)) | (Request.resolved_at > now)
    return AccountView(
        account=account,
        owner_id=owner_id,
        owner_name=users.get(owner_id) if owner_id else None,
        health=account_health(session, account_id, now, timezone),
        trend=_trend(session, account_id, now, timezone),
        mrr=_mrr(session, account),
        contacts=contacts,
        surveys=list(
            session.scalars(
                select(Survey)
                .where(Survey.account_id == account_id, Survey.at <= now)
                .order_by(Survey.at.desc())
                .limit(20)
            )
        ),
        open_requests=list(
            session.scalars(
                select(Request)
                .where(Request.account_id == account_id, Request.opened_at <= now, still_open)
                .order_by(Request.opened_at)
            )
        ),
        timeline=events[first : first + TIMELINE_PAGE],
        older=len(events) > first + TIMELINE_PAGE,
        history=list(reversed(audit.history(session, f"account:{account_id}"))),
        users=users,
        next_step=session.scalars(
            select(NextStep)
            .where(NextStep.account_id == account_id, NextStep.at <= now)
            .order_by(NextStep.at.desc())
            .limit(1)
        ).first(),
    )


def _trend(
    session: Session, account_id: str, now: datetime, timezone: str
) -> list[tuple[date, float]]:
    today = now.astimezone(ZoneInfo(timezone)).date()
    rows = session.execute(
        select(HealthSnapshot.day, HealthSnapshot.score)
        .where(HealthSnapshot.account_id == account_id,
               HealthSnapshot.day > today - timedelta(days=TREND_DAYS),
               HealthSnapshot.day <= today, HealthSnapshot.score.is_not(None))
        .order_by(HealthSnapshot.day)
    ).all()  # fmt: skip
    return [(day, float(score)) for day, score in rows if score is not None]


def _mrr(session: Session, account: Account) -> list[tuple[date, Decimal]]:
    changes = session.execute(
        select(MrrChange.at, MrrChange.mrr)
        .where(MrrChange.account_id == account.id)
        .order_by(MrrChange.at)
    ).all()
    start = [(account.started, account.mrr)] if account.mrr is not None else []
    return [*start, *((at.date(), mrr) for at, mrr in changes)]


def mrr_to_today(mrr: list[tuple[date, Decimal]], today: date) -> list[tuple[date, Decimal]]:
    """The MRR chart's points: each change, and the MRR in force carried on to today, so an
    account without changes still shows its (flat) MRR."""
    if mrr and mrr[-1][0] < today:
        return [*mrr, (today, mrr[-1][1])]
    return mrr


def _timeline(
    session: Session, account_id: str, now: datetime, users: dict[str, str], contacts: list[Contact]
) -> list[Event]:
    """Every event on the account up to `now`, latest first, each with who made it by name
    (a client's message by its contact's, ours by the user's; an unknown id as it is)."""
    people = {c.id: c.name or c.email or c.id for c in contacts}

    def name(person: str | None, ours: bool = True) -> str | None:
        if person is None:
            return None
        return (users if ours else people).get(person) or person

    threads = select(Message.thread_id).where(Message.account_id == account_id).distinct()
    events: list[Event] = []
    for m in session.scalars(
        select(Message).where(Message.account_id == account_id, Message.at <= now)
    ):
        who = "client" if m.direction == "inbound" else "us"
        events.append(Event(m.at, "message", f"{m.channel} message from {who}", m.text,
                            name(m.author_id, ours=who == "us")))  # fmt: skip
    for r in session.scalars(
        select(Request).where(Request.account_id == account_id, Request.opened_at <= now)
    ):
        breached = bool(r.response_breached or r.resolution_breached)
        events.append(Event(r.opened_at, "request", _request_title(r), None, None, breached))
    for s in session.scalars(
        select(Resolve).where(Resolve.thread_id.in_(threads), Resolve.at <= now)
    ):
        title = f"Resolved thread {s.thread_id}"
        events.append(Event(s.at, "resolve", title, s.note, name(s.by_id)))
    for e in session.scalars(
        select(Escalation).where(Escalation.thread_id.in_(threads), Escalation.at <= now)
    ):
        title = f"Escalated thread {e.thread_id}" + (f" to {name(e.to_id)}" if e.to_id else "")
        title += " (novel)" if e.novel else ""
        events.append(Event(e.at, "escalation", title, e.reason, name(e.by_id)))
    for a in session.scalars(
        select(Activity).where(Activity.account_id == account_id, Activity.at <= now)
    ):
        events.append(Event(a.at, "activity", a.kind.replace("_", " ").capitalize(), a.text,
                            name(a.by_id)))  # fmt: skip
    for n in session.scalars(
        select(NextStep).where(NextStep.account_id == account_id, NextStep.at <= now)
    ):
        events.append(Event(n.at, "next step", f"Next step, due {n.due.isoformat()}", n.text,
                            name(n.by_id)))  # fmt: skip
    return sorted(events, key=lambda e: e.at, reverse=True)


def _request_title(request: Request) -> str:
    parts = [f"Request {request.id} opened"]
    if request.response_breached:
        parts.append("first response breached")
    if request.resolution_breached:
        parts.append("resolution breached")
    if request.resolved_at is None and request.resolution_due is not None:
        parts.append(f"resolution due {request.resolution_due:%Y-%m-%d %H:%M} UTC")
    return "; ".join(parts)
