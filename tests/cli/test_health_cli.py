"""`keepwell health`: recompute, override and backtest through the command line."""

import orjson
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from book import BASICS, load, message
from keepwell.cli.app import app
from keepwell.config import get_settings
from keepwell.store.db import transaction
from keepwell.store.models import HealthOverride, HealthRun, HealthSnapshot

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
    for day in ("2026-10-06", "2026-10-07", "2026-10-08"):  # every day it scored
        assert f"{day}: 1 accounts" in result.stdout
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
    ok = runner.invoke(app, ["health", "override", "acme", "--band", "green", "--by", "u-kyle",
                             "--reason", "Renewal signed", "--expires", "2099-01-01"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    missing = runner.invoke(app, ["health", "override", "nope", "--band", "green", "--by",
                                  "u-kyle", "--reason", "x", "--expires", "2099-01-01"]
                            )  # fmt: skip
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
    assert report["current"]["auc_low"] is None
    assert "error" in report["fitted"]


OVERRIDE = ["health", "override", "acme", "--band", "red", "--reason", "Champion left",
            "--expires", "2099-01-01"]  # fmt: skip


def test_it_refuses_to_score_a_day_after_today() -> None:
    result = runner.invoke(app, ["health", "recompute", "--as-of", "2099-01-01"])
    assert result.exit_code == 2
    assert "--as-of: 2099-01-01 is after today" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_it_refuses_to_backtest_quarters_after_today(engine: Engine) -> None:
    result = runner.invoke(app, ["health", "backtest", "--as-of", "2099-01-01"])
    assert result.exit_code == 2
    assert "--as-of: 2099-01-01 is after today" in result.output


def test_an_override_needs_by_a_manager(engine: Engine) -> None:
    load(engine, *BASICS)
    assert runner.invoke(app, OVERRIDE).exit_code == 2  # no --by
    csm = runner.invoke(app, [*OVERRIDE, "--by", "u-ana"])
    assert csm.exit_code == 2
    assert "--by: 'u-ana' is a csm" in csm.output


def test_an_override_of_a_churned_account_is_refused(engine: Engine) -> None:
    load(engine, *BASICS, {"type": "churn", "account": "acme", "at": "2026-10-01T12:00:00Z"})
    result = runner.invoke(app, [*OVERRIDE, "--by", "u-kyle"])
    assert result.exit_code == 2
    assert "account 'acme' has churned" in result.output


def test_the_same_override_twice_keeps_one_row(engine: Engine) -> None:
    load(engine, *BASICS)
    assert runner.invoke(app, [*OVERRIDE, "--by", "u-kyle"]).exit_code == 0
    again = runner.invoke(app, [*OVERRIDE, "--by", "u-kyle"])
    assert again.exit_code == 0
    assert "nothing changed" in again.stdout
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(HealthOverride)) == 1


def test_show_prints_the_api_document_of_a_days_snapshot(engine: Engine) -> None:
    load(engine, *BASICS)
    assert runner.invoke(app, ["health", "recompute", "--as-of", "2026-10-08"]).exit_code == 0
    result = runner.invoke(app, ["health", "show", "acme", "--day", "2026-10-08", "--json"])
    assert result.exit_code == 0, result.output
    shown = orjson.loads(result.stdout)
    # Engagement 0 (20), open issues 100 (15), billing 100 (15): 3000 / 50 = 60, yellow.
    assert (shown["day"], shown["score"], shown["band"]) == ("2026-10-08", 60.0, "yellow")
    assert shown["measures"]["billing"]["points"] == pytest.approx(30)
    text = runner.invoke(app, ["health", "show", "acme"])
    assert text.exit_code == 0 and "60.0 yellow" in text.stdout


def test_show_says_when_there_is_no_snapshot_that_day(engine: Engine) -> None:
    load(engine, *BASICS)
    result = runner.invoke(app, ["health", "show", "acme", "--day", "2026-10-08"])
    assert result.exit_code == 1
    assert "acme: no health snapshot of 2026-10-08" in result.output
    assert runner.invoke(app, ["health", "show", "nope"]).exit_code == 2
