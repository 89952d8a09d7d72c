from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select

from book import BASICS, load, message
from keepwell.domain.health import HealthError
from keepwell.services.health import account_health, add_override, recompute_health
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
    assert summary.accounts == 1
    measures = snapshot.measures
    assert measures["responsiveness"]["value"] == 50.0  # one of two within the SLA
    assert measures["engagement"]["value"] == 100.0  # a two-way exchange 3 days ago
    assert measures["sentiment"]["value"] == 0.0  # a detractor
    assert measures["open_issues"]["value"] == pytest.approx(100 / 3)  # two open > 1 bd
    assert measures["billing"]["value"] == 100.0
    assert measures["onboarding"]["value"] is None  # no data: left out, weights renormalised
    assert snapshot.band == "yellow"


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
