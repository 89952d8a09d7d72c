"""Today (issue 13 §3, PRODUCT.md 1): the accounts that need attention today and why, a
manager's team view, a viewer's summary. A few set-based queries over the whole book."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keepwell.services.inbox import InboxItem, inbox
from keepwell.services.ownership import active_at, owner_at
from keepwell.store.models import (
    Account,
    Activity,
    HealthRun,
    HealthSnapshot,
    NextStep,
    Request,
    User,
)

RED = "red"
DROP_POINTS = 10.0
DROP_DAYS = 7
RENEWAL_DAYS = 60
# A note is a record, not a touch: every other activity kind reaches the client.
NOT_A_TOUCH = ("note",)


@dataclass(frozen=True)
class Attention:
    account_id: str
    name: str
    owner_id: str | None
    reasons: list[str]
    action: str  # what the account page's first form should be used for


@dataclass
class TeamMember:
    user: User
    breached: list[InboxItem] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)


def week_start(now: datetime, timezone: str) -> datetime:
    """Monday 00:00 of `now`'s week in `timezone`."""
    local = now.astimezone(ZoneInfo(timezone))
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, datetime.min.time(), tzinfo=ZoneInfo(timezone))


def attention(
    session: Session,
    now: datetime,
    timezone: str,
    owner: str | None = None,
    week_zone: str | None = None,
) -> list[Attention]:
    """The active accounts (of `owner` now, or all) that need attention today, each with
    its reasons: health red or down DROP_POINTS in DROP_DAYS, no next step or an overdue
    one, no proactive touch this week (Mon–Sun in `week_zone`, the CSM's), renewal within
    RENEWAL_DAYS."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    current = owner_at(now).label("owner")
    query = select(Account.id, Account.name, current, Account.renewal_date).where(
        active_at(now, timezone)
    )
    if owner is not None:
        query = query.where(owner_at(now) == owner)
    accounts = session.execute(query.order_by(Account.name, Account.id)).all()
    if not accounts:
        return []
    health = _health(session, today, None if owner is None else [row[0] for row in accounts])
    steps = _next_steps(session, now)
    touched = _touched_since(session, week_start(now, week_zone or timezone), now)
    found = []
    for account_id, name, owner_id, renewal in accounts:
        reasons = [
            *_health_reasons(health.get(account_id)),
            *_step_reasons(steps.get(account_id), today),
            *([] if account_id in touched else ["no proactive touch this week"]),
            *_renewal_reasons(renewal, today),
        ]
        if reasons:
            action = "log_activity" if account_id not in touched else "set_next_step"
            found.append(Attention(account_id, name, owner_id, reasons, action))
    return found


Health = tuple[float | None, str | None, float | None]  # score now, band now, score a week ago


def latest_run_day(session: Session, today: date) -> date | None:
    """The day of the latest health run up to `today` (the daily recompute scores every
    active account on it): the snapshot the lists show."""
    return session.scalar(select(func.max(HealthRun.day)).where(HealthRun.day <= today))


def _health(session: Session, today: date, accounts: list[str] | None = None) -> dict[str, Health]:
    """Each account's snapshot of the latest run up to today, and its score DROP_DAYS
    before that: two days of snapshots, read by their key, not every account's history."""
    day = latest_run_day(session, today)
    if day is None:
        return {}
    week_ago = day - timedelta(days=DROP_DAYS)
    query = select(HealthSnapshot.account_id, HealthSnapshot.day, HealthSnapshot.score,
                   HealthSnapshot.band).where(HealthSnapshot.day.in_((day, week_ago)))  # fmt: skip
    if accounts is not None:
        query = query.where(HealthSnapshot.account_id.in_(accounts))
    now_and_then: dict[str, dict[date, tuple[float | None, str | None]]] = defaultdict(dict)
    for account, on, score, band in session.execute(query):
        now_and_then[account][on] = (score, band)
    return {
        account: (days[day][0], days[day][1], days.get(week_ago, (None, None))[0])
        for account, days in now_and_then.items()
        if day in days
    }


