"""Every periodic task, registered in one place. Add yours to `register`.

Each runs on the consumer's scheduler (inside `keepwell serve`, or in `keepwell worker`
processes: Huey's scheduler enqueues a periodic task once per consumer, so with several
workers each must be safe to run twice at once, as these are)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from huey import crontab

from keepwell.config import Settings
from keepwell.jobs.queue import Jobs
from keepwell.services import deliveries, jobs, slack

log = logging.getLogger(__name__)


def requeue_lost(queue: Jobs, stale_after: timedelta = deliveries.STALE_AFTER) -> int:
    """Deliveries whose job was lost (a worker killed while holding one) run again, and
    those held for a channel mapped since. A consumer starting runs it with no delay: jobs
    held by a consumer killed before are gone."""
    ids = deliveries.lost(queue.engine, datetime.now(UTC), stale_after)
    ids += slack.release_mapped(queue.engine)
    for delivery_id in ids:
        queue.apply_delivery(delivery_id)
    if ids:
        log.info("re-enqueued %d deliveries whose job was lost", len(ids))
    return len(ids)


def register(queue: Jobs, settings: Settings) -> None:
    huey, engine = queue.huey, queue.engine

    @huey.periodic_task(crontab(minute="*"), name="requeue_lost_deliveries")
    def requeue_lost_deliveries() -> int:
        return requeue_lost(queue)

    @huey.periodic_task(crontab(minute="17", hour="3"), name="prune_jobs")
    def prune_jobs() -> int:
        return jobs.prune(engine, datetime.now(UTC))
