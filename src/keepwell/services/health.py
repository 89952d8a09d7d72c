"""Account health (PRODUCT.md 5): daily snapshots for every active account, the 30-day
trend, the contribution of every measure, and manager overrides."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.orm import Session

from keepwell.domain import health, health_book
from keepwell.domain.health_book import NONE
from keepwell.domain.hours import to_micros
from keepwell.domain.nps import SurveyResponse
from keepwell.domain.revenue import contractions_of, day_start
from keepwell.domain.timeline import Lifecycle
from keepwell.services.batch import gc_paused
from keepwell.services.book import load_book
from keepwell.services.schedules import ALWAYS_OPEN, Calendars, load_schedules
from keepwell.store import bulk
from keepwell.store.models import (
    Account,
    Activity,
    Base,
    Churn,
    HealthOverride,
    HealthRun,
    HealthSnapshot,
    Survey,
    User,
)
from keepwell.store.models import MrrChange as MrrRow

SNAPSHOTS = Base.metadata.tables["health_snapshots"]
REQUESTS = Base.metadata.tables["requests"]
MESSAGES = Base.metadata.tables["messages"]
INBOUND, OUTBOUND = health.INBOUND, health.OUTBOUND
_DISENGAGED = health_book.DISENGAGED  # microseconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SNAPSHOT_COLUMNS = ("account_id", "day", "score", "band", *health.MEASURES)
DAY = timedelta(days=1)


class UnknownAccount(LookupError):
    """No account with that id."""


@dataclass(frozen=True)
class HealthSummary:
    day: date
    accounts: int
    bands: dict[str, int]


class FutureDay(health.HealthError):
    """A day that has not begun yet (company zone): its health cannot be known."""


def days_to_score(last: date | None, days: int, now: datetime, timezone: str) -> list[date]:
    """The days `keepwell health recompute` scores, oldest first: `last` (default: today in
    the company zone) and the `days` − 1 before it. A day after today is refused: its
    snapshot would be read before the day was lived. Today itself may be scored (the daily
    run does; the next run replaces it)."""
    today = today_in(now, timezone)
    last = today if last is None else last
    if last > today:
        raise FutureDay(f"{last} is after today ({today}, {timezone})")
    if days < 1:
        raise health.HealthError(f"days: {days} is not at least 1")
    return [last - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def recompute_health(
    session: Session,
    day: date,
    *,
    timezone: str = "UTC",
    weights: Mapping[str, float] = health.DEFAULT_WEIGHTS,
) -> HealthSummary:
    """Every active account's health at the end of `day` (company zone), kept as that day's
    snapshot; a second run for the same day replaces it."""
    (summary,) = recompute_health_days(session, [day], timezone=timezone, weights=weights)
    return summary


def recompute_health_days(
    session: Session,
    days: Iterable[date],
    *,
    timezone: str = "UTC",
    weights: Mapping[str, float] = health.DEFAULT_WEIGHTS,
    progress: Callable[[int], None] | None = None,
) -> list[HealthSummary]:
    """The snapshots of several days at once, oldest first: the book is read once and
    every day scored from the same arrays (90 days of 10,000 accounts in seconds).
    `progress` is told each day done."""
    with gc_paused():
        return _recompute_days(session, sorted(set(days)), timezone, weights, progress)


def _recompute_days(
    session: Session,
    wanted: list[date],
    timezone: str,
    weights: Mapping[str, float],
    progress: Callable[[int], None] | None,
) -> list[HealthSummary]:
    checked = health.validate_weights(weights)
    moments = [_end_of(day, timezone) for day in wanted]
    book = _BookArrays(session, timezone, since=moments[0] if moments else 0)
    snapshots = _Snapshots(book.ids)
    summaries = []
    for day, scored in zip(wanted, book.days(moments, checked), strict=True):
        summaries.append(snapshots.add(day, scored))
        if progress:
            progress(1)
    _forget(session, wanted)
    connection = session.connection()
    runs = [{"day": s.day, "weights": dict(checked), "accounts": s.accounts} for s in summaries]
    connection.execute(insert(HealthRun), runs)
    bulk.insert_columns(connection, SNAPSHOTS, SNAPSHOT_COLUMNS, snapshots.columns())
    return summaries


def _end_of(day: date, timezone: str) -> int:
    return to_micros(day_start(day + DAY, timezone))


def _forget(session: Session, days: list[date]) -> None:
    for chunk in bulk.chunks(days):
        session.execute(delete(HealthSnapshot).where(HealthSnapshot.day.in_(chunk)))
        session.execute(delete(HealthRun).where(HealthRun.day.in_(chunk)))


class _Snapshots:
    """The days' snapshots of the active accounts, gathered to be written in one go in key
    order (account, day): an index filled in order is appended to, not split page by page
    (PostgreSQL takes a third of the time for 90 days of 10,000 accounts)."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = np.array(ids, dtype=object)
        self.rank = np.argsort(np.argsort(self.ids))  # each account's place in id order
        self.days: list[date] = []
        self.parts: list[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []

    def add(self, day: date, scored: health_book.Day) -> HealthSummary:
        active = np.flatnonzero(scored.active)
        score = scored.score[active]
        values = {m: scored.values[m][active] for m in health.MEASURES}
        self.days.append(day)
        self.parts.append((active, score, values))
        counts: dict[str, int] = defaultdict(int)
        for band in health_book.bands_of(score):
            counts[band or "n/a"] += 1
        return HealthSummary(day, len(active), dict(counts))

    def columns(self) -> list[Sequence[Any]]:
        if not self.parts:
            return []
        account = np.concatenate([active for active, _, _ in self.parts])
        day = np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(self.parts)])
        order = np.lexsort((day, self.rank[account]))
        score = np.concatenate([score for _, score, _ in self.parts])[order]
        return [
            self.ids[account[order]].tolist(),
            [self.days[i] for i in day[order].tolist()],
            _nullable(score),
            health_book.bands_of(score),
            *(
                _nullable(np.concatenate([values[m] for _, _, values in self.parts])[order])
                for m in health.MEASURES
            ),
        ]


