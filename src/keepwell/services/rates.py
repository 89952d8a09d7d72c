"""Exchange rates into the base currency (PRODUCT.md 6): the book's own, stored with it and
set by the admin, and the environment's `KEEPWELL_EXCHANGE_RATES`, which override them per
currency. Every report that converts money takes its rates from `rates_in_force`.

A rate is the price of one unit of the currency in the base currency: with a USD base,
EUR 1.08 means one euro is worth 1.08 dollars.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from keepwell.store.models import ExchangeRate

BOOK = "book"
ENVIRONMENT = "environment"
PLACES = Decimal("0.00000001")  # the column keeps 8 decimal places
LIMIT = Decimal(10) ** 10  # and 10 digits before the point


class RateError(ValueError):
    """A currency code or a rate that cannot be stored; the message names which."""


@dataclass(frozen=True)
class Rate:
    currency: str
    rate: Decimal
    source: str  # BOOK | ENVIRONMENT (an environment rate hides the book's)
    set_at: datetime | None  # when the admin set it; None for the environment's

    @property
    def text(self) -> str:
        """The rate as people write it, never in exponent form: "0.00000001", "1.08"."""
        return f"{self.rate:f}"


def parse_currency(value: str, base: str) -> str:
    """A three-letter currency code, upper-cased; not the base currency, which needs none."""
    code = value.strip().upper()
    if len(code) != 3 or not (code.isascii() and code.isalpha()):
        raise RateError(f"currency: not a three-letter code: {value!r}")
    if code == base.upper():
        raise RateError(f"currency: {code} is the base currency; it needs no rate")
    return code


def parse_rate(value: str | Decimal) -> Decimal:
    """A rate above zero, rounded to the 8 decimal places that are stored."""
    try:
        rate = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise RateError(f"rate: not a number: {value!r}") from None
    if not rate.is_finite():
        raise RateError(f"rate: not a number: {value!r}")
    if rate <= 0:
        raise RateError(f"rate: must be above zero, got {value}")
    if rate >= LIMIT:
        raise RateError(f"rate: too large, got {value}")
    rounded = _tidy(rate.quantize(PLACES))
    if rounded == 0:
        raise RateError(f"rate: below 0.00000001, got {value}")
    return rounded


def _tidy(rate: Decimal) -> Decimal:
    """Without trailing zeros and never in exponent form: 1.08000000 -> 1.08, 100 -> 100."""
    tidy = rate.normalize()
    return tidy.quantize(Decimal(1)) if tidy == tidy.to_integral_value() else tidy


def set_rate(
    session: Session, currency: str, rate: str | Decimal, base: str, now: datetime
) -> Rate:
    """Store the book's rate of `currency` into `base` (replacing the one it had)."""
    code, value = parse_currency(currency, base), parse_rate(rate)
    row = session.get(ExchangeRate, code)
    if row is None:
        session.add(ExchangeRate(currency=code, rate=value, set_at=now))
    else:
        row.rate, row.set_at = value, now
    session.flush()
    return Rate(code, value, BOOK, now)


def set_missing_rates(
    session: Session, rates: Mapping[str, Decimal], base: str, now: datetime
) -> list[str]:
    """Store the rates the book has none for yet (the demo's, say), keeping the admin's.
    Returns the currencies set."""
    have = set(stored_rates(session))
    wanted = {code: rate for code, rate in rates.items() if code != base and code not in have}
    for code, rate in sorted(wanted.items()):
        set_rate(session, code, rate, base, now)
    return sorted(wanted)


def unset_rate(session: Session, currency: str, base: str) -> None:
    """Remove the book's rate of `currency`; RateError when it has none."""
    code = parse_currency(currency, base)
    row = session.get(ExchangeRate, code)
    if row is None:
        raise RateError(f"currency: the book has no rate for {code}")
    session.delete(row)
    session.flush()


def stored_rates(session: Session) -> dict[str, Decimal]:
    """The book's rates, by currency."""
    rows = session.execute(select(ExchangeRate.currency, ExchangeRate.rate))
    return {row.currency: _tidy(Decimal(row.rate)) for row in rows}


def rates_in_force(session: Session, overrides: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The rates a report converts at: the book's, each overridden by the environment's."""
    return {**stored_rates(session), **overrides}


def list_rates(session: Session, overrides: Mapping[str, Decimal]) -> list[Rate]:
    """Every rate in force, by currency, saying where it comes from."""
    rows = session.scalars(select(ExchangeRate)).all()
    found = {r.currency: Rate(r.currency, _tidy(Decimal(r.rate)), BOOK, r.set_at) for r in rows}
    found.update({c: Rate(c, rate, ENVIRONMENT, None) for c, rate in overrides.items()})
    return [found[code] for code in sorted(found)]
