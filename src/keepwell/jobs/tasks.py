"""The tasks: each calls one service; no rule lives here.

Registered on a queue bound to one database (`register`), so the web process that enqueues
and the worker that runs them name the same tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from huey import Huey, signals
from huey.api import Task
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from keepwell.config import Settings
from keepwell.integrations.slack import SOURCE as SLACK
from keepwell.integrations.slack import apply as slack
from keepwell.jobs import recompute
from keepwell.jobs.draining import Drainer
from keepwell.jobs.periodic import EVERY_MINUTE
from keepwell.services import deliveries, jobs
from keepwell.services.company_settings import effective
from keepwell.services.deliveries import StoredDelivery

log = logging.getLogger(__name__)

APPLY_DELIVERY = "apply_delivery"
APPLY_PENDING = "apply_pending"
# Rounds of applying deliveries start at least this far apart (`draining`): a burst's
# deliveries wait up to this long, in exchange for far fewer, larger rounds.
APPLY_PAUSE = 0.05
# Jobs recorded only when they fail: a delivery is its own record (`deliveries`), and
# thousands a minute of "done" rows would bury what the admin looks for; so would a row a
# minute for each periodic task run every minute.
QUIET_WHEN_DONE = {APPLY_DELIVERY, APPLY_PENDING, *EVERY_MINUTE}
# Jobs that keep their own record, progress included (`services.jobs.claim`): the signals
# leave them alone.
SELF_RECORDED = {recompute.RECOMPUTE}


def appliers(settings: Settings) -> dict[str, deliveries.Applier]:
    """Each source's applier, configured; the SLA targets are those in force when it runs."""

    def apply_slack(session: Session, stored: Sequence[StoredDelivery]) -> dict[int, str]:
        targets = effective(session, settings).sla
        return slack.apply(
            session, stored, resolve_emoji=settings.slack_resolve_emoji, targets=targets
        )

    return {SLACK: apply_slack}


def register(huey: Huey, engine: Engine, settings: Settings) -> dict[str, Any]:
    """Register every task on `huey`, bound to `engine`, and the job record; return the
    tasks by name (calling one enqueues it)."""
    sources = appliers(settings)

    @huey.task(
        # Huey retries on `DeliveryFailed`; the delivery's own count decides when it is dead.
        retries=deliveries.MAX_ATTEMPTS,
        retry_delay=deliveries.RETRY_DELAY,
        retry_backoff=deliveries.RETRY_BACKOFF,
        name=APPLY_DELIVERY,
    )
    def apply_delivery(delivery_id: int) -> None:
        deliveries.apply_delivery(engine, delivery_id, sources, datetime.now(UTC))

    def one_round() -> bool:
        round_ = deliveries.apply_oldest(engine, sources, datetime.now(UTC))
        if round_.failed is not None:  # retried on its own, by its own job, with backoff
            apply_delivery.schedule((round_.failed,), delay=deliveries.RETRY_DELAY)
        return round_.found

    drainer = Drainer(one_round, APPLY_PAUSE)

    @huey.task(name=APPLY_PENDING)
    def apply_pending() -> None:
        drainer.drain()

    _record_jobs(huey, engine)
    return {
        APPLY_DELIVERY: apply_delivery,
        APPLY_PENDING: apply_pending,
        **recompute.register(huey, engine, settings),
    }


def _record_jobs(huey: Huey, engine: Engine) -> None:
    @huey.signal(signals.SIGNAL_EXECUTING)
    def started(signal: str, task: Task, *_: Any) -> None:
        if task.name not in QUIET_WHEN_DONE | SELF_RECORDED:
            _record(engine, task, jobs.RUNNING)

    @huey.signal(signals.SIGNAL_COMPLETE)
    def done(signal: str, task: Task, *_: Any) -> None:
        if task.name not in QUIET_WHEN_DONE | SELF_RECORDED:
            _record(engine, task, jobs.DONE)

    @huey.signal(signals.SIGNAL_ERROR)
    def failed(signal: str, task: Task, exc: BaseException | None = None, *_: Any) -> None:
        if task.name in SELF_RECORDED:
            return
        state = jobs.RETRYING if task.retries else jobs.FAILED
        error = f"{type(exc).__name__}: {exc}" if exc else None
        _record(engine, task, state, error, attempt=task.name in QUIET_WHEN_DONE)


def _record(
    engine: Engine, task: Task, state: str, error: str | None = None, *, attempt: bool = False
) -> None:
    try:
        args = repr(task.args)[:500] if task.args else None
        now = datetime.now(UTC)
        jobs.record(engine, task.id, task.name, args, state, now, error, attempt=attempt)
    except Exception:  # the record must never make a job fail
        log.exception("could not record job %s", task.id)