def _nullable(values: np.ndarray) -> list[float | None]:
    """Floats with NaN (no data) as None, for the database."""
    return [None if v != v else v for v in values.tolist()]


def backtest_report(
    session: Session,
    today: date,
    *,
    quarters: int = 4,
    timezone: str = "UTC",
    weights: Mapping[str, float] = health.DEFAULT_WEIGHTS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """How well the health at the start of each of the last `quarters` complete quarters
    predicted churn within it (ROC AUC with its 95 % interval over accounts, churn rate per
    band), and weights fitted on the book's own history, judged out of sample beside the
    current weights and offered only when surely better (PRODUCT.md 5; domain.backtest)."""
    if now is not None and today > today_in(now, timezone):
        # a quarter not yet lived has no churn to test against
        raise FutureDay(f"{today} is after today ({today_in(now, timezone)}, {timezone})")
    checked = health.validate_weights(weights)
    periods = _past_quarters(today, quarters, timezone)
    starts = [to_micros(start) for _, start, _ in periods]
    book = _BookArrays(session, timezone, since=starts[0])
    score_samples, measure_samples = [], []
    for (name, start, end), scored in zip(periods, book.days(starts, checked), strict=True):
        overrides = _overrides(session, start)
        for i in np.flatnonzero(scored.active).tolist():
            account_id = book.ids[i]
            churned = book.churned_between(account_id, start, end)
            values = {m: _value(scored.values[m][i]) for m in health.MEASURES}
            measure_samples.append(health.MeasureSample(name, values, churned, account_id))
            score = _value(scored.score[i])
            if score is not None:
                override = overrides.get(account_id)
                band = override.band if override else health.band_of(score)
                score_samples.append(health.ScoreSample(name, score, churned, band, account_id))
    current = health.backtest(score_samples).to_json()
    try:
        fitted: dict[str, Any] | None = health.fit_weights(measure_samples, checked).to_json()
    except health.FitError as exc:
        fitted = {"error": str(exc)}
    names = [q for q, _, _ in periods]
    return {
        "quarters": names,
        "current_weights": checked,
        "current": current,
        "by_quarter": health.backtest_by_quarter(score_samples, names),
        "fitted": fitted,
    }


def _value(value: float) -> float | None:
    return None if value != value else float(value)


def _past_quarters(today: date, count: int, timezone: str) -> list[tuple[str, datetime, datetime]]:
    """The last `count` complete calendar quarters before `today`, oldest first."""
    index = (today.year * 4 + (today.month - 1) // 3) - 1
    out = []
    for i in range(index - count + 1, index + 1):
        year, quarter = divmod(i, 4)
        first = date(year, quarter * 3 + 1, 1)
        after = date(year + (quarter + 1) // 4, (quarter + 1) % 4 * 3 + 1, 1)
        out.append(
            (f"{year}-Q{quarter + 1}", day_start(first, timezone), day_start(after, timezone))
        )
    return out


class _BookArrays:
    """The book's health facts as arrays (domain.health_book), read in a few queries, and
    the business-time fact the domain leaves to us: requests open longer than one
    business day of their clock, at each moment. `since` is the first moment to be scored:
    an exchange 30 days older than it scores 0 as "never" does, so older messages are not
    read (their threads' first messages still are)."""

    def __init__(self, session: Session, timezone: str, since: int) -> None:
        self.connection = session.connection()
        self.calendars = Calendars(load_schedules(session))
        book = load_book(session)
        accounts = book.revenue_accounts(timezone)
        lives = book.lifecycles(timezone)  # which accounts are active when: domain.timeline
        self.ids = [a.id for a in accounts]
        self.index = {account_id: i for i, account_id in enumerate(self.ids)}
        self.churns = {a: sorted(times) for a, times in book.churns.items()}
        requests, self.open_requests = self._requests()
        window_start = _EPOCH + timedelta(microseconds=since - _DISENGAGED)
        self.facts = health_book.BookFacts(
            accounts=len(accounts),
            requests=requests,
            activity=self._events(
                (a.id, at, float(on)) for a in accounts for at, on in lives[a.id].changes()
            ),
            messages=self._messages(window_start),
            talks=self._events((a, at, 1.0) for a, at in self._talks(window_start)),
            surveys=self._events(
                (s.account_id, s.at, health.survey_value(s)) for s in self._surveys()
            ),
            contractions=self._events(
                (a.id, at, 0.0) for a in accounts for at in contractions_of(a)
            ),
            first_paid=np.array(
                [_micros_or_none(health.first_paid_at(a)) for a in accounts], dtype=np.int64
            ),
        )

    def days(self, moments: list[int], weights: Mapping[str, float]) -> Iterator[health_book.Day]:
        return health_book.days(self.facts, moments, self._open_issue_counts(moments), weights)

    def churned_between(self, account_id: str, start: datetime, end: datetime) -> bool:
        """Whether the account's first churn falls in [start, end)."""
        times = self.churns.get(account_id)
        return times is not None and start <= times[0] < end

    def _events(self, rows: Iterable[tuple[str, datetime, float]]) -> health_book.Events:
        known = [(self.index[a], to_micros(at), v) for a, at, v in rows if a in self.index]
        if not known:
            return health_book.Events()
        account, at, value = zip(*known, strict=True)
        return health_book.Events(
            np.array(account, dtype=np.int64),
            np.array(at, dtype=np.int64),
            np.array(value, dtype=np.float64),
        )

    def _messages(self, since: datetime) -> health_book.Messages:
        """Inbound and outbound messages from `since` on, each with its thread's first
        inbound and first outbound instants (over the whole thread, older messages too)."""
        recent, whole = MESSAGES.alias("recent"), MESSAGES.alias("whole")
        threads = select(recent.c.thread_id).where(recent.c.at >= since).distinct()
        firsts = (
            select(
                whole.c.thread_id,
                func.min(case((whole.c.direction == INBOUND, whole.c.at))).label("first_in"),
                func.min(case((whole.c.direction == OUTBOUND, whole.c.at))).label("first_out"),
            )
            .where(whole.c.thread_id.in_(threads), ~whole.c.deleted)
            .group_by(whole.c.thread_id)
            .subquery()
        )
        micros = functools.partial(bulk.micros, self.connection)
        columns = MESSAGES.c
        query = (
            select(
                columns.account_id,
                micros(columns.at),
                columns.direction,
                columns.automated,
                micros(firsts.c.first_in),
                micros(firsts.c.first_out),
            )
            .join(firsts, firsts.c.thread_id == columns.thread_id)
            # a message deleted at the source is kept for the record, and is no exchange
            .where(
                columns.at >= since, columns.direction.in_((INBOUND, OUTBOUND)), ~columns.deleted
            )
        )
        rows = [row for row in bulk.raw_rows(self.connection, query) if row[0] in self.index]
        if not rows:
            return health_book.Messages()
        account, at, direction, automated, first_in, first_out = zip(*rows, strict=True)
        return health_book.Messages(
            account=np.array([self.index[a] for a in account], dtype=np.int64),
            at=np.array(at, dtype=np.int64),
            inbound=np.array([d == INBOUND for d in direction], dtype=bool),
            automated=np.array(automated, dtype=bool),
            first_inbound=_instants(first_in),
            first_outbound=_instants(first_out),
        )

    def _talks(self, since: datetime) -> list[tuple[str, datetime]]:
        """Calls, meetings and EBRs from `since` on: each is a two-way exchange."""
        query = select(Activity.account_id, Activity.at).where(
            Activity.kind.in_(sorted(health.EXCHANGE_ACTIVITIES)), Activity.at >= since
        )
        return [(account_id, at) for account_id, at in self.connection.execute(query)]

    def _surveys(self) -> list[SurveyResponse]:
        query = select(Survey.account_id, Survey.at, Survey.kind, Survey.score)
        return [SurveyResponse(*row) for row in self.connection.execute(query)]

    def _requests(self) -> tuple[health_book.Requests, _OpenRequests]:
        columns = REQUESTS.c
        micros = functools.partial(bulk.micros, self.connection)
        query = select(
            columns.account_id,
            micros(columns.opened_at),
            micros(columns.first_response_at),
            columns.response_breached,
            micros(columns.first_response_due),
            micros(columns.resolved_at),
            columns.schedule_id,
        )
        rows = bulk.raw_rows(self.connection, query)
        account, opened, answered, breached, due, resolved, schedule = (
            (list(column) for column in zip(*rows, strict=True))
            if rows
            else ([], [], [], [], [], [], [])
        )
        requests = health_book.Requests(
            account=np.array([self.index.get(a, -1) for a in account], dtype=np.int64),
            opened=_instants(opened),
            answered=_instants(answered),
            within_sla=np.array([not b for b in breached], dtype=bool),  # None: not timed yet
            due=_instants(due),
        )
        return requests, _OpenRequests.of(requests, _instants(resolved), schedule)

    def _open_issue_counts(self, moments: list[int]) -> Iterator[np.ndarray]:
        if not moments:
            return
        waiting = self.open_requests.open_during(moments[0], moments[-1])
        for moment in moments:
            yield waiting.over_one_business_day(moment, self.calendars, len(self.ids))


class _OpenRequests:
    """Requests by the schedule their clock runs on, for counting the ones still open."""

    def __init__(self, groups: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        self.groups = groups  # schedule id -> (opened, resolved, account index)

    @classmethod
    def of(
        cls, requests: health_book.Requests, resolved: np.ndarray, schedule: list[str | None]
    ) -> _OpenRequests:
        rows: dict[str, list[int]] = defaultdict(list)
        for i, schedule_id in enumerate(schedule):
            rows[schedule_id or ALWAYS_OPEN].append(i)
        return cls(
            {
                schedule_id: (
                    requests.opened[members],
                    resolved[members],
                    requests.account[members],
                )
                for schedule_id, members in ((k, np.array(v)) for k, v in rows.items())
            }
        )

    def open_during(self, first: int, last: int) -> _OpenRequests:
        """Only the requests open at some moment in [first, last]: most requests of a year
        were resolved long before, and each day need not look at them again."""
        kept = {}
        for schedule_id, (opened, resolved, account) in self.groups.items():
            some = (opened <= last) & ((resolved == NONE) | (resolved > first)) & (account >= 0)
            kept[schedule_id] = (opened[some], resolved[some], account[some])
        return _OpenRequests(kept)

    def over_one_business_day(self, moment: int, calendars: Calendars, accounts: int) -> np.ndarray:
        """Per account, the requests open at `moment` for more than one business day."""
        counts = np.zeros(accounts, dtype=np.int64)
        for schedule_id, (opened, resolved, account) in self.groups.items():
            waiting = (opened <= moment) & ((resolved == NONE) | (resolved > moment))
            if not waiting.any():
                continue
            starts = opened[waiting]
            days = calendars[schedule_id].business_days_between(
                starts, np.full_like(starts, moment)
            )
            counts += np.bincount(account[waiting][days > 1], minlength=accounts)
        return counts


def _micros_or_none(at: datetime | None) -> int:
    return NONE if at is None else to_micros(at)


def _instants(values: Sequence[int | None]) -> np.ndarray:
    return np.array([NONE if v is None else v for v in values], dtype=np.int64)


def _overrides(session: Session, as_of: datetime) -> dict[str, health.Override]:
    """The override in force for each account at `as_of`: added by then and not expired
    (the latest added, when several are)."""
    rows = session.scalars(
        select(HealthOverride)
        .where(HealthOverride.expires_at > as_of, HealthOverride.created_at <= as_of)
        .order_by(HealthOverride.created_at, HealthOverride.id)
    )
    return {o.account_id: health.Override(o.band, o.reason, o.expires_at, o.by_id) for o in rows}


class OverrideRefused(health.HealthError):
    """An override that may not be added; `field` names the option at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


OVERRIDERS = ("manager", "admin")


def add_override(
    session: Session,
    account_id: str,
    band: str,
    reason: str,
    expires: date,
    *,
    by: str,
    now: datetime,
    timezone: str = "UTC",
) -> tuple[HealthOverride, bool]:
    """A manager's override of the band until `expires` (its first instant, company zone),
    PRODUCT.md 5. `by` must be a manager or an admin; the account must be active at `now`
    (a churned account has no health to override); the expiry after today (company zone).
    Idempotent: the same account, by, band, reason and expiry as an override still in force
    adds no second row; the existing one is returned with False (True: added)."""
    account = session.get(Account, account_id)
    if account is None:
        raise UnknownAccount(account_id)
    user = session.get(User, by)
    if user is None:
        raise OverrideRefused(f"no user {by!r}", "by")
    if user.role not in OVERRIDERS:
        raise OverrideRefused(f"{by!r} is a {user.role}: only a manager or an admin may", "by")
    override = health.Override.until(band, reason, expires, timezone, by)  # validates
    if expires <= today_in(now, timezone):
        raise OverrideRefused(f"{expires} is not after today", "expires")
    if not _active(session, account, now, timezone):
        raise OverrideRefused(f"account {account_id!r} has churned", "account")
    same = session.scalars(
        select(HealthOverride).where(
            HealthOverride.account_id == account_id,
            HealthOverride.by_id == by,
            HealthOverride.band == override.band,
            HealthOverride.reason == override.reason,
            HealthOverride.expires_at == override.expires_at,
        )
    ).first()
    if same is not None:
        return same, False
    row = HealthOverride(
        account_id=account_id,
        band=override.band,
        reason=override.reason,
        expires_at=override.expires_at,
        by_id=by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, True


def today_in(now: datetime, timezone: str) -> date:
    """The day `now` falls on in the company zone."""
    return now.astimezone(ZoneInfo(timezone)).date()


def _active(session: Session, account: Account, now: datetime, timezone: str) -> bool:
    """Whether the account is active at `now` (domain.timeline: started, not churned, or
    back since a later `mrr` line above zero; PRODUCT.md 4)."""
    churns = session.scalars(select(Churn.at).where(Churn.account_id == account.id))
    paid = session.scalars(select(MrrRow.at).where(MrrRow.account_id == account.id, MrrRow.mrr > 0))
    return Lifecycle.of(day_start(account.started, timezone), churns, paid).active_at(now)


def _latest_day(session: Session, account_id: str, today: date) -> date | None:
    query = select(func.max(HealthSnapshot.day)).where(
        HealthSnapshot.account_id == account_id, HealthSnapshot.day <= today
    )
    return session.scalar(query)


def _no_snapshot(account_id: str) -> dict[str, Any]:
    empty = ("day", "score", "band", "computed_band", "trend_30d", "override")
    return {"account_id": account_id, **dict.fromkeys(empty), "measures": {}}


def account_health(
    session: Session,
    account_id: str,
    now: datetime,
    timezone: str = "UTC",
    day: date | None = None,
) -> dict[str, Any]:
    """The document of `GET /api/accounts/{id}/health` and `keepwell health show`: the
    account's snapshot of `day` (default: the latest up to today, company zone), its 30-day
    trend, the override in force and every measure's value, weight and points under the
    weights of that day's run (PRODUCT.md 5). The override is read at the moment asked:
    `now` for the latest snapshot; for a given day, the end of that day (or `now`, if that
    day has not ended), so an override added or expired since the last recompute shows at
    once. UnknownAccount for an account that does not exist; an account without that
    snapshot gets a document of None values (`day` None)."""
    if session.get(Account, account_id) is None:
        raise UnknownAccount(account_id)
    last = day if day is not None else _latest_day(session, account_id, today_in(now, timezone))
    if last is None:
        return _no_snapshot(account_id)
    query = (
        select(HealthSnapshot)
        .where(HealthSnapshot.account_id == account_id, HealthSnapshot.day <= last)
        .where(HealthSnapshot.day >= last - timedelta(days=45))
        .order_by(HealthSnapshot.day)
    )
    snapshots = session.scalars(query).all()
    if not snapshots or snapshots[-1].day != last:
        return _no_snapshot(account_id)
    latest = snapshots[-1]
    history = {s.day: s.score for s in snapshots if s.score is not None}
    moment = now if day is None else min(now, day_start(day + DAY, timezone))
    override = _overrides(session, moment).get(account_id)
    weights = session.get_one(HealthRun, latest.day).weights
    values = {m: getattr(latest, m) for m in health.MEASURES}
    _, contributions = health.score_measures(values, weights)
    return {
        "account_id": account_id,
        "day": latest.day.isoformat(),
        "score": latest.score,
        "band": override.band if override else latest.band,
        "computed_band": latest.band,
        "trend_30d": health.trend(history, latest.day),
        "override": override.to_json() if override else None,
        "measures": {c.measure: c.to_json() for c in contributions},
    }
