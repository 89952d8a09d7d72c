"""The team pages (issue 14 §1): a month's scorecards of every CSM beside the month before, a
figure's evidence as records a manager can read, a CSM's twelve months.

The figures are `services.scorecard`'s, computed as `keepwell scorecard` computes them (same
months, same moment, same targets); this module only gathers what the pages show around
them: names, the stored requests behind a figure, the reviews.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from keepwell.domain import scorecard as sc
from keepwell.domain.targets import (
    CRM_HYGIENE,
    DEFAULT_TARGETS,
    INDEPENDENCE,
    METRICS,
    PROACTIVITY,
    RESOLUTION_TIME,
    RESPONSE_TIME,
    RETENTION,
    SELF_AWARENESS,
    TESTIMONIALS,
    Targets,
)
from keepwell.services.reviews import MonthReviews, month_reviews
from keepwell.services.scorecard import history, scorecards, scorecards_of_months
from keepwell.store.models import Account, Request, User

HISTORY_MONTHS = 12
# What each metric's figure was computed from, and what the page says when there is none.
EVIDENCE_OF = {
    RETENTION: "accounts",
    RESPONSE_TIME: "requests",
    RESOLUTION_TIME: "requests",
    INDEPENDENCE: "requests",
    PROACTIVITY: "account_weeks",
    TESTIMONIALS: "accounts",
    CRM_HYGIENE: "account_days",
    SELF_AWARENESS: "ratings",
}
NOTHING = {
    RETENTION: "no account of theirs was active on the month's first day",
    RESPONSE_TIME: "no request was opened on their accounts this month",
    RESOLUTION_TIME: "no request was opened on their accounts this month",
    INDEPENDENCE: "no request was opened on their accounts this month",
    PROACTIVITY: "no week starting this month began with an active account of theirs",
    TESTIMONIALS: "no account of theirs was active for 90 days at the month's end",
    CRM_HYGIENE: "no working day of theirs with an active account has begun",
    SELF_AWARENESS: "the self-review and the manager review are not both written",
}


@dataclass(frozen=True)
class TeamRow:
    csm: str
    name: str
    card: sc.Scorecard
    previous: sc.Scorecard | None


@dataclass(frozen=True)
class TeamView:
    month: str
    previous_month: str
    as_of: datetime
    rows: list[TeamRow]


def team_view(
    session: Session,
    month: str,
    as_of: datetime,
    *,
    targets: Targets = DEFAULT_TARGETS,
    company_timezone: str = "UTC",
) -> TeamView:
    """Every CSM's scorecard of `month` at `as_of`, each with the month before (scored at the
    same moment). sc.ScorecardError when the month has not begun."""
    before = sc.previous_month(month)
    cards = scorecards_of_months(
        session, [before, month], as_of, targets=targets, company_timezone=company_timezone
    )
    previous = {card.csm: without_evidence(card) for card in cards[before]}
    names = _names(session, [card.csm for card in cards[month]])
    rows = [
        TeamRow(
            card.csm, names.get(card.csm, card.csm), without_evidence(card), previous.get(card.csm)
        )
        for card in cards[month]
    ]
    return TeamView(month, before, as_of, rows)


@dataclass(frozen=True)
class RequestRow:
    """A request behind a figure, with its business times as the scorecard counted them."""

    facts: sc.RequestFacts
    account_name: str
    first_response_at: datetime | None
    resolved_at: datetime | None
    escalated_at: datetime | None


@dataclass(frozen=True)
class EvidenceView:
    csm: str
    name: str
    month: str
    as_of: datetime
    card: sc.Scorecard
    metric: sc.MetricResult
    accounts: dict[str, str]  # account id → name, for every account listed
    requests: list[RequestRow]
    reviews: MonthReviews | None

    @property
    def kind(self) -> str:
        return EVIDENCE_OF[self.metric.key]

    @property
    def empty_reason(self) -> str | None:
        return NOTHING[self.metric.key] if self.metric.value is None else None


def evidence_view(
    session: Session,
    csm: User,
    month: str,
    metric: str,
    as_of: datetime,
    *,
    targets: Targets = DEFAULT_TARGETS,
    company_timezone: str = "UTC",
) -> EvidenceView:
    """One figure of a CSM's month and the records it was computed from (PRODUCT.md 4: "Every
    figure links to the requests, accounts and days it was computed from")."""
    if metric not in METRICS:
        raise KeyError(metric)
    (card,) = scorecards(
        session, month, as_of, csm_id=csm.id, targets=targets, company_timezone=company_timezone
    )
    result = card.metrics[metric]
    evidence = result.evidence
    ids = {r.account_id for r in evidence.requests} | {a.account_id for a in evidence.accounts}
    if metric == PROACTIVITY:
        ids |= {w.account_id for w in evidence.account_weeks}
    if metric == CRM_HYGIENE:
        ids |= {d.account_id for d in evidence.account_days}
    accounts = _account_names(session, ids)
    requests = _request_rows(session, evidence.requests, accounts)
    reviews = month_reviews(session, csm, month) if metric == SELF_AWARENESS else None
    return EvidenceView(csm.id, csm.name, month, as_of, card, result, accounts, requests, reviews)


