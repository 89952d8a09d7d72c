"""`keepwell deliveries` and `keepwell slack`: list, replay, map, unmap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from book import load
from keepwell.cli.app import app
from keepwell.config import get_settings
from keepwell.integrations.slack.parse import KNOWN_EVENT_TYPES
from keepwell.jobs.queue import create_jobs
from keepwell.services import deliveries
from keepwell.store.db import transaction
from keepwell.store.models import Delivery, Message
from slackbook import CHANNEL, SLACK_BOOK, body_of, drain, envelope, message

runner = CliRunner()
NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    monkeypatch.setenv("KEEPWELL_JOBS_PATH", str(tmp_path / "jobs.db"))
    monkeypatch.delenv("KEEPWELL_REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _held_delivery(engine: Engine, channel: str = "C0GLOBEX") -> int:
    body = body_of(envelope({**message("1712345678.000100"), "channel": channel}))
    received = deliveries.receive(engine, "slack", "Ev1", body.decode(), NOW, channel)
    assert received.id is not None
    with transaction(engine) as session:
        session.get_one(Delivery, received.id).state = "held"
    return received.id


def test_it_maps_a_channel_and_applies_what_was_held(cli: None, engine: Engine) -> None:
    load(engine, *SLACK_BOOK)
    _held_delivery(engine)
    listed = runner.invoke(app, ["slack", "list"])
    assert "C0GLOBEX" in listed.output and "(not mapped)" in listed.output
    result = runner.invoke(app, ["slack", "map", "C0GLOBEX", "acme"])
    assert result.exit_code == 0, result.output
    assert "1 held event(s) queued" in result.output
    drain(create_jobs(engine, get_settings()).huey)
    with transaction(engine) as session:
        assert session.get_one(Message, "slack:C0GLOBEX:1712345678.000100").account_id == "acme"


def test_it_refuses_to_map_a_channel_to_an_unknown_account(cli: None, engine: Engine) -> None:
    result = runner.invoke(app, ["slack", "map", CHANNEL, "nobody"])
    assert result.exit_code == 2
    assert "no account 'nobody'" in result.output


def test_it_unmaps_a_channel(cli: None, engine: Engine) -> None:
    load(engine, *SLACK_BOOK)
    runner.invoke(app, ["slack", "map", CHANNEL, "acme"])
    assert runner.invoke(app, ["slack", "unmap", CHANNEL]).exit_code == 0
    again = runner.invoke(app, ["slack", "unmap", CHANNEL])
    assert again.exit_code == 1 and "not mapped" in again.output


def test_it_lists_failed_deliveries_as_json_and_replays_one(cli: None, engine: Engine) -> None:
    delivery_id = _held_delivery(engine)
    with transaction(engine) as session:
        row = session.get_one(Delivery, delivery_id)
        row.state, row.attempts, row.error = "dead", 5, "KeyError: 'ts'"
    deliveries.receive(engine, "slack", "Ev2", "{}", NOW)
    listed = runner.invoke(app, ["deliveries", "list", "--failed", "--json"])
    assert listed.exit_code == 0, listed.output
    (only,) = orjson.loads(listed.output)
    assert (only["id"], only["state"], only["attempts"], only["error"]) == (
        delivery_id, "dead", 5, "KeyError: 'ts'"
    )  # fmt: skip
    replayed = runner.invoke(app, ["deliveries", "replay", str(delivery_id)])
    assert replayed.exit_code == 0, replayed.output
    with transaction(engine) as session:
        assert session.get_one(Delivery, delivery_id).state == "pending"
    assert runner.invoke(app, ["deliveries", "replay", "999"]).exit_code == 1


def test_it_lists_the_jobs_record(cli: None, engine: Engine) -> None:
    from keepwell.services import jobs

    jobs.record(engine, "j-1", "prune_jobs", None, jobs.RUNNING, NOW)
    jobs.record(engine, "j-1", "prune_jobs", None, jobs.FAILED, NOW, "OperationalError: locked")
    listed = runner.invoke(app, ["jobs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (only,) = orjson.loads(listed.output)
    assert (only["name"], only["state"], only["attempts"], only["error"]) == (
        "prune_jobs", "failed", 1, "OperationalError: locked"
    )  # fmt: skip


def test_it_prints_the_slack_app_manifest_for_the_address_slack_reaches() -> None:
    result = runner.invoke(
        app, ["slack", "manifest", "--url", "https://cs.example.com/keepwell/", "--name", "CS"]
    )
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.stdout)
    events = document["settings"]["event_subscriptions"]
    assert events["request_url"] == "https://cs.example.com/keepwell/integrations/slack/events"
    # Every event type the endpoint keeps is subscribed to, and nothing else.
    assert {event.split(".")[0] for event in events["bot_events"]} == KNOWN_EVENT_TYPES
    assert {"channels:history", "groups:history", "reactions:read", "chat:write"} <= set(
        document["oauth_config"]["scopes"]["bot"]
    )
    assert document["display_information"]["name"] == "CS"


@pytest.mark.parametrize("url", ["http://cs.example.com", "cs.example.com", "https://x?y=1"])
def test_it_refuses_an_address_slack_cannot_send_events_to(url: str) -> None:
    result = runner.invoke(app, ["slack", "manifest", "--url", url])
    assert result.exit_code == 2
    assert url in result.output
