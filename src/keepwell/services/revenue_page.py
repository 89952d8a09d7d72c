"""`/revenue` (issue 14 §3, PRODUCT.md 6): a month's revenue and retention with its trailing
twelve months, month by month, the breakdowns by CSM, team and segment, NPS and CSAT by month
and the responses behind them. The figures are those of `keepwell revenue` and `keepwell nps`
for the same month: this module gathers them (services.revenue computes), and adds the names
the page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from keepwell.domain import nps, revenue
from keepwell.domain.months import last_closed_month
from keepwell.services.revenue import Money, RevenueBook, SurveyBook, months_ending
from keepwell.store.models import Account, Contact, Survey, User

MONTHS = 12
# key, column title, the words "by ..." take
GROUPINGS = (
    ("csm", "CSM", "CSM"),
    ("team", "Team (manager)", "team"),
    ("segment", "Segment", "segment"),
)


def default_month(now: datetime, timezone: str) -> str:
    """The month the page opens on: the last complete month in the company zone (the
    current one is still moving)."""
    return last_closed_month(now, timezone)


@dataclass(frozen=True)
class RevenuePage:
    month: str
    months: list[str]  # the trailing months shown, oldest first, ending with `month`
    report: dict[str, Any]  # `keepwell revenue --month M --details --json`
    by_month: list[dict[str, Any]]  # `keepwell revenue --month m --json` for each month
    surveys: dict[str, Any]  # `keepwell nps --month M --details --json`
    surveys_by_month: list[dict[str, Any]]  # `keepwell nps --month m --json` for each
    names: dict[str, str]  # user id -> name, for the CSM and team groups

    @property
    def currency(self) -> str:
        return str(self.report["currency"])

    def group_name(self, key: str) -> str:
        return self.names.get(key, key)


def revenue_page(session: Session, month: str, money: Money) -> RevenuePage:
    """Everything `/revenue?month=M` shows; MissingRateError names a currency without a
    rate, as the CLI's report does."""
    months = months_ending(month, MONTHS)
    books = RevenueBook(session, money)
    surveys = SurveyBook(session, money.timezone, books.book)
    report = books.report(month)
    the_month = {k: v for k, v in report.items() if k not in ("trailing_12_months", "by")}
    return RevenuePage(
        month=month,
        months=months,
        report=report,
        by_month=[*books.months(months[:-1]), the_month],  # the month itself: computed once
        surveys=surveys.report(month),
        surveys_by_month=surveys.months(months),
        names={user_id: name for user_id, name in session.execute(select(User.id, User.name))},
    )


def movements_chart(session: Session, month: str, money: Money) -> list[dict[str, Any]]:
    """The trailing months' movements the stacked chart draws."""
    return RevenueBook(session, money).months(months_ending(month, MONTHS))


@dataclass(frozen=True)
class Response:
    id: str
    at: datetime
    account_id: str
    account_name: str
    contact_name: str | None
    kind: str  # nps | csat
    score: int
    category: str  # promoter, passive, detractor; satisfied, neutral, dissatisfied
    comment: str | None  # client text: the page escapes it


def responses(session: Session, month: str, timezone: str) -> list[Response]:
    """The NPS and CSAT responses stamped in `month` (company zone), latest first: the
    ones the month's NPS and CSAT count."""
    start = revenue.month_start(month, timezone)
    end = revenue.month_start(revenue.shift_month(month, 1), timezone)
    rows = session.execute(
        select(Survey, Account.name, Contact.name)
        .join(Account, Account.id == Survey.account_id)
        .outerjoin(Contact, Contact.id == Survey.contact_id)
        .where(Survey.at >= start, Survey.at < end, Survey.kind.in_((nps.NPS, nps.CSAT)))
        .order_by(Survey.at.desc(), Survey.id)
    ).all()
    return [
        Response(
            id=survey.id,
            at=survey.at,
            account_id=survey.account_id,
            account_name=account,
            contact_name=contact,
            kind=survey.kind,
            score=survey.score,
            category=_category(survey.kind, survey.score),
            comment=survey.comment,
        )
        for survey, account, contact in rows
    ]


def _category(kind: str, score: int) -> str:
    return nps.nps_category(score) if kind == nps.NPS else nps.csat_category(score)
