"""The monthly CSM scorecard use case (PRODUCT.md 4): gather each CSM's facts as of the
evaluation moment, with business time from the SLA clocks, and score them in the domain."""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, exists, select
from sqlalchemy.orm import Session, aliased

from keepwell.domain import scorecard as sc
from keepwell.domain.hours import Schedule, to_micros
from keepwell.domain.revenue import day_start
from keepwell.domain.targets import DEFAULT_TARGETS, Targets
from keepwell.services.schedules import ALWAYS_OPEN, Calendars, load_schedules
from keepwell.services.sla import owner_histories
from keepwell.store.models import Account, Activity, Churn, Message, NextStep, Request, Review, User

ASK_KINDS = ("testimonial_request", "case_study_request")
# Loaded a little wider than the month: weeks and the CSM's zone reach past its UTC edges.
MARGIN = timedelta(days=8)


class UnknownCsm(LookupError):
    pass


def scorecards(
    session: Session,
    month: str,
    as_of: datetime,
    *,
    csm_id: str | None = None,
    targets: Targets = DEFAULT_TARGETS,
    company_timezone: str = "UTC",
) -> list[sc.Scorecard]:
    """Every CSM's scorecard of `month` at `as_of` (or one CSM's), triggers included: the
    previous month is scored at the same moment to compare with (PRODUCT.md 4)."""
    csms = _csms(session, csm_id)
    facts = _Facts(session, company_timezone)
    previous_month = sc.previous_month(month)
    cards = []
    for user in csms:
        before = sc.score_csm(facts.inputs(user, previous_month, as_of), targets)
        cards.append(sc.score_csm(facts.inputs(user, month, as_of), targets, previous=[before]))
    return cards


def history(
    session: Session,
    csm_id: str,
    last_month: str,
    as_of: datetime,
    months: int = 12,
    *,
    targets: Targets = DEFAULT_TARGETS,
    company_timezone: str = "UTC",
) -> list[sc.Scorecard]:
    """A CSM's last `months` scorecards up to `last_month`, oldest first, triggers chained."""
    (user,) = _csms(session, csm_id)
    facts = _Facts(session, company_timezone)
    names = [last_month]
    while len(names) <= months:  # one month more, as context for the first one's triggers
        names.insert(0, sc.previous_month(names[0]))
    cards: list[sc.Scorecard] = []
    for name in names:
        if as_of < facts.month_start(user, name):
            break  # a month that has not started at the evaluation moment
        cards.append(sc.score_csm(facts.inputs(user, name, as_of), targets, previous=cards[-1:]))
    return cards[-months:] if len(cards) > months else cards


def _csms(session: Session, csm_id: str | None) -> Sequence[User]:
    query = select(User).where(User.role == "csm").order_by(User.id)
    if csm_id is not None:
        query = select(User).where(User.id == csm_id)
    users = session.scalars(query).all()
    if csm_id is not None and not users:
        raise UnknownCsm(f"no user {csm_id!r}")
    return users