@dataclass(frozen=True)
class CsmView:
    csm: User
    month: str
    as_of: datetime
    cards: list[sc.Scorecard]  # oldest first, up to `month`
    reviews: MonthReviews

    @property
    def card(self) -> sc.Scorecard | None:
        """The scorecard of `month` itself (None when it has not begun)."""
        return self.cards[-1] if self.cards and self.cards[-1].month == self.month else None


def csm_view(
    session: Session,
    csm: User,
    month: str,
    as_of: datetime,
    *,
    targets: Targets = DEFAULT_TARGETS,
    company_timezone: str = "UTC",
) -> CsmView:
    """A CSM's last twelve months up to `month` and their reviews of `month`."""
    cards = csm_history(
        session, csm, month, as_of, targets=targets, company_timezone=company_timezone
    )
    cards = [without_evidence(card) for card in cards]
    return CsmView(csm, month, as_of, cards, month_reviews(session, csm, month))


def csm_history(
    session: Session,
    csm: User,
    month: str,
    as_of: datetime,
    *,
    targets: Targets = DEFAULT_TARGETS,
    company_timezone: str = "UTC",
) -> list[sc.Scorecard]:
    """The CSM's scorecards of the twelve months up to `month`, those begun at `as_of`."""
    return history(
        session, csm.id, month, as_of, HISTORY_MONTHS,
        targets=targets, company_timezone=company_timezone,
    )  # fmt: skip


def without_evidence(card: sc.Scorecard) -> sc.Scorecard:
    """The card without what its figures were computed from: what a page keeps (in the page
    cache) when it shows figures only; the evidence holds the month's records."""
    metrics = {key: replace(m, evidence=sc.Evidence()) for key, m in card.metrics.items()}
    return replace(card, metrics=MappingProxyType(metrics))


def team_members(session: Session) -> list[User]:
    """The CSMs, by id (the order of the scorecards)."""
    return list(session.scalars(select(User).where(User.role == "csm").order_by(User.id)))


def _names(session: Session, ids: Sequence[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(set(ids))))
    return {user_id: name for user_id, name in rows}


def _account_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(select(Account.id, Account.name).where(Account.id.in_(ids)))
    return {account_id: name for account_id, name in rows}


def _request_rows(
    session: Session, requests: Sequence[sc.RequestFacts], names: dict[str, str]
) -> list[RequestRow]:
    """The stored instants of the requests (shown up to the scorecard's moment only)."""
    if not requests:
        return []
    ids = [r.id for r in requests]
    query = select(
        Request.id, Request.first_response_at, Request.resolved_at, Request.escalated_at
    ).where(Request.id.in_(ids))
    stored: dict[str, Any] = {row[0]: row for row in session.execute(query)}
    out = []
    for facts in requests:
        _, first, resolved, escalated = stored.get(facts.id, (facts.id, None, None, None))
        out.append(
            RequestRow(
                facts,
                names.get(facts.account_id, facts.account_id),
                first if facts.answered else None,
                resolved if facts.resolved else None,
                escalated if facts.escalated else None,
            )
        )
    return out


def weeks_of(rows: Sequence[sc.AccountWeek]) -> dict[date, list[sc.AccountWeek]]:
    """Account-weeks by week, in order."""
    out: dict[date, list[sc.AccountWeek]] = {}
    for row in rows:
        out.setdefault(row.week_start, []).append(row)
    return out
