"""Account health (PRODUCT.md 5): daily snapshots for every active account, the 30-day
trend, the contribution of every measure, and manager overrides."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from keepwell.domain import health
from keepwell.domain.hours import to_micros
from keepwell.domain.nps import SurveyResponse
from keepwell.domain.revenue import contractions_of, day_start, is_active
from keepwell.services.book import load_book
from keepwell.services.schedules import ALWAYS_OPEN, Calendars, load_schedules
from keepwell.store import bulk
from keepwell.store.models import (
    Base,
    HealthOverride,
    HealthSnapshot,
    Request,
    Survey,
)

SNAPSHOTS = Base.metadata.tables["health_snapshots"]


class UnknownAccount(LookupError):
    pass


@dataclass(frozen=True)
class HealthSummary:
    day: date
    accounts: int
    bands: dict[str, int]


def recompute_health(
    session: Session,
    day: date,
    *,
    timezone: str = "UTC",
    weights: Mapping[str, float] = health.DEFAULT_WEIGHTS,
) -> HealthSummary:
    """Every active account's health at the end of `day` (company zone), kept as that day's
    snapshot; a second run for the same day replaces it."""
    as_of = day_start(day + timedelta(days=1), timezone)
    scores = _scores_at(session, as_of, timezone, weights)
    bands: dict[str, int] = defaultdict(int)
    rows = []
    for account_id, (_values, score) in scores.items():
        bands[score.band or "n/a"] += 1
        measures = {c.measure: c.to_json() for c in score.contributions}
        rows.append((account_id, day, score.score, score.computed_band, measures))
    session.execute(delete(HealthSnapshot).where(HealthSnapshot.day == day))
    bulk.insert_rows(
        session.connection(), SNAPSHOTS, ("account_id", "day", "score", "band", "measures"), rows
    )
    return HealthSummary(day, len(rows), dict(bands))


def _scores_at(
    session: Session, as_of: datetime, timezone: str, weights: Mapping[str, float]
) -> dict[str, tuple[dict[str, float | None], health.HealthScore]]:
    """Every account active at `as_of`: its measure values and its health score."""
    book = load_book(session)
    accounts = [a for a in book.revenue_accounts(timezone) if is_active(a, as_of)]
    facts = _Facts(session, as_of, [a.id for a in accounts])
    overrides = _overrides(session, as_of)
    out = {}
    for account in accounts:
        inputs = health.HealthInputs(
            as_of=as_of,
            requests=tuple(facts.outcomes.get(account.id, ())),
            last_two_way_at=facts.last_two_way.get(account.id),
            surveys=tuple(facts.surveys.get(account.id, ())),
            open_issues=facts.open_issues.get(account.id, 0),
            billing=health.BillingFacts(contractions=contractions_of(account)),
        )
        values = health.measure_values(inputs)
        out[account.id] = (values, health.assess(inputs, weights, overrides.get(account.id)))
    return out


def backtest_report(
    session: Session,
    today: date,
    *,
    quarters: int = 4,
    timezone: str = "UTC",
    weights: Mapping[str, float] = health.DEFAULT_WEIGHTS,
) -> dict[str, Any]:
    """How well the health at the start of each of the last `quarters` complete quarters
    predicted churn within it (ROC AUC, churn rate per band), and weights fitted on the
    book's own history with their back-tested AUC beside the current model's (PRODUCT.md 5)."""
    book = load_book(session)
    churns = {a: min(times) for a, times in book.churns.items() if times}
    score_samples, measure_samples = [], []
    for name, start, end in _past_quarters(today, quarters, timezone):
        for account_id, (values, score) in _scores_at(session, start, timezone, weights).items():
            churned = account_id in churns and start <= churns[account_id] < end
            measure_samples.append(health.MeasureSample(name, values, churned, account_id))
            if score.score is not None:
                sample = health.ScoreSample(name, score.score, churned, score.band, account_id)
                score_samples.append(sample)
    current = health.backtest(score_samples).to_json()
    try:
        fitted: dict[str, Any] | None = health.fit_weights(measure_samples).to_json()
    except health.FitError as exc:
        fitted = {"error": str(exc)}
    return {
        "quarters": [q for q, _, _ in _past_quarters(today, quarters, timezone)],
        "current_weights": dict(weights),
        "current": current,
        "fitted": fitted,
    }


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


class _Facts:
    """What the measures need, for all accounts at once."""

    def __init__(self, session: Session, as_of: datetime, account_ids: list[str]) -> None:
        self.as_of = as_of
        since = as_of - timedelta(days=30)
        requests = session.scalars(
            select(Request).where(
                Request.opened_at <= as_of,
                (Request.opened_at >= since)
                | Request.resolved_at.is_(None)
                | (Request.resolved_at > as_of),
            )
        ).all()
        self.outcomes = self._outcomes(requests, since)
        self.open_issues = self._open_issues(session, requests)
        self.last_two_way = dict(
            session.execute(
                select(Request.account_id, func.max(Request.first_response_at))
                .where(Request.first_response_at <= as_of)
                .group_by(Request.account_id)
            ).all()
        )
        self.surveys: dict[str, list[SurveyResponse]] = defaultdict(list)
        recent = select(Survey).where(Survey.at <= as_of, Survey.at >= as_of - timedelta(180))
        for s in session.scalars(recent):
            self.surveys[s.account_id].append(SurveyResponse(s.account_id, s.at, s.kind, s.score))

    def _outcomes(self, requests: Any, since: datetime) -> dict[str, list[health.SlaOutcome]]:
        """Answered within the SLA or not; a request still inside its SLA is left out."""
        out: dict[str, list[health.SlaOutcome]] = defaultdict(list)
        for r in requests:
            if r.opened_at < since:
                continue
            answered = r.first_response_at is not None and r.first_response_at <= self.as_of
            if answered:
                out[r.account_id].append(health.SlaOutcome(r.opened_at, not r.response_breached))
            elif r.first_response_due is not None and r.first_response_due <= self.as_of:
                out[r.account_id].append(health.SlaOutcome(r.opened_at, False))
        return out

    def _open_issues(self, session: Session, requests: Any) -> dict[str, int]:
        """Requests open at `as_of` for longer than one business day of their clock."""
        calendars = Calendars(load_schedules(session))
        waiting = [r for r in requests if r.resolved_at is None or r.resolved_at > self.as_of]
        groups: dict[str, list[Request]] = defaultdict(list)
        for r in waiting:
            groups[r.schedule_id or ALWAYS_OPEN].append(r)
        counts: dict[str, int] = defaultdict(int)
        end = to_micros(self.as_of)
        for schedule_id, members in groups.items():
            starts = np.array([to_micros(r.opened_at) for r in members], dtype=np.int64)
            days = calendars[schedule_id].business_days_between(starts, np.full_like(starts, end))
            for r, open_days in zip(members, days, strict=True):
                if open_days > 1:
                    counts[r.account_id] += 1
        return counts


def _overrides(session: Session, as_of: datetime) -> dict[str, health.Override]:
    rows = session.scalars(
        select(HealthOverride)
        .where(HealthOverride.expires_at > as_of, HealthOverride.created_at <= as_of)
        .order_by(HealthOverride.created_at)
    )
    return {o.account_id: health.Override(o.band, o.reason, o.expires_at, o.by_id) for o in rows}


def add_override(
    session: Session,
    account_id: str,
    band: str,
    reason: str,
    expires: date,
    *,
    by: str | None,
    now: datetime,
    timezone: str = "UTC",
) -> HealthOverride:
    """A manager's override of the band until `expires` (its first instant, company zone)."""
    override = health.Override.until(band, reason, expires, timezone, by)  # validates
    if expires <= now.date():
        raise health.HealthError("expires: the expiry must be after today")
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
    return row


def account_health(
    session: Session, account_id: str, today: date, timezone: str = "UTC"
) -> dict[str, Any]:
    """The latest snapshot on or before `today`, its 30-day trend, the override in force."""
    snapshots = session.scalars(
        select(HealthSnapshot)
        .where(HealthSnapshot.account_id == account_id, HealthSnapshot.day <= today)
        .where(HealthSnapshot.day >= today - timedelta(days=45))
        .order_by(HealthSnapshot.day)
    ).all()
    if not snapshots:
        empty = ("day", "score", "band", "computed_band", "trend_30d", "override")
        return {"account_id": account_id, **dict.fromkeys(empty), "measures": {}}
    latest = snapshots[-1]
    history = {s.day: s.score for s in snapshots if s.score is not None}
    as_of = day_start(latest.day + timedelta(days=1), timezone)
    override = _overrides(session, as_of).get(account_id)
    return {
        "account_id": account_id,
        "day": latest.day.isoformat(),
        "score": latest.score,
        "band": override.band if override else latest.band,
        "computed_band": latest.band,
        "trend_30d": health.trend(history, latest.day),
        "override": override.to_json() if override else None,
        "measures": latest.measures,
    }
