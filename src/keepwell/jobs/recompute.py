"""Recompute jobs (issue 14 §4, §5): what a settings page enqueues after a change of rules.

    job_id = get_jobs(request.app).enqueue_recompute(["sla"], reason="schedule weekdays-9-17",
                                                     by=user.id)

The job runs `services.recompute` in a worker (the threads of `keepwell serve`, or `keepwell
worker` processes on Redis) and keeps its own record in the `jobs` table: queued, running with
its progress (done of total steps, and what it is doing), done, or retrying and then failed
with its error. A worker killed while running one leaves it behind; the next consumer to start
on this host, or any consumer's minute check once its heartbeat is STALE_AFTER old, enqueues
it again, and it runs from the start (a rerun gives the same result: see services.recompute).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from huey import Huey
from huey.api import Task
from sqlalchemy import Engine

from keepwell.config import Settings
from keepwell.services import company_settings, jobs, recompute
from keepwell.services.scorecard import keep_scorecards, kept_months, last_closed_month
from keepwell.store.db import transaction

if TYPE_CHECKING:
    from keepwell.jobs.queue import Jobs

log = logging.getLogger(__name__)

RECOMPUTE = recompute.RECOMPUTE
RETRIES = 3  # after the first attempt; then the job is shown failed, with its error
RETRY_DELAY = 2.0  # seconds before the second attempt; tripled for each one after
RETRY_BACKOFF = 3.0
# A running job's heartbeat comes with each step (seconds apart): one this old is an orphan.
STALE_AFTER = timedelta(minutes=2)


def enqueue_recompute(queue: Jobs, kinds: Sequence[str], *, reason: str, by: str | None) -> str:
    """Record and enqueue a recompute of `kinds` (some of "sla", "health", "scorecards"; run
    in that order whatever the order given) and return its job id, to show its progress
    (`services.jobs.get_job`). `reason` says why in the job list ("schedule weekdays-9-17
    from 2026-12-07"), `by` is the user who asked (None for the system). Call it after the
    change it follows has committed: the job reads the book as it is when it runs.
    `services.recompute.UnknownKind` for a kind that does not exist.

    A service that makes the change can instead record the job in its own transaction
    (`services.recompute.record_recompute`) and the caller send it once committed
    (`send_recompute`)."""
    with transaction(queue.engine, writes=True) as session:
        job_id = recompute.record_recompute(
            session, kinds, reason=reason, by=by, now=datetime.now(UTC)
        )
    send_recompute(queue, job_id)
    return job_id


def send_recompute(queue: Jobs, job_id: str) -> None:
    """Enqueue the recorded recompute `job_id`. Were this lost (Redis down), the job stays
    QUEUED in the database and the minute's check enqueues it once STALE_AFTER old
    (`requeue_lost_recomputes`)."""
    queue.tasks[RECOMPUTE](id=job_id)


def rules_of(engine: Engine, settings: Settings) -> recompute.Rules:
    """The rules in force when the job runs: an admin's saved values, else the
    environment's (services/company_settings.py)."""
    with transaction(engine) as session:
        in_force = company_settings.effective(session, settings)
        return recompute.Rules(
            sla_targets=in_force.sla,
            timezone=settings.timezone,
            weights=in_force.weights,
            targets=in_force.targets,
        )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def register(huey: Huey, engine: Engine, settings: Settings) -> dict[str, Any]:
    """Register the recompute task on `huey`, bound to `engine`."""

    @huey.task(
        retries=RETRIES,
        retry_delay=RETRY_DELAY,
        retry_backoff=RETRY_BACKOFF,
        name=RECOMPUTE,
        context=True,
    )
    def recompute_task(task: Task) -> None:
        run_job(engine, task.id, settings, retries_left=task.retries)

    return {RECOMPUTE: recompute_task}


def run_job(engine: Engine, job_id: str, settings: Settings, *, retries_left: int) -> None:
    """One attempt at the job: its error is recorded (RETRYING while attempts are left, then
    FAILED) and raised again, so that the queue retries it with backoff."""
    worker = worker_id()
    try:
        ran = recompute.run_recompute(
            engine, job_id, rules_of(engine, settings), worker, lambda: datetime.now(UTC)
        )
    except jobs.Superseded:
        log.warning("recompute %s: taken over by another worker; this run stops", job_id)
        return
    except Exception as exc:
        state = jobs.RETRYING if retries_left else jobs.FAILED
        error = f"{type(exc).__name__}: {exc}"
        jobs.finish(engine, job_id, worker, state, datetime.now(UTC), error[:2000])
        raise
    if not ran:
        log.info("recompute %s: running elsewhere or finished; nothing to do", job_id)


def requeue_lost_recomputes(queue: Jobs, now: datetime, *, starting: bool = False) -> int:
    """Enqueue again the recomputes nobody will finish (`jobs.lost`): held by a process of
    this host that is gone (or, for a consumer `starting`, by this very process id, from a
    life before), or silent for STALE_AFTER. How many."""
    here = socket.gethostname()

    def dead(worker: str) -> bool:
        host, _, pid = worker.rpartition(":")
        if host != here or not pid.isdigit():
            return False
        if int(pid) == os.getpid():
            return starting
        return not _alive(int(pid))

    found = jobs.lost(queue.engine, [RECOMPUTE], now, STALE_AFTER, dead)
    count = 0
    for job in found:
        if jobs.release(queue.engine, job, now):
            send_recompute(queue, job.id)
            count += 1
    if count:
        log.info("re-enqueued %d recompute job(s) whose worker was lost", count)
    return count


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def keep_closed_month(engine: Engine, settings: Settings, now: datetime) -> int | None:
    """The scorecards of the month that ended last (company zone), kept once: None when
    they are kept already (this run's or another worker's), else how many were kept."""
    month = last_closed_month(now, settings.timezone)
    with transaction(engine, writes=True) as session:
        if month in kept_months(session, month):
            return None
        return keep_scorecards(
            session, month, now, targets=company_settings.effective(session, settings).targets,
            company_timezone=settings.timezone,
        )  # fmt: skip
