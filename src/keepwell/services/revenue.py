"""Revenue, retention and NPS reports (PRODUCT.md 6): load the book, call the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from keepwell.domain import nps, revenue
from keepwell.domain.months import FIRST_MONTH
from keepwell.services.book import Book, load_book
from keepwell.services.rates import rates_in_force
from keepwell.store.models import Survey


@dataclass(frozen=True)
class Money:
    """How a report converts amounts: the company zone, the base currency, and the rates of
    the environment (`KEEPWELL_EXCHANGE_RATES`), which override the book's stored ones."""

    timezone: str = "UTC"
    base_currency: str = "USD"
    rate_overrides: dict[str, Decimal] = field(default_factory=dict)


class RevenueBook:
    """The book loaded once for several revenue figures (the page of twelve months reads
    it once, not thirteen times)."""

    def __init__(self, session: Session, money: Money) -> None:
        self.book = load_book(session)
        self.money = money
        self.accounts = self.book.revenue_accounts(money.timezone)
        self.rates = rates_in_force(session, money.rate_overrides)

    def report(self, month: str) -> dict[str, Any]:
        """`revenue_report` of `month`."""
        accounts, tz, rates = self.accounts, self.money.timezone, self.rates
        base = self.money.base_currency
        groups = self.book.groupings(revenue.month_start(month, tz))
        month_figures = revenue.movements(accounts, month, tz, base_currency=base, rates=rates)
        trailing = revenue.trailing_12_months(accounts, month, tz, base_currency=base, rates=rates)
        by = {
            name: _keyed(
                revenue.movements_by_group(
                    accounts, month, mapping, tz, base_currency=base, rates=rates
                )
            )
            for name, mapping in groups.items()
        }
        return {**month_figures.to_json(), "trailing_12_months": trailing.to_json(), "by": by}

    def months(self, months: list[str]) -> list[dict[str, Any]]:
        """Each month's movements, NRR, GRR and logo churn: for each, the figures of
        `keepwell revenue --month M --json` (the report without the breakdowns)."""
        return [
            revenue.movements(
                self.accounts, month, self.money.timezone,
                base_currency=self.money.base_currency, rates=self.rates,
            ).to_json()
            for month in months
        ]  # fmt: skip


def revenue_report(session: Session, month: str, money: Money) -> dict[str, Any]:
    """Month `month`: the book's movements, the trailing 12 months, and the breakdowns by
    CSM and team (owner at the month's start) and by segment. Amounts over several
    currencies convert at the book's rates, overridden by the environment's (MissingRateError
    names a currency without one)."""
    return RevenueBook(session, money).report(month)


class SurveyBook:
    """The survey responses and the book's groupings, loaded once for several months."""

    def __init__(self, session: Session, timezone: str, book: Book | None = None) -> None:
        self.book = book if book is not None else load_book(session)
        self.timezone = timezone
        columns = select(Survey.account_id, Survey.at, Survey.kind, Survey.score)
        self.responses = [nps.SurveyResponse(*row) for row in session.execute(columns)]

    def report(self, month: str) -> dict[str, Any]:
        """`nps_report` of `month`."""
        tz, responses = self.timezone, self.responses
        groups = self.book.groupings(revenue.month_start(month, tz))
        by = {
            name: _keyed(nps.nps_by_group(responses, month, mapping, tz))
            for name, mapping in groups.items()
        }
        csat = nps.monthly_csat(responses, month, tz).to_json()
        return {**nps.monthly_nps(responses, month, tz).to_json(), "csat": csat, "by": by}

    def months(self, months: list[str]) -> list[dict[str, Any]]:
        """Each month's NPS and CSAT: for each, the figures of `keepwell nps --month M
        --json` (the report without the breakdowns)."""
        return [
            {
                **nps.monthly_nps(self.responses, month, self.timezone).to_json(),
                "csat": nps.monthly_csat(self.responses, month, self.timezone).to_json(),
            }
            for month in months
        ]


def nps_report(session: Session, month: str, timezone: str) -> dict[str, Any]:
    """NPS (and CSAT) of `month` in the company zone, by CSM, team and segment."""
    return SurveyBook(session, timezone).report(month)


def months_ending(month: str, count: int = 12) -> list[str]:
    """The `count` months ending with `month`, oldest first, none before the first month a
    report can count (domain.months)."""
    months = [revenue.shift_month(month, offset) for offset in range(1 - count, 1)]
    return [m for m in months if m >= FIRST_MONTH]


def _keyed(results: dict[str | None, Any]) -> dict[str, Any]:
    return {"(none)" if key is None else key: r.to_json() for key, r in results.items()}
