from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from book import BASICS, EURO_ACCOUNT, load
from keepwell.domain.revenue import MissingRateError
from keepwell.services.rates import (
    BOOK,
    ENVIRONMENT,
    RateError,
    list_rates,
    rates_in_force,
    set_missing_rates,
    set_rate,
    stored_rates,
    unset_rate,
)
from keepwell.services.revenue import Money, revenue_report
from keepwell.store.db import transaction

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_it_stores_a_rate_and_replaces_it_when_set_again(engine: Engine) -> None:
    with transaction(engine) as session:
        set_rate(session, "eur", "1.08", "USD", NOW)
        set_rate(session, "EUR", Decimal("1.10"), "USD", NOW)
        set_rate(session, "GBP", "1.27", "USD", NOW)
    with transaction(engine) as session:
        assert stored_rates(session) == {"EUR": Decimal("1.1"), "GBP": Decimal("1.27")}


@pytest.mark.parametrize(
    ("currency", "rate", "message"),
    [
        ("EURO", "1", "currency: not a three-letter code: 'EURO'"),
        ("E1R", "1", "currency: not a three-letter code: 'E1R'"),
        ("usd", "1", "currency: USD is the base currency; it needs no rate"),
        ("EUR", "0", "rate: must be above zero, got 0"),
        ("EUR", "-1.08", "rate: must be above zero, got -1.08"),
        ("EUR", "abc", "rate: not a number: 'abc'"),
        ("EUR", "NaN", "rate: not a number: 'NaN'"),
        ("EUR", "Infinity", "rate: not a number: 'Infinity'"),
        ("EUR", "1e12", "rate: too large, got 1e12"),
        ("EUR", "0.000000001", "rate: below 0.00000001, got 0.000000001"),
    ],
)
def test_it_refuses_what_is_not_a_currency_or_a_rate(
    engine: Engine, currency: str, rate: str, message: str
) -> None:
    with transaction(engine) as session:
        with pytest.raises(RateError) as caught:
            set_rate(session, currency, rate, "USD", NOW)
        assert str(caught.value) == message
        assert stored_rates(session) == {}


def test_it_unsets_a_rate_and_says_when_there_is_none(engine: Engine) -> None:
    with transaction(engine) as session:
        set_rate(session, "EUR", "1.08", "USD", NOW)
        unset_rate(session, "eur", "USD")
        assert stored_rates(session) == {}
        with pytest.raises(RateError, match="the book has no rate for EUR"):
            unset_rate(session, "EUR", "USD")


def test_the_environment_overrides_the_books_rate_currency_by_currency(engine: Engine) -> None:
    with transaction(engine) as session:
        set_rate(session, "EUR", "1.08", "USD", NOW)
        set_rate(session, "GBP", "1.27", "USD", NOW)
        overrides = {"EUR": Decimal("1.2"), "CHF": Decimal("1.13")}
        in_force = rates_in_force(session, overrides)
        listed = [(r.currency, r.rate, r.source) for r in list_rates(session, overrides)]
    assert in_force == {"EUR": Decimal("1.2"), "GBP": Decimal("1.27"), "CHF": Decimal("1.13")}
    assert listed == [
        ("CHF", Decimal("1.13"), ENVIRONMENT),
        ("EUR", Decimal("1.2"), ENVIRONMENT),
        ("GBP", Decimal("1.27"), BOOK),
    ]


def test_it_sets_only_the_missing_rates_keeping_the_admins(engine: Engine) -> None:
    with transaction(engine) as session:
        set_rate(session, "EUR", "1.05", "USD", NOW)
        added = set_missing_rates(
            session, {"EUR": Decimal("1.08"), "GBP": Decimal("1.27")}, "USD", NOW
        )
        assert added == ["GBP"]
        assert stored_rates(session) == {"EUR": Decimal("1.05"), "GBP": Decimal("1.27")}


def test_the_revenue_report_converts_at_the_books_rates_unless_the_environment_says_otherwise(
    engine: Engine,
) -> None:
    load(engine, *BASICS, EURO_ACCOUNT)  # acme pays 2500 USD, bergmann 1000 EUR
    with transaction(engine) as session:
        with pytest.raises(MissingRateError, match="EUR"):
            revenue_report(session, "2026-10", Money())
        set_rate(session, "EUR", "1.08", "USD", NOW)
        from_book = revenue_report(session, "2026-10", Money())
        overridden = revenue_report(session, "2026-10", Money(rate_overrides={"EUR": Decimal(2)}))
    assert (from_book["currency"], from_book["mrr_start"]) == ("USD", 3580)
    assert overridden["mrr_start"] == 4500
