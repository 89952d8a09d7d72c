"""The job queue, built from the settings in one place.

Embedded (the default): a SQLite queue in a file beside the database (`keepwell-jobs.db` next
to `keepwell.db`, or `KEEPWELL_JOBS_PATH`), consumed by the jobs process `keepwell serve` starts.
Production: Redis (`KEEPWELL_REDIS_URL`), consumed by `keepwell worker` processes. The same
tasks either way (`keepwell.jobs.tasks`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from sqlalchemy import Engine

from keepwell.config import Settings
from keepwell.jobs.draining import Doorbell
from keepwell.store.db import sqlite_path

log = logging.getLogger(__name__)


def jobs_path(settings: Settings) -> Path:
    """The SQLite queue's file: the setting, else beside a SQLite database, else here."""
    if settings.jobs_path:
        return Path(settings.jobs_path)
    database = sqlite_path(settings.database_url)
    if database is None:
        return Path("keepwell-jobs.db").resolve()
    return database.with_name(f"{database.stem}-jobs.db")


def build_huey(settings: Settings, *, name: str | None = None) -> Huey:
    """The queue the settings name. Its name (`KEEPWELL_JOBS_QUEUE`) prefixes every Redis
    key, so that deployments (or tests) can share one Redis."""
    name = name or settings.jobs_queue
    if settings.redis_url:
        return RedisHuey(name, url=settings.redis_url, results=False, utc=True)
    # Huey's SQLite storage waits up to `timeout` seconds for the queue's write lock.
    return SqliteHuey(name, filename=str(jobs_path(settings)), results=False, timeout=30)


@dataclass
class Jobs:
    """The queue with Keepwell's tasks registered on it, bound to one database."""

    huey: Huey
    engine: Engine
    tasks: dict[str, Any]
    _doorbell: Doorbell | None = field(default=None, init=False)

    def apply_delivery(self, delivery_id: int) -> None:
        """Enqueue the job that applies one stored delivery (issue 15 §1)."""
        from keepwell.jobs.tasks import APPLY_DELIVERY

        self.tasks[APPLY_DELIVERY](delivery_id)

    def enqueue_recompute(self, kinds: Sequence[str], *, reason: str, by: str | None) -> str:
        """Record and enqueue a recompute of `kinds` ("sla", "health", "scorecards"); its job
        id (`keepwell.jobs.recompute.enqueue_recompute`)."""
        from keepwell.jobs.recompute import enqueue_recompute

        return enqueue_recompute(self, kinds, reason=reason, by=by)

    def send_recompute(self, job_id: str) -> None:
        """Enqueue a recompute recorded in a service's transaction (`record_recompute`)."""
        from keepwell.jobs.recompute import send_recompute

        send_recompute(self, job_id)

    def apply_pending(self) -> None:
        """Enqueue the job that applies every pending delivery, in rounds (`draining`)."""
        from keepwell.jobs.tasks import APPLY_PENDING

        self.tasks[APPLY_PENDING]()

    def deliveries_stored(self) -> None:
        """Deliveries were stored: `apply_pending`, once for many calls close together."""
        from keepwell.jobs.tasks import APPLY_PAUSE

        if self._doorbell is None:
            self._doorbell = Doorbell(self.apply_pending, APPLY_PAUSE)
        self._doorbell.press()

    def close(self) -> None:
        """Enqueue now what a doorbell would later (the process is stopping)."""
        if self._doorbell is not None:
            self._doorbell.close()


def create_jobs(engine: Engine, settings: Settings, *, name: str | None = None) -> Jobs:
    """The configured queue with every task and periodic task registered."""
    from keepwell.jobs import periodic, tasks

    huey = build_huey(settings, name=name)
    registered = tasks.register(huey, engine, settings)
    jobs = Jobs(huey, engine, registered)
    periodic.register(jobs, settings)
    return jobs


class _ThreadConsumer(Consumer):
    # Inside `keepwell serve` the web server owns the process's signals: the consumer must
    # not take SIGINT and SIGTERM from it. It is stopped from the app's lifespan instead.
    def _set_signal_handlers(self) -> None:
        pass


def start_consumer(jobs: Jobs, *, workers: int = 2, periodic: bool = True) -> Consumer:
    """Consume the queue in threads of this process (started, not waited for)."""
    consumer = _ThreadConsumer(
        jobs.huey,
        workers=workers,
        worker_type="thread",
        periodic=periodic,
        initial_delay=0.05,
        max_delay=0.1,  # as a jobs process's (`worker.POLL_AT_MOST`)
        check_worker_health=False,
    )
    consumer.start()
    return consumer


def stop_consumer(consumer: Consumer) -> None:
    """Stop the consumer's threads, letting the jobs they run finish."""
    consumer.stop(graceful=True)
