from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from book import load
from keepwell.config import get_settings
from keepwell.services import slack
from keepwell.store.db import transaction
from keepwell.web.app import create_app
from keepwell.web.jobs import get_jobs
from slackbook import CHANNEL, SECRET, SLACK_BOOK, body_of, drain, envelope, signed


@dataclass
class Live:
    client: TestClient
    engine: Engine

    def post(
        self, event: dict[str, Any], event_id: str | None = None, **headers: str
    ) -> httpx.Response:
        body = body_of(envelope(event, event_id))
        return self.client.post(
            "/integrations/slack/events", content=body, headers={**signed(body), **headers}
        )

    def apply(self) -> int:
        return drain(get_jobs(self.client.app).huey)  # type: ignore[arg-type]

    def count(self, model: Any, *where: Any) -> int:
        with transaction(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("KEEPWELL_SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("KEEPWELL_JOBS_PATH", str(tmp_path / "jobs.db"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def live(engine: Engine, settings_env: None) -> Iterator[Live]:
    load(engine, *SLACK_BOOK)
    slack.map_channel(engine, CHANNEL, "acme", datetime.now(UTC))
    with TestClient(create_app(engine)) as client:
        yield Live(client, engine)
