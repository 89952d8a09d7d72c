"""`keepwell health`: recompute, override and backtest through the command line."""

import orjson
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from book import BASICS, load, message
from keepwell.cli.app import app
from keepwell.config import get_settings
from keepwell.store.db import transaction
from keepwell.store.models import HealthRun, HealthSnapshot

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    get_settings.cache_clear()


def test_it_keeps_a_snapshot_per_day_with_the_weights_in_force(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-05T13:00:00Z"))
    monkeypatch.setenv("KEEPWELL_HEALTH_WEIGHTS", '{"engagement": 1, "billing": 3}')
    get_settings.cache_clear()
    result = runner.invoke(app, ["health", "recompute", "--as-of", "2026-10-08", "--days", "3"])
    assert result.exit_code == 0, result.output
    assert "2026-10-08: 1 accounts" in result.stdout
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(HealthSnapshot)) == 3
        weights = session.scalars(select(HealthRun.weights)).all()
        score = session.scalars(select(HealthSnapshot.score)).first()
    assert weights == [{"responsiveness": 0, "engagement": 1, "sentiment": 0,
                        "open_issues": 0, "billing": 3, "onboarding": 0}] * 3  # fmt: skip
    assert score == 75.0  # never answered: engagement 0 (weight 1), billing 100 (weight 3)


def test_it_refuses_weights_that_cannot_score(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPWELL_HEALTH_WEIGHTS", '{"happiness": 5}')
    get_settings.cache_clear()
    result = runner.invoke(app, ["health", "recompute", "--as-of", "2026-10-08"])
    assert result.exit_code != 0
    assert "happiness" in str(result.exception) + result.output


def test_it_overrides_a_band_and_names_an_unknown_account(engine: Engine) -> None:
    load(engine, *BASICS)
    ok = runner.invoke(app, ["health", "override", "acme", "--band", "green",
                             "--reason", "Renewal signed", "--expires", "2099-01-01"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    missing = runner.invoke(app, ["health", "override", "nope", "--band", "green",
                                  "--reason", "x", "--expires", "2099-01-01"])  # fmt: skip
    assert missing.exit_code == 2
    assert "no account 'nope'" in missing.output


def test_backtest_prints_json_with_every_band(engine: Engine) -> None:
    load(engine, *BASICS)
    result = runner.invoke(app, ["health", "backtest", "--as-of", "2026-11-23", "--json"])
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["quarters"] == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert set(report["current"]["bands"]) == {"green", "yellow", "red"}
    # acme started in 2026-Q1: scored at the start of Q2 and Q3, churned in neither
    assert report["current"]["samples"] == 2
    assert report["current"]["auc"] is None  # one class only: no AUC
    assert "error" in report["fitted"]
