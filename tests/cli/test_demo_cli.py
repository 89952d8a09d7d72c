from datetime import UTC, date, datetime

import orjson
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from keepwell.cli.app import app
from keepwell.config import get_settings
from keepwell.services.health import account_health
from keepwell.store.db import transaction
from keepwell.store.models import HealthRun

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    get_settings.cache_clear()


def test_it_loads_a_demo_book_of_the_promised_size() -> None:
    result = runner.invoke(app, ["demo", "--seed", "7", "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    stats = orjson.loads(runner.invoke(app, ["stats", "--json"]).stdout)
    assert stats["account"] == 150
    assert stats["message"] >= 30_000
    assert stats["user"] >= 8
    assert stats["request"] > 1_000
    for kind in ("escalate", "activity", "next_step", "churn", "mrr", "survey", "review"):
        assert stats[kind] > 0, kind
    users = orjson.loads(runner.invoke(app, ["stats", "--json"]).stdout)
    assert users == stats  # stats only reads


def test_it_changes_nothing_when_the_demo_is_loaded_twice() -> None:
    first = runner.invoke(app, ["demo", "--today", "2026-11-23"])
    again = runner.invoke(app, ["demo", "--today", "2026-11-23"])
    assert again.exit_code == 0
    assert "nothing changed" in again.stdout
    assert "keepwell-demo" in first.stdout and "keepwell-demo" not in again.stdout


def test_the_demo_comes_with_90_days_of_health_history(engine: Engine) -> None:
    result = runner.invoke(app, ["demo", "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    with transaction(engine) as session:
        days = session.scalars(select(HealthRun.day).order_by(HealthRun.day)).all()
        shown = account_health(session, "atlas-analytics", datetime(2026, 11, 23, 12, tzinfo=UTC))
    assert (days[0], days[-1], len(days)) == (date(2026, 8, 25), date(2026, 11, 22), 90)
    assert shown["score"] is not None and shown["trend_30d"] is not None
