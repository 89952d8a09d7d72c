"""Recompute jobs (issue 14 §5): through the SQLite queue consumed in threads (the embedded
default) and a real `keepwell worker` on Redis; progress recorded; retried, then failed."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from book import BASICS, load, message
from keepwell.config import Settings
from keepwell.jobs import recompute as recompute_jobs
from keepwell.jobs.queue import create_jobs, start_consumer, stop_consumer
from keepwell.services import jobs, recompute
from keepwell.store.db import transaction
from keepwell.store.models import Request
from workers import redis_available, redis_queue, start_worker, wait_for, worker_env

BOOK = [
    *BASICS,
    message("m-1", "t-1", "2026-10-01T14:03:00Z"),
    message("m-2", "t-1", "2026-10-01T14:20:00Z", direction="outbound"),
    message("m-3", "t-2", "2026-10-02T22:00:00Z"),
]


def _deadlines(engine: Engine) -> dict[str, Any]:
    with transaction(engine) as session:
        rows = session.execute(select(Request.id, Request.first_response_due, Request.schedule_id))
        return {row.id: (row.first_response_due, row.schedule_id) for row in rows}


def _forget_clocks(engine: Engine) -> None:
    with transaction(engine, writes=True) as session:
        session.execute(update(Request).values(first_response_due=None, schedule_id=None))


def _job(engine: Engine, job_id: str) -> jobs.JobRow:
    with transaction(engine) as session:
        row = jobs.get_job(session, job_id)
    assert row is not None
    return row


def _finished(engine: Engine, job_id: str) -> bool:
    return _job(engine, job_id).state in (jobs.DONE, jobs.FAILED)


def test_it_recomputes_on_the_sqlite_queue_with_progress(engine: Engine, tmp_path: Path) -> None:
    load(engine, *BOOK)
    expected = _deadlines(engine)
    _forget_clocks(engine)
    queue = create_jobs(engine, Settings(jobs_path=str(tmp_path / "jobs.db")))
    job_id = queue.enqueue_recompute(["scorecards", "sla"], reason="a test", by="u-kyle")
    queued = _job(engine, job_id)
    assert (queued.state, queued.name) == ("queued", "recompute")
    consumer = start_consumer(queue, periodic=False)
    try:
        assert wait_for(lambda: _finished(engine, job_id), 30)
    finally:
        stop_consumer(consumer)
    done = _job(engine, job_id)
    assert (done.state, done.attempts, done.error) == ("done", 1, None)
    assert done.progress_total is not None and done.progress_total >= 2  # an SLA batch, a month
    assert done.progress_done == done.progress_total and done.progress == 1.0
    assert done.progress_note == "done"
    assert _deadlines(engine) == expected


def test_it_refuses_an_unknown_kind(engine: Engine, tmp_path: Path) -> None:
    queue = create_jobs(engine, Settings(jobs_path=str(tmp_path / "jobs.db")))
    with pytest.raises(recompute.UnknownKind, match="weather"):
        queue.enqueue_recompute(["weather"], reason="a test", by=None)


def test_a_failing_recompute_is_retried_then_shown_failed_with_its_error(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, *BOOK)

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the clocks are stuck")

    monkeypatch.setattr(recompute, "recompute_sla", broken)
    monkeypatch.setattr(recompute_jobs, "RETRY_DELAY", 0.2)
    monkeypatch.setattr(recompute_jobs, "RETRIES", 2)
    queue = create_jobs(engine, Settings(jobs_path=str(tmp_path / "jobs.db")))
    job_id = queue.enqueue_recompute(["sla"], reason="a test", by=None)
    consumer = start_consumer(queue, periodic=False)
    try:
        assert wait_for(lambda: _job(engine, job_id).state == jobs.FAILED, 30)
    finally:
        stop_consumer(consumer)
    failed = _job(engine, job_id)
    assert failed.attempts == 3
    assert failed.error == "RuntimeError: the clocks are stuck"


@pytest.mark.skipif(not redis_available(), reason="no Redis server")
def test_a_keepwell_worker_recomputes_from_redis(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    load(engine, *BOOK)
    expected = _deadlines(engine)
    _forget_clocks(engine)
    log = tmp_path / "worker.log"
    with redis_queue() as name:
        env = worker_env(database_url, name)
        queue = create_jobs(engine, Settings(redis_url=env["KEEPWELL_REDIS_URL"], jobs_queue=name))
        job_id = queue.enqueue_recompute(["sla", "health"], reason="a test", by=None)
        worker = start_worker(env, log)
        try:
            assert wait_for(lambda: _finished(engine, job_id), 60), log.read_text()
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    done = _job(engine, job_id)
    assert done.state == "done", (done, log.read_text()[-3000:])
    assert done.progress_done == done.progress_total
    assert _deadlines(engine) == expected
    assert datetime.now(UTC) >= (done.finished_at or datetime.max.replace(tzinfo=UTC))
