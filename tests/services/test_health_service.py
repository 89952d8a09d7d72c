from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select

from book import BASICS, load, message
from keepwell.domain.health import HealthError
from keepwell.services.health import (
    account_health,
    add_override,
    backtest_report,
    recompute_health,
)
from keepwell.store.db import transaction
from keepwell.store.models import HealthSnapshot

SURVEY = {"type": "survey", "id": "s-1", "account": "acme", "contact": "c-joe",
          "at": "2026-10-01T12:00:00Z", "kind": "nps", "score": 3}  # fmt: skip


def test_it_keeps_a_daily_snapshot_with_every_measure(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        SURVEY,
        message("m-1", "t-1", "2026-10-05T13:00:00Z"),  # Mon 09:00 NY, never answered
        message("m-2", "t-2", "2026-10-05T14:00:00Z"),
        message("m-3", "t-2", "2026-10-05T14:10:00Z", "outbound"),  # answered in 10 min
    )
    with transaction(engine) as session:
        summary = recompute_health(session, date(2026, 10, 8))
        (snapshot,) = session.scalars(select(HealthSnapshot)).all()
        shown = account_health(session, "acme", date(2026, 10, 8))
    assert summary.accounts == 1
    assert snapshot.responsiveness == 50.0  # one of two within the SLA
    assert snapshot.engagement == 100.0  # a two-way exchange 3 days ago
    assert snapshot.sentiment == 0.0  # a detractor
    assert snapshot.open_issues == pytest.approx(100 / 3)  # two open > 1 bd
    assert snapshot.billing == 100.0
    assert snapshot.onboarding is None  # no data: left out, weights renormalised
    assert snapshot.band == "yellow"
    measures = shown["measures"]
    assert measures["onboarding"] == {
        "value": None, "weight": 10.0, "share": None, "points": None, "lost": None
    }  # fmt: skip
    assert measures["sentiment"]["share"] == pytest.approx(20 / 90)
    assert sum(m["points"] or 0 for m in measures.values()) == pytest.approx(snapshot.score)


def test_it_replaces_a_days_snapshot_when_run_again(engine: Engine) -> None:
    load(engine, *BASICS)
    with transaction(engine) as session:
        recompute_health(session, date(2026, 10, 8))
        recompute_health(session, date(2026, 10, 8))
        assert len(session.scalars(select(HealthSnapshot)).all()) == 1


def test_it_shows_an_override_beside_the_computed_band(engine: Engine) -> None:
    load(engine, *BASICS, SURVEY)
    now = datetime(2026, 10, 8, 9, tzinfo=UTC)
    with transaction(engine) as session:
        add_override(
            session, "acme", "green", "Renewal signed", date(2026, 11, 1), by="u-kyle", now=now
        )
        recompute_health(session, date(2026, 10, 8))
        shown = account_health(session, "acme", date(2026, 10, 8))
    assert shown["band"] == "green"
    assert shown["computed_band"] != "green"
    assert shown["override"]["reason"] == "Renewal signed"


def test_it_refuses_an_override_that_expired_already(engine: Engine) -> None:
    load(engine, *BASICS)
    now = datetime(2026, 10, 8, 9, tzinfo=UTC)
    with transaction(engine) as session, pytest.raises(HealthError, match="expires"):
        add_override(session, "acme", "red", "x", date(2026, 10, 1), by=None, now=now)


def test_it_gives_the_30_day_trend(engine: Engine) -> None:
    load(engine, *BASICS, SURVEY)
    with transaction(engine) as session:
        recompute_health(session, date(2026, 9, 8))
        recompute_health(session, date(2026, 10, 8))
        shown = account_health(session, "acme", date(2026, 10, 8))
    assert shown["trend_30d"] is not None


def test_the_backtest_scores_each_quarter_start_against_that_quarters_churn(
    engine: Engine,
) -> None:
    beta = {**BASICS[3], "id": "beta", "name": "Beta"}
    load(
        engine,
        *BASICS,
        beta,
        {"type": "contact", "id": "c-bea", "account": "beta", "name": "Bea"},
        {**SURVEY, "id": "s-a", "at": "2026-06-01T12:00:00Z", "score": 10},
        {**SURVEY, "id": "s-b", "account": "beta", "contact": "c-bea",
         "at": "2026-06-01T12:00:00Z", "score": 2},
        {"type": "churn", "account": "beta", "at": "2026-08-15T12:00:00Z"},
    )  # fmt: skip
    with transaction(engine) as session:
        report = backtest_report(session, date(2026, 11, 23))
    current = report["current"]
    assert current["samples"] == 4  # two accounts at the starts of Q2 and Q3
    assert current["churned"] == 1  # beta, in Q3, scored low at its start
    assert current["auc"] == 1.0
    # Q2: no survey yet, both 60 (engagement 0, billing and open issues 100): yellow;
    # Q3: acme a promoter 71.4 green, beta a detractor 42.9 yellow
    assert current["bands"]["green"] == {"accounts": 1, "churned": 0, "rate": 0.0}
    assert current["bands"]["yellow"] == {"accounts": 3, "churned": 1, "rate": 1 / 3}


def test_an_answer_after_the_sla_counts_against_responsiveness(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        message("m-1", "t-1", "2026-10-05T13:00:00Z"),  # Mon 09:00 NY
        message("m-2", "t-1", "2026-10-05T15:30:00Z", "outbound"),  # 2.5 h: breached
        message("m-3", "t-2", "2026-10-05T14:00:00Z"),
        message("m-4", "t-2", "2026-10-05T14:10:00Z", "outbound"),  # 10 min: within
    )
    with transaction(engine) as session:
        recompute_health(session, date(2026, 10, 8))
        (snapshot,) = session.scalars(select(HealthSnapshot)).all()
    assert snapshot.responsiveness == 50.0
