"""Recompute jobs (issue 14 §5): through the SQLite queue consumed in threads (the embedded
default) and a real `keepwell worker` on Redis; progress recorded; retried, then failed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select, update

from book import BASICS, load, message
from keepwell.config import Settings
from keepwell.domain.sla import SlaTargets
from keepwell.ingest.demo import generate_demo
from keepwell.jobs import recompute as recompute_jobs
from keepwell.jobs.queue import create_jobs, start_consumer, stop_consumer
from keepwell.jobs.recompute import rules_of
from keepwell.services import jobs, recompute
from keepwell.services.demo import load_demo
from keepwell.services.health import SNAPSHOT_COLUMNS
from keepwell.services.recompute import record_recompute
from keepwell.services.schedule_edits import form_values, list_schedules, save_version
from keepwell.services.scorecard import scorecards
from keepwell.services.sla import SLA_COLUMNS
from keepwell.store.db import transaction
from keepwell.store.models import Base, KeptScorecard, Request
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


# -- a worker killed in the middle of a recompute (issue 14 "Done when")

TABLES = {
    "requests": ("id", *SLA_COLUMNS),
    "health_snapshots": ("account_id", "day", *SNAPSHOT_COLUMNS[2:]),
    "health_runs": ("day", "weights", "accounts"),
    "kept_scorecards": ("month", "csm_id", "as_of", "total", "band", "card"),
}


def _recomputed(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table a recompute writes, row by row (but when it wrote them)."""
    out = {}
    with engine.connect() as connection:
        for name, columns in TABLES.items():
            table = Base.metadata.tables[name]
            query = select(*(table.c[c] for c in columns)).order_by(*table.primary_key.columns)
            out[name] = [tuple(row) for row in connection.execute(query)]
    return out


def _demo_with_new_hours(engine: Engine) -> str:
    """The demo book, and a new version of a schedule its CSMs work from a month ago: the
    recompute it records (SLA clocks, health, scorecards), QUEUED; its job id."""
    today = datetime.now(UTC).date()
    with transaction(engine, writes=True) as session:
        load_demo(session, generate_demo(today=today), today, targets=SlaTargets())
    with transaction(engine) as session:
        (schedule,) = [s for s in list_schedules(session) if s.id == "ny-40h"]
    fields = form_values(schedule.versions[-1], today - timedelta(days=30))
    fields.update({f"week_{d}": "10:00-12:00, 13:00-19:00" for d in ("mon", "tue", "wed")})
    with transaction(engine, writes=True) as session:
        saved = save_version(session, "ny-40h", fields, by="u-sam", now=datetime.now(UTC))
    return saved.job_id


QUEUES = ["sqlite", pytest.param("redis", marks=pytest.mark.skipif(
    not redis_available(), reason="no Redis server"))]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("queue_kind", QUEUES)
def test_a_recompute_killed_mid_way_is_finished_by_the_next_worker_with_the_same_result(
    engine: Engine, database_url: str, tmp_path: Path, queue_kind: str
) -> None:
    job_id = _demo_with_new_hours(engine)
    before = _recomputed(engine)
    log = tmp_path / "worker.log"
    with redis_queue() as name:
        env = worker_env(database_url, name)
        if queue_kind == "sqlite":
            del env["KEEPWELL_REDIS_URL"]
            env["KEEPWELL_JOBS_PATH"] = str(tmp_path / "jobs.db")
            chosen = Settings(jobs_path=env["KEEPWELL_JOBS_PATH"], jobs_queue=name)
            queue = create_jobs(engine, chosen)
        else:
            queue = create_jobs(
                engine, Settings(redis_url=env["KEEPWELL_REDIS_URL"], jobs_queue=name)
            )
        queue.send_recompute(job_id)
        first = start_worker(env, log)
        started = wait_for(lambda: (_job(engine, job_id).progress_done or 0) >= 1, 120, 0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert started, log.read_text()[-3000:]
        at_the_kill = _job(engine, job_id)
        second = start_worker(env, log)
        try:
            assert wait_for(lambda: _finished(engine, job_id), 180), log.read_text()[-3000:]
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
    finished = _job(engine, job_id)
    print("at the kill:", at_the_kill, "finished:", finished)
    assert at_the_kill.state == "running"
    assert 0 < (at_the_kill.progress_done or 0) < (at_the_kill.progress_total or 0)
    assert (finished.state, finished.attempts) == ("done", 2), log.read_text()[-3000:]
    assert finished.progress_done == finished.progress_total
    after_the_kill = _recomputed(engine)
    assert after_the_kill["requests"] != before["requests"]  # the new hours moved clocks
    # An uninterrupted run on the same book changes nothing more: the killed one, finished
    # by the second worker, left the tables exactly as a run straight through does.
    with transaction(engine, writes=True) as session:
        again = record_recompute(session, list(recompute.KINDS), reason="again", by=None,
                                 now=datetime.now(UTC))  # fmt: skip
    assert recompute.run_recompute(
        engine, again, rules_of(engine, Settings()), "test:1", lambda: datetime.now(UTC)
    )
    assert _recomputed(engine) == after_the_kill


# -- jobs nobody will finish, and the month's kept scorecards


def _recorded(engine: Engine, at: datetime) -> str:
    with transaction(engine, writes=True) as session:
        return record_recompute(session, ["sla"], reason="a test", by=None, now=at)


def _hold(engine: Engine, job_id: str, worker: str, at: datetime) -> None:
    assert jobs.claim(engine, job_id, worker, at, "a step")


def test_lost_recomputes_are_enqueued_again_and_run(engine: Engine, tmp_path: Path) -> None:
    load(engine, *BOOK)
    now = datetime.now(UTC)
    here = socket.gethostname()
    never_sent = _recorded(engine, now - timedelta(minutes=3))
    dead_worker = _recorded(engine, now)
    _hold(engine, dead_worker, f"{here}:{_a_dead_pid()}", now)
    silent = _recorded(engine, now)
    _hold(engine, silent, "elsewhere:1", now - timedelta(minutes=3))
    alive = _recorded(engine, now)
    _hold(engine, alive, f"{here}:{os.getppid()}", now)
    fresh = _recorded(engine, now)  # queued just now: its worker will come
    queue = create_jobs(engine, Settings(jobs_path=str(tmp_path / "jobs.db")))
    assert recompute_jobs.requeue_lost_recomputes(queue, now) == 3
    assert recompute_jobs.requeue_lost_recomputes(queue, now) == 0  # released once
    consumer = start_consumer(queue, periodic=False)
    lost = (never_sent, dead_worker, silent)
    try:
        assert wait_for(lambda: all(_finished(engine, j) for j in lost), 30)
    finally:
        stop_consumer(consumer)
    assert {_job(engine, j).state for j in lost} == {"done"}
    assert _job(engine, alive).state == "running" and _job(engine, fresh).state == "queued"


def _a_dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_the_closed_months_scorecards_are_kept_once(engine: Engine) -> None:
    load(engine, *BOOK)
    now = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)  # the first day of November, company zone
    assert recompute_jobs.keep_closed_month(engine, Settings(), now) == 1
    assert recompute_jobs.keep_closed_month(engine, Settings(), now) is None
    closing = datetime(2026, 11, 1, tzinfo=UTC)
    with transaction(engine) as session:
        (kept,) = session.scalars(select(KeptScorecard)).all()
        (card,) = scorecards(session, "2026-10", closing)
    assert (kept.month, kept.csm_id, kept.as_of) == ("2026-10", "u-ana", closing)
    assert kept.card == orjson.loads(orjson.dumps(card.to_json()))
