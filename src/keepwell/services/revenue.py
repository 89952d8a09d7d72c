"""Revenue, retention and NPS reports (PRODUCT.md 6): load the book, call the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from keepwell.domain import nps, revenue
from keepwell.services.book import load_book, load_surveys
from keepwell.services.rates import rates_in_force


@dataclass(frozen=True)
class Money:
    """How a report converts amounts: the company zone, the base currency, and the rates of
    the environment (`KEEPWELL_EXCHANGE_RATES`), which override the book's stored ones."""

    timezone: str = "UTC"
    base_currency: str = "USD"
    rate_overrides: dict[str, Decimal] = field(default_factory=dict)


def revenue_report(session: Session, month: str, money: Money) -> dict[str, Any]:
    """Month `month`: the book's movements, the trailing 12 months, and the breakdowns by
    CSM and team (owner at the month's start) and by segment. Amounts over several
    currencies convert at the book's rates, overridden by the environment's (MissingRateError
    names a currency without one)."""
    book = load_book(session)
    accounts = book.revenue_accounts(money.timezone)
    tz, base = money.timezone, money.base_currency
    rates = rates_in_force(session, money.rate_overrides)
    groups = book.groupings(revenue.month_start(month, tz))
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


def nps_report(session: Session, month: str, timezone: str) -> dict[str, Any]:
    """NPS (and CSAT) of `month` in the company zone, by CSM, team and segment."""
    book = load_book(session)
    responses = [
        nps.SurveyResponse(s.account_id, s.at, s.kind, s.score) for s in load_surveys(session)
    ]
    groups = book.groupings(revenue.month_start(month, timezone))
    by = {
        name: _keyed(nps.nps_by_group(responses, month, mapping, timezone))
        for name, mapping in groups.items()
    }
    csat = nps.monthly_csat(responses, month, timezone).to_json()
    return {**nps.monthly_nps(responses, month, timezone).to_json(), "csat": csat, "by": by}


def _keyed(results: dict[str | None, Any]) -> dict[str, Any]:
    return {"(none)" if key is None else key: r.to_json() for key, r in results.items()}