def _health_reasons(health: Health | None) -> list[str]:
    if health is None:
        return []
    score, band, week_ago = health
    reasons = ["health red"] if band == RED else []
    if score is not None and week_ago is not None and week_ago - score >= DROP_POINTS:
        reasons.append(f"health down {week_ago - score:.0f} points in {DROP_DAYS} days")
    return reasons


def _next_steps(session: Session, now: datetime) -> dict[str, date]:
    """The due date of each account's current next step (the latest set by now)."""
    latest = (
        select(NextStep.account_id, func.max(NextStep.at).label("at"))
        .where(NextStep.at <= now)
        .group_by(NextStep.account_id)
        .subquery()
    )
    rows = session.execute(
        select(NextStep.account_id, NextStep.due).join(
            latest, (latest.c.account_id == NextStep.account_id) & (latest.c.at == NextStep.at)
        )
    ).all()
    return dict(rows)


def _step_reasons(due: date | None, today: date) -> list[str]:
    if due is None:
        return ["no next step"]
    return [f"next step overdue since {due.isoformat()}"] if due < today else []


def _touched_since(session: Session, start: datetime, now: datetime) -> set[str]:
    rows = session.scalars(
        select(Activity.account_id)
        .where(Activity.at >= start, Activity.at <= now, Activity.kind.not_in(NOT_A_TOUCH))
        .distinct()
    )
    return set(rows)


def _renewal_reasons(renewal: date | None, today: date) -> list[str]:
    if renewal is None or not today <= renewal <= today + timedelta(days=RENEWAL_DAYS):
        return []
    return [f"renewal on {renewal.isoformat()}"]


def team_of(session: Session, user: User) -> list[User]:
    """The CSMs a manager leads (every CSM for an admin, or a manager with no reports)."""
    csms = select(User).where(User.role == "csm", User.active.is_(True)).order_by(User.name)
    if user.role == "manager":
        mine = list(session.scalars(csms.where(User.manager_id == user.id)))
        if mine:
            return mine
    return list(session.scalars(csms))


def team_today(session: Session, user: User, now: datetime, timezone: str) -> list[TeamMember]:
    """A manager's Today: each CSM's breached requests and accounts needing attention."""
    members = {csm.id: TeamMember(csm) for csm in team_of(session, user)}
    by_owner: dict[str, list[Attention]] = defaultdict(list)
    # Each CSM's week starts in their own zone, as on their own Today: one pass per zone.
    for zone in sorted({member.user.timezone for member in members.values()}):
        for item in attention(session, now, timezone, week_zone=zone):
            owner = members.get(item.owner_id or "")
            if owner is not None and owner.user.timezone == zone:
                by_owner[owner.user.id].append(item)
    for csm_id, member in members.items():
        member.breached = [item for item in inbox(session, csm_id, now) if item.seconds_left < 0]
        member.attention = by_owner[csm_id]
    return list(members.values())


@dataclass(frozen=True)
class Summary:
    accounts: int
    bands: dict[str, int]
    open_requests: int


def summary(session: Session, now: datetime, timezone: str) -> Summary:
    """A viewer's Today: how many active accounts, by health band, and open requests."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    accounts = session.scalar(
        select(func.count()).select_from(Account).where(active_at(now, timezone))
    )
    bands: dict[str, int] = defaultdict(int)
    for _score, band, _ in _health(session, today).values():
        bands[band or "unscored"] += 1
    still_open = (Request.resolved_at.is_(None)) | (Request.resolved_at > now)
    requests = session.scalar(
        select(func.count()).select_from(Request).where(Request.opened_at <= now, still_open)
    )
    return Summary(accounts or 0, dict(bands), requests or 0)


def escalation_targets(session: Session) -> list[tuple[str, str]]:
    """Whom a request can be escalated to: the active managers and admins, by name."""
    rows = session.execute(
        select(User.id, User.name)
        .where(User.role.in_(("manager", "admin")), User.active.is_(True))
        .order_by(User.name)
    ).all()
    return [(user_id, name) for user_id, name in rows]
