"""The job system (issue 15): the SQLite queue consumed in threads (the embedded default),
and Redis consumed by a real `keepwell worker` process."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from book import load
from keepwell.cli.app import app
from keepwell.config import Settings, get_settings
from keepwell.jobs.queue import create_jobs, jobs_path, start_consumer, stop_consumer
from keepwell.services import deliveries, slack
from keepwell.services.jobs import list_jobs
from keepwell.store.db import transaction
from keepwell.store.models import Delivery, Message
from slackbook import CHANNEL, SLACK_BOOK, body_of, envelope, message
from workers import redis_available, redis_queue, start_worker, wait_for, worker_env

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _stored(engine: Engine, event: dict[str, object]) -> int:
    received = deliveries.receive(
        engine, "slack", f"Ev-{event.get('ts')}", body_of(envelope(event)).decode(), NOW, CHANNEL
    )
    assert received.id is not None
    return received.id


def _state(engine: Engine, delivery_id: int) -> tuple[str, int]:
    with transaction(engine) as session:
        row = session.execute(
            select(Delivery.state, Delivery.attempts).where(Delivery.id == delivery_id)
        ).one()
    return row.state, row.attempts


def _count(engine: Engine, model: type) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def book(engine: Engine) -> Engine:
    load(engine, *SLACK_BOOK)
    slack.map_channel(engine, CHANNEL, "acme", NOW)
    return engine


def test_it_keeps_the_sqlite_queue_beside_the_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/book.db")
    assert jobs_path(settings) == tmp_path / "book-jobs.db"
    assert jobs_path(Settings(jobs_path="/tmp/q.db")) == Path("/tmp/q.db")


def test_it_applies_and_retries_deliveries_on_the_sqlite_queue_in_threads(
    book: Engine, tmp_path: Path
) -> None:
    jobs = create_jobs(book, Settings(jobs_path=str(tmp_path / "jobs.db")))
    consumer = start_consumer(jobs, periodic=False)
    try:
        good = _stored(book, message("1712345678.000100"))
        bad = _stored(book, {"type": "message", "channel": CHANNEL, "text": "no ts"})
        jobs.apply_delivery(good)
        jobs.apply_delivery(bad)
        assert wait_for(lambda: _state(book, good)[0] == "applied", 20)
        # The broken one fails, and is tried again after its delay (2 s) by the queue.
        assert wait_for(lambda: _state(book, bad)[1] >= 2, 20)
    finally:
        stop_consumer(consumer)
    assert _state(book, bad)[0] == "failed"
    assert _count(book, Message) == 1
    recorded = list_jobs(book)
    assert {(job.name, job.state) for job in recorded} == {("apply_delivery", "retrying")}
    (job,) = recorded
    assert job.attempts >= 2
    assert job.error is not None and "KeyError" in job.error


@pytest.mark.skipif(not redis_available(), reason="no Redis server")
def test_a_keepwell_worker_applies_deliveries_from_redis(
    book: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with redis_queue() as queue:
        env = worker_env(database_url, queue)
        for name in ("KEEPWELL_REDIS_URL", "KEEPWELL_JOBS_QUEUE"):
            monkeypatch.setenv(name, env[name])
        jobs = create_jobs(book, Settings(redis_url=env["KEEPWELL_REDIS_URL"], jobs_queue=queue))
        ids = [_stored(book, message(f"1712345678.{n:06d}")) for n in range(1, 6)]
        for delivery_id in ids:
            jobs.apply_delivery(delivery_id)
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            assert wait_for(lambda: _count(book, Message) == 5, 30), (
                tmp_path / "worker.log"
            ).read_text()
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0  # stopped cleanly, after its running jobs
    assert {_state(book, i) for i in ids} == {("applied", 1)}


def test_a_worker_refuses_a_schema_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", f"sqlite:///{tmp_path / 'old.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "run `keepwell migrate` first" in result.output
