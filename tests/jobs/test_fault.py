"""The fault test of issue 15: 1,000 deliveries, the worker killed with SIGKILL in the middle
and started again: every delivery applied exactly once, none lost (counted in the database).
On the database the suite runs on (SQLite, and PostgreSQL with KEEPWELL_TEST_DATABASE_URL),
with the Redis queue that `keepwell worker` processes consume."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from book import load
from keepwell.config import Settings
from keepwell.jobs.queue import create_jobs
from keepwell.services import deliveries, slack
from keepwell.store.db import transaction
from keepwell.store.models import Delivery, Message, Request
from slackbook import CHANNEL, SLACK_BOOK, body_of, envelope, message
from workers import redis_available, redis_queue, start_worker, wait_for, worker_env

COUNT = 1_000
NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _counts(engine: Engine) -> dict[str, int]:
    with transaction(engine) as session:
        rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        states = {state: n for state, n in rows}
        states["messages"] = session.scalar(select(func.count()).select_from(Message)) or 0
        states["requests"] = session.scalar(select(func.count()).select_from(Request)) or 0
        states["attempts"] = session.scalar(select(func.sum(Delivery.attempts))) or 0
    return states


def _body(n: int) -> str:
    event = message(f"1712345678.{n:06d}", text=f"question {n}")
    return body_of(envelope(event, f"Ev{n:06d}")).decode()


@pytest.mark.slow
@pytest.mark.skipif(not redis_available(), reason="no Redis server")
def test_every_delivery_is_applied_exactly_once_across_a_killed_worker(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    load(engine, *SLACK_BOOK)
    slack.map_channel(engine, CHANNEL, "acme", NOW)
    log = tmp_path / "worker.log"
    with redis_queue() as queue:
        env = worker_env(database_url, queue)
        jobs = create_jobs(engine, Settings(redis_url=env["KEEPWELL_REDIS_URL"], jobs_queue=queue))
        for group in range(0, COUNT, 25):  # stored and enqueued as the endpoint does
            incoming = [
                # Each message in a thread of its own: one request each.
                deliveries.Incoming("slack", f"Ev{n:06d}", _body(n), CHANNEL)
                for n in range(group, group + 25)
            ]
            deliveries.receive_many(engine, incoming, NOW)
            jobs.deliveries_stored()
        jobs.close()

        first = start_worker(env, log)
        started = wait_for(lambda: _counts(engine).get("applied", 0) > 0, 60, poll=0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert started, log.read_text()
        in_the_middle = _counts(engine)
        print("at the kill:", in_the_middle)
        second = start_worker(env, log)
        try:
            done = wait_for(lambda: _counts(engine).get("applied", 0) == COUNT, 120, poll=0.2)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        assert done, (_counts(engine), log.read_text()[-3000:])
    final = _counts(engine)
    assert 0 < in_the_middle.get("applied", 0) < COUNT, in_the_middle  # killed mid-way
    assert final == {"applied": COUNT, "messages": COUNT, "requests": COUNT, "attempts": COUNT}
