"""`/health` (issue 14 §2, PRODUCT.md 5): the book's band distribution on the latest health
run, the week's biggest drops, the overrides expiring soon, the accounts with no data for a
measure, and the back-test of `keepwell health backtest`.

The back-test replays a year of the book (a second or more on the demo book), so it is not
run per request: its report is kept in this process, keyed by what it depends on: the
database, the day (its quarters are the last complete ones before today), the zone, the
weights and a mark of the book (the health runs, the churns, the overrides, the surveys, the
MRR lines, the accounts). The daily recompute, an import of churns or a new override changes
the mark and the next request computes it again; otherwise it is computed once a day.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from keepwell.domain import health
from keepwell.services.health import backtest_report, today_in
from keepwell.services.ownership import owner_at
from keepwell.services.today import latest_run_day
from keepwell.store.models import (
    Account,
    Churn,
    HealthOverride,
    HealthRun,
    HealthSnapshot,
    MrrChange,
    Survey,
    User,
)

DROP_DAYS = 7
DROPS_SHOWN = 10
EXPIRING_DAYS = 14
NO_SCORE = "no score"
BANDS = (*health.BANDS, NO_SCORE)
QUARTERS = 4  # as `keepwell health backtest` by default


@dataclass(frozen=True)
class Drop:
    account_id: str
    name: str
    owner_name: str | None
    before: float  # the score DROP_DAYS before the run's day
    after: float  # the score on the run's day
    band: str | None

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class Expiring:
    account_id: str
    name: str
    band: str  # the override's
    computed_band: str | None  # the latest run's, beside it
    reason: str
    expires_at: datetime
    by_name: str | None


@dataclass(frozen=True)
class Unmeasured:
    account_id: str
    name: str


@dataclass(frozen=True)
class HealthPage:
    day: date | None  # the latest health run up to today; None: never run
    bands: list[tuple[str, int]]  # every band (and "no score") with its accounts
    drops: list[Drop]
    expiring: list[Expiring]
    no_data: dict[str, list[Unmeasured]]  # measure -> accounts without data for it
    backtest: dict[str, Any]  # `keepwell health backtest --json` of today

    @property
    def accounts(self) -> int:
        return sum(count for _, count in self.bands)


def health_page(
    session: Session, now: datetime, timezone: str, weights: Mapping[str, float]
) -> HealthPage:
    """Everything `/health` shows at `now`."""
    today = today_in(now, timezone)
    day = latest_run_day(session, today)
    return HealthPage(
        day=day,
        bands=band_distribution(session, day),
        drops=_drops(session, day, now),
        expiring=_expiring(session, now, day),
        no_data=_no_data(session, day),
        backtest=cached_backtest(session, today, timezone, weights, now),
    )


def band_distribution(session: Session, day: date | None) -> list[tuple[str, int]]:
    """How many accounts the run of `day` put in each band (computed, as the accounts list
    filters by), and how many it could not score."""
    counts: Counter[str] = Counter()
    if day is not None:
        query = (
            select(HealthSnapshot.band, func.count())
            .where(HealthSnapshot.day == day)
            .group_by(HealthSnapshot.band)
        )
        for band, count in session.execute(query):
            counts[band or NO_SCORE] += count
    return [(band, counts[band]) for band in BANDS]


def latest_bands(session: Session, now: datetime, timezone: str) -> list[tuple[str, int]]:
    """The band distribution of the latest run up to today: what the chart draws."""
    return band_distribution(session, latest_run_day(session, today_in(now, timezone)))


def _drops(session: Session, day: date | None, now: datetime) -> list[Drop]:
    """The accounts whose score fell most from DROP_DAYS before the run's day to it."""
    if day is None:
        return []
    after, before = aliased(HealthSnapshot), aliased(HealthSnapshot)
    owner = aliased(User)
    fall = after.score - before.score
    rows = session.execute(
        select(Account.id, Account.name, owner.name, before.score, after.score, after.band)
        .join(after, (after.account_id == Account.id) & (after.day == day))
        .join(before, (before.account_id == Account.id)
              & (before.day == day - timedelta(days=DROP_DAYS)))
        .outerjoin(owner, owner.id == owner_at(now))
        .where(after.score.is_not(None), before.score.is_not(None), fall < 0)
        .order_by(fall, Account.name, Account.id)
        .limit(DROPS_SHOWN)
    ).all()  # fmt: skip
    return [
        Drop(account_id, name, owner, float(before_score), float(after_score), band)
        for account_id, name, owner, before_score, after_score, band in rows
        if before_score is not None and after_score is not None
    ]


