"""The periodic tasks (issue 15): each does its work once, even when two workers' schedulers
run it at the same moment, and one runs from the real SQLite queue through a consumer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, func, select

from book import BASICS, CONTACT, load, message
from keepwell.config import Settings
from keepwell.jobs import periodic
from keepwell.jobs.queue import Jobs, create_jobs, start_consumer, stop_consumer
from keepwell.services.jobs import list_jobs
from keepwell.store.db import transaction
from keepwell.store.models import Alert, HealthRun, HealthSnapshot, Message
from servers import deliver, dovecot, smtp_server
from workers import REDIS_URL, redis_available, redis_queue, wait_for

T = TypeVar("T")
# Friday 16:50 in New York: the first response is due Monday 09:50, the warning at 09:35.
FRIDAY_1650_NY = "2026-10-02T20:50:00Z"
MONDAY_0935_NY = datetime(2026, 10, 5, 13, 35, tzinfo=UTC)


def at_once(*calls: Callable[[], T]) -> list[T]:
    """Run the calls in threads released together, as two workers' schedulers would."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def count(engine: Engine, model: Any, *where: Any) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def queue(engine: Engine, tmp_path: Path, **settings: Any) -> tuple[Jobs, Settings]:
    chosen = Settings(jobs_path=str(tmp_path / "jobs.db"), **settings)
    return create_jobs(engine, chosen), chosen


@pytest.mark.parametrize("storage", ["sqlite", "redis"])
def test_two_alert_runs_at_once_send_each_due_alert_once(
    engine: Engine, tmp_path: Path, storage: str
) -> None:
    if storage == "redis" and not redis_available():
        pytest.skip("no Redis server")
    load(engine, *BASICS, message("m-1", "t-1", FRIDAY_1650_NY))
    with smtp_server() as (url, server), redis_queue() as name:
        redis = {"redis_url": REDIS_URL, "jobs_queue": name} if storage == "redis" else {}
        jobs, settings = queue(engine, tmp_path, smtp_url=url, **redis)

        def run() -> tuple[int, int] | None:
            return periodic.run_alerts(jobs, settings, lambda: MONDAY_0935_NY)

        runs = [run for run in at_once(run, run) if run is not None]
        # A minute later, nothing new is planned and nothing is sent again.
        assert run() == (0, 0)
    planned = sum(planned for planned, _ in runs)
    assert planned == count(engine, Alert) == 3  # the warning, the breach, Monday's digest
    subjects = sorted(mail.subject for mail in server.messages)
    assert subjects == ["Keepwell digest 2026-10-05", "Keepwell: First response due soon — Acme"]
    assert sum(sent for _, sent in runs) == 2
    assert count(engine, Alert, Alert.state == "sent") == 2  # the breach waits for 09:50


def test_two_mail_polls_at_once_file_each_new_mail_once(engine: Engine, tmp_path: Path) -> None:
    load(engine, *BASICS[:-1], {**CONTACT, "email": "joe@acme.example"})
    now = datetime(2026, 10, 5, 18, 0, tzinfo=UTC)
    with dovecot() as imap:
        jobs, settings = queue(
            engine, tmp_path, imap_url=imap.url, team_email_domains=["example.com"]
        )
        deliver(imap, now, "m1", "m2")
        polls = at_once(*[lambda: periodic.poll_mail(jobs, settings, now)] * 2)
        assert count(engine, Message) == 2
        assert sorted(poll.applied if poll else 0 for poll in polls) == [0, 2]
        deliver(imap, now, "m3")
        again = periodic.poll_mail(jobs, settings, now)
    assert again is not None and (again.applied, again.duplicate) == (1, 0)
    assert count(engine, Message) == 3


def test_it_polls_no_mail_without_an_imap_url(engine: Engine, tmp_path: Path) -> None:
    jobs, settings = queue(engine, tmp_path, imap_url=None)
    assert periodic.poll_mail(jobs, settings, datetime.now(UTC)) is None


def test_a_lease_left_by_a_killed_worker_is_taken_over_once_past_its_hold(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, *BASICS, message("m-1", "t-1", FRIDAY_1650_NY))
    jobs, settings = queue(engine, tmp_path)
    # A worker killed mid-run never released its lease: it still holds it for a while...
    key = f"{jobs.huey.name}.lease.alerts"
    jobs.huey.put(key, time.time() + 60)
    assert periodic.run_alerts(jobs, settings, lambda: MONDAY_0935_NY) is None
    # ...and once its hold has passed, the next run takes it over: it plans and sends.
    jobs.huey.put(key, time.time() - 1)
    assert periodic.run_alerts(jobs, settings, lambda: MONDAY_0935_NY) == (3, 2)
    assert jobs.huey.get(key, peek=True) is None  # released after the run


def test_the_day_just_ended_in_the_company_zone_is_scored_once(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, *BASICS, message("m-1", "t-1", FRIDAY_1650_NY))
    jobs, settings = queue(engine, tmp_path, timezone="America/New_York")
    # 01:30 UTC on Tuesday is 21:30 on Monday in New York: the day that ended is Sunday.
    now = datetime(2026, 10, 6, 1, 30, tzinfo=UTC)
    runs = at_once(*[lambda: periodic.score_day_just_ended(jobs, settings, now)] * 2)
    done = [run for run in runs if run is not None]
    assert len(done) == 1 and done[0].day == date(2026, 10, 4)
    with transaction(engine) as session:
        assert list(session.scalars(select(HealthRun.day))) == [date(2026, 10, 4)]
    assert count(engine, HealthSnapshot) == done[0].accounts == 1
    # The next hourly run finds the day done; after New York's midnight, Monday is scored.
    assert periodic.score_day_just_ended(jobs, settings, now + timedelta(hours=1)) is None
    monday = periodic.score_day_just_ended(jobs, settings, now + timedelta(hours=3))
    assert monday is not None and monday.day == date(2026, 10, 5)


def test_a_failed_day_is_tried_again_by_the_next_run(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, *BASICS)
    jobs, settings = queue(engine, tmp_path)
    now = datetime(2026, 10, 6, 1, 30, tzinfo=UTC)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(periodic, "recompute_health", broken)
    with pytest.raises(RuntimeError):
        periodic.score_day_just_ended(jobs, settings, now)
    monkeypatch.undo()
    again = periodic.score_day_just_ended(jobs, settings, now)
    assert again is not None and again.day == date(2026, 10, 5)


def test_the_mail_poll_runs_from_the_sqlite_queue_through_a_consumer(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, *BASICS[:-1], {**CONTACT, "email": "joe@acme.example"})
    with dovecot() as imap:
        deliver(imap, datetime.now(UTC), "m1", "m2")
        jobs, _ = queue(engine, tmp_path, imap_url=imap.url, team_email_domains=["example.com"])
        # The scheduler enqueues the every-minute tasks as the consumer starts.
        consumer = start_consumer(jobs, periodic=True)
        try:
            assert wait_for(lambda: count(engine, Message) == 2, 30)
        finally:
            stop_consumer(consumer)
    # Tasks run every minute are recorded only when they fail.
    assert not {job.name for job in list_jobs(engine)} & periodic.EVERY_MINUTE
