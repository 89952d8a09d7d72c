from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from book import BASICS, load, message
from keepwell.cli.app import app
from keepwell.config import get_settings
from keepwell.store.db import transaction
from keepwell.store.models import Alert, Destination

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    for name in ("SLACK_BOT_TOKEN", "SMTP_URL"):
        monkeypatch.delenv(f"KEEPWELL_{name}", raising=False)
    get_settings.cache_clear()


def invoke(*arguments: str) -> str:
    result = runner.invoke(app, list(arguments))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_it_plans_and_lists_alerts_and_shows_failed_ones_and_disabled_destinations(
    engine: Engine,
) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-02T20:50:00Z"))
    planned = invoke("alerts", "plan", "--as-of", "2026-10-02T21:00:00Z")
    assert planned == "planned: 2 request alert(s), 1 digest(s)\n"  # Friday 17:00 in NY
    listed = orjson.loads(invoke("alerts", "list", "--json"))["alerts"]
    assert sorted(a["kind"] for a in listed) == ["digest", "sla_breach", "sla_warning"]
    with transaction(engine, writes=True) as session:
        warning_id = next(a["id"] for a in listed if a["kind"] == "sla_warning")
        alert = session.get(Alert, warning_id)
        alert.state, alert.error = "failed", "Slack: channel_not_found"
        session.add(Destination(channel="slack", address="U-ANA", reason="Slack: channel_not_found",
                                disabled_at=datetime(2026, 10, 5, tzinfo=UTC)))  # fmt: skip
    failed = orjson.loads(invoke("alerts", "list", "--failed", "--json"))
    assert [(a["id"], a["error"]) for a in failed["alerts"]] == [
        (warning_id, "Slack: channel_not_found")
    ]
    assert [d["address"] for d in failed["disabled_destinations"]] == ["U-ANA"]
    assert "disabled: slack U-ANA" in invoke("alerts", "list", "--failed")
    assert invoke("alerts", "enable", "slack", "U-ANA") == "slack U-ANA enabled\n"
    assert orjson.loads(invoke("alerts", "list", "--json"))["disabled_destinations"] == []