class _Facts:
    """The book's facts, loaded once per call and cut per CSM and month."""

    def __init__(self, session: Session, company_timezone: str) -> None:
        self.session = session
        self.connection: Connection = session.connection()
        self.tz = company_timezone
        self.schedules = load_schedules(session)
        self.calendars = Calendars(self.schedules)
        self.histories = owner_histories(self.connection)
        self.accounts = self._accounts()
        self._months: dict[tuple[str, str], dict[str, Any]] = {}

    def month_start(self, user: User, month: str) -> datetime:
        year, number = (int(part) for part in month.split("-"))
        return _local_midnight(date(year, number, 1), user.timezone)

    def inputs(self, user: User, month: str, as_of: datetime) -> sc.ScorecardInputs:
        year, number = (int(part) for part in month.split("-"))
        start = self.month_start(user, month)
        end = _local_midnight(_first_of_next(year, number), user.timezone)
        window = self._window(month, as_of)
        reviews = self._reviews(user, month)
        return sc.ScorecardInputs(
            csm=sc.Csm(user.id, user.timezone, self._working_days(user, year, number)),
            month=month,
            as_of=as_of,
            requests=tuple(window["requests"](start, end)),
            accounts=self.accounts,
            touches=window["touches"],
            asks=window["asks"],
            next_steps=window["next_steps"],
            self_review=reviews.get(user.id),
            manager_review=reviews.get(user.manager_id) if user.manager_id else None,
        )

    def _window(self, month: str, as_of: datetime) -> dict[str, Any]:
        key = (month, as_of.isoformat())
        if key not in self._months:
            year, number = (int(part) for part in month.split("-"))
            lo = datetime(year, number, 1, tzinfo=UTC) - MARGIN
            hi = datetime(*_first_of_next(year, number).timetuple()[:3], tzinfo=UTC) + MARGIN
            requests = self._requests(lo, hi, as_of)
            self._months[key] = {
                "requests": lambda start, end: [r for r in requests if start <= r.opened_at < end],
                "touches": self._touches(lo, hi),
                "asks": self._asks(hi),
                "next_steps": self._next_steps(hi),
            }
        return self._months[key]

    def _accounts(self) -> tuple[sc.AccountFacts, ...]:
        histories = self.histories
        churns: dict[str, datetime] = {}
        for account_id, at in self.session.execute(select(Churn.account_id, Churn.at)):
            churns[account_id] = min(at, churns.get(account_id, at))
        facts = []
        for account_id, started in self.session.execute(select(Account.id, Account.started)):
            begins = day_start(started, self.tz)
            history = histories[account_id]
            owners = [(begins, history.initial)] if history.initial else []
            owners += [
                (_instant(at), owner) for at, owner in zip(history.at, history.owners, strict=True)
            ]
            facts.append(sc.AccountFacts(account_id, begins, churns.get(account_id), tuple(owners)))
        return tuple(facts)

    def _requests(self, lo: datetime, hi: datetime, as_of: datetime) -> list[sc.RequestFacts]:
        rows = (
            self.session.execute(
                select(Request).where(Request.opened_at >= lo, Request.opened_at < hi)
            )
            .scalars()
            .all()
        )
        histories = self.histories
        elapsed = self._elapsed(rows, as_of)
        facts = []
        for request, (hours, days) in zip(rows, elapsed, strict=True):
            history = histories.get(request.account_id)
            owner = history.owner_at(to_micros(request.opened_at)) if history else None
            answered = request.first_response_at is not None and request.first_response_at <= as_of
            resolved = request.resolved_at is not None and request.resolved_at <= as_of
            facts.append(
                sc.RequestFacts(
                    id=request.id,
                    account_id=request.account_id,
                    owner_id=owner or "",
                    opened_at=request.opened_at,
                    response_hours=(request.response_seconds or 0) / 3600 if answered else hours,
                    resolution_days=(request.resolution_days or 0) if resolved else days,
                    escalated=request.escalated_at is not None and request.escalated_at <= as_of,
                    answered=answered,
                    resolved=resolved,
                )
            )
        return facts

    def _elapsed(self, rows: Sequence[Request], as_of: datetime) -> list[tuple[float, float]]:
        """Business hours and days from each request's clock start to `as_of`, for the ones
        still waiting then (PRODUCT.md 4: they count their elapsed business time)."""
        out = [(0.0, 0.0)] * len(rows)
        groups: dict[str, list[int]] = defaultdict(list)
        for index, request in enumerate(rows):
            if request.opened_at <= as_of:
                groups[request.schedule_id or ALWAYS_OPEN].append(index)
        end = to_micros(as_of)
        for schedule_id, indexes in groups.items():
            calendar_ = self.calendars[schedule_id]
            starts = np.array([to_micros(rows[i].opened_at) for i in indexes], dtype=np.int64)
            ends = np.full(starts.shape, end, dtype=np.int64)
            hours = calendar_.between(starts, ends) / 3.6e9
            days = calendar_.business_days_between(starts, ends)
            for i, h, d in zip(indexes, hours, days, strict=True):
                out[i] = (float(h), float(d))
        return out

    def _touches(self, lo: datetime, hi: datetime) -> tuple[sc.Touch, ...]:
        """Activities of any kind but notes, and outbound messages that open their thread."""
        activities = self.session.execute(
            select(Activity.account_id, Activity.at).where(
                Activity.kind != "note", Activity.at >= lo, Activity.at < hi
            )
        ).all()
        earlier = aliased(Message)
        openers = self.session.execute(
            select(Message.account_id, Message.at).where(
                Message.direction == "outbound",
                Message.at >= lo,
                Message.at < hi,
                ~exists().where(
                    and_(earlier.thread_id == Message.thread_id, earlier.at < Message.at)
                ),
            )
        ).all()
        return tuple(sc.Touch(a, at) for a, at in [*activities, *openers])

    def _asks(self, hi: datetime) -> tuple[sc.Ask, ...]:
        rows = self.session.execute(
            select(Activity.account_id, Activity.at).where(
                Activity.kind.in_(ASK_KINDS), Activity.at >= hi - timedelta(days=200)
            )
        ).all()
        return tuple(sc.Ask(a, at) for a, at in rows)

    def _next_steps(self, hi: datetime) -> tuple[sc.NextStep, ...]:
        rows = self.session.execute(
            select(NextStep.account_id, NextStep.at, NextStep.due).where(NextStep.at < hi)
        ).all()
        return tuple(sc.NextStep(a, at, due) for a, at, due in rows)

    def _reviews(self, user: User, month: str) -> dict[str, dict[str, str]]:
        rows = self.session.execute(
            select(Review.reviewer_id, Review.ratings).where(
                Review.csm_id == user.id, Review.month == month
            )
        ).all()
        return {reviewer: dict(ratings) for reviewer, ratings in rows}

    def _working_days(self, user: User, year: int, month: int) -> tuple[date, ...]:
        """The working days of the CSM's schedule in the month (PRODUCT.md 4, "CRM
        hygiene"): days with open time, holidays and closed dates excluded."""
        schedule = self.schedules.get(user.schedule_id or "") or self.schedules[ALWAYS_OPEN]
        days = [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
        return tuple(day for day in days if _version_on(schedule, day).hours_on(day))


def _version_on(schedule: Schedule, day: date) -> Any:
    current = schedule.versions[0]
    for version in schedule.versions[1:]:
        if version.effective is not None and version.effective <= day:
            current = version
    return current


def _first_of_next(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def _local_midnight(day: date, timezone: str) -> datetime:
    return day_start(day, timezone)


def _instant(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