def _expiring(session: Session, now: datetime, day: date | None) -> list[Expiring]:
    """The overrides in force at `now` (the latest added for each account, as the health
    of an account reads them) that expire within EXPIRING_DAYS, soonest first."""
    in_force = session.scalars(
        select(HealthOverride)
        .where(HealthOverride.expires_at > now, HealthOverride.created_at <= now)
        .order_by(HealthOverride.created_at, HealthOverride.id)
    ).all()
    latest = {override.account_id: override for override in in_force}
    soon = [o for o in latest.values() if o.expires_at <= now + timedelta(days=EXPIRING_DAYS)]
    if not soon:
        return []
    ids = [o.account_id for o in soon]
    names = {
        i: n
        for i, n in session.execute(select(Account.id, Account.name).where(Account.id.in_(ids)))
    }
    users = {user_id: name for user_id, name in session.execute(select(User.id, User.name))}
    computed: dict[str, str | None] = {}
    if day is not None:
        rows = session.execute(
            select(HealthSnapshot.account_id, HealthSnapshot.band).where(
                HealthSnapshot.day == day, HealthSnapshot.account_id.in_(ids)
            )
        )
        computed = {account_id: band for account_id, band in rows}
    found = [
        Expiring(o.account_id, names.get(o.account_id, o.account_id), o.band,
                 computed.get(o.account_id), o.reason, o.expires_at,
                 users.get(o.by_id) if o.by_id else None)
        for o in soon
    ]  # fmt: skip
    return sorted(found, key=lambda e: (e.expires_at, e.name))


def _no_data(session: Session, day: date | None) -> dict[str, list[Unmeasured]]:
    """For every measure, the accounts of the run of `day` that had no data for it (the
    measure is left out of their score and the weights renormalized, PRODUCT.md 5)."""
    found: dict[str, list[Unmeasured]] = {measure: [] for measure in health.MEASURES}
    if day is None:
        return found
    columns = [getattr(HealthSnapshot, measure) for measure in health.MEASURES]
    rows = session.execute(
        select(Account.id, Account.name, *columns)
        .join(HealthSnapshot, HealthSnapshot.account_id == Account.id)
        .where(HealthSnapshot.day == day)
        .order_by(Account.name, Account.id)
    )
    for account_id, name, *values in rows:
        for measure, value in zip(health.MEASURES, values, strict=True):
            if value is None:
                found[measure].append(Unmeasured(account_id, name))
    return found


# -- the back-test, kept per day and book

_KEPT = 8  # reports kept (several databases in one process: the tests)
_kept: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_computing = threading.Lock()


def cached_backtest(
    session: Session,
    today: date,
    timezone: str,
    weights: Mapping[str, float],
    now: datetime,
) -> dict[str, Any]:
    """`backtest_report` of `today` (the report of `keepwell health backtest --json`),
    computed once for a day and a book (see the module's docstring). One request computes
    it; others asking for the same meanwhile wait for its result."""
    key = (
        session.get_bind().engine.url.render_as_string(hide_password=True),
        today,
        timezone,
        tuple(sorted(weights.items())),
        _book_mark(session),
    )
    with _computing:
        report = _kept.get(key)
        if report is None:
            report = backtest_report(
                session, today, quarters=QUARTERS, timezone=timezone, weights=weights, now=now
            )
            _kept[key] = report
            while len(_kept) > _KEPT:
                _kept.popitem(last=False)
        else:
            _kept.move_to_end(key)
    return report


def forget_backtests() -> None:
    """Drop every kept back-test (after a change the book's mark does not see)."""
    with _computing:
        _kept.clear()


def _book_mark(session: Session) -> tuple[Any, ...]:
    """What changes when the back-test's inputs change in the ways that matter: the health
    runs (the daily recompute), churns, overrides, surveys, MRR lines and accounts. One
    statement of counts and maxima over small tables."""
    marks = [
        select(func.max(HealthRun.day)).scalar_subquery(),
        select(func.count()).select_from(HealthRun).scalar_subquery(),
        select(func.sum(HealthRun.accounts)).scalar_subquery(),
        select(func.count()).select_from(Churn).scalar_subquery(),
        select(func.max(Churn.at)).scalar_subquery(),
        select(func.count()).select_from(HealthOverride).scalar_subquery(),
        select(func.max(HealthOverride.created_at)).scalar_subquery(),
        select(func.count()).select_from(Survey).scalar_subquery(),
        select(func.max(Survey.at)).scalar_subquery(),
        select(func.count()).select_from(MrrChange).scalar_subquery(),
        select(func.count()).select_from(Account).scalar_subquery(),
    ]
    row = session.execute(select(*marks)).one()
    return tuple(str(value) for value in row)
