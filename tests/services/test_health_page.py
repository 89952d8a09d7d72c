"""The back-test behind `/health` is computed once for a day and a book, not per request:
again only when the day, the weights or the book's mark (health runs, churns, overrides,
surveys, MRR lines, accounts) change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from book import BASICS, load
from keepwell.domain.health import DEFAULT_WEIGHTS
from keepwell.services import health_page
from keepwell.services.health import recompute_health
from keepwell.store.db import transaction

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
TODAY = date(2026, 11, 20)


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[date]:
    """The days the back-test was computed for."""
    days: list[date] = []
    real = health_page.backtest_report

    def counting(session: Any, today: date, **options: Any) -> dict[str, Any]:
        days.append(today)
        return real(session, today, **options)

    monkeypatch.setattr(health_page, "backtest_report", counting)
    health_page.forget_backtests()
    return days


def backtest(engine: Engine, today: date = TODAY, weights: Any = DEFAULT_WEIGHTS) -> Any:
    with transaction(engine) as session:
        return health_page.cached_backtest(session, today, "UTC", weights, NOW)


def test_it_computes_the_backtest_once_for_a_day_and_a_book(
    engine: Engine, computed: list[date]
) -> None:
    load(engine, *BASICS)
    first = backtest(engine)
    assert backtest(engine) == first and computed == [TODAY]
    backtest(engine, TODAY - timedelta(days=1))  # another day
    assert computed == [TODAY, TODAY - timedelta(days=1)]
    backtest(engine, weights={**DEFAULT_WEIGHTS, "billing": 25.0, "onboarding": 0.0})
    assert len(computed) == 3


def test_a_new_health_run_or_churn_computes_it_again(engine: Engine, computed: list[date]) -> None:
    load(engine, *BASICS)
    backtest(engine)
    with transaction(engine) as session:
        recompute_health(session, TODAY - timedelta(days=1))
    backtest(engine)
    assert len(computed) == 2
    load(engine, {"type": "churn", "account": "acme", "at": "2026-11-19T10:00:00Z"})
    backtest(engine)
    backtest(engine)
    assert len(computed) == 3
