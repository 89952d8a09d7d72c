"""Every periodic task, registered in one place. Add yours to `register`.

Each runs on the consumer's scheduler (in the jobs process of `keepwell serve`, or in
`keepwell worker` processes: Huey's scheduler enqueues a periodic task once per consumer, so
with several workers each must be safe to run twice at once, as these are).

The schedules are matched in UTC (the queue is built with Huey's `utc=True`, its default), so
the daily health of the company's day is asked for every hour and done by the first run after
midnight in KEEPWELL_TIMEZONE (`score_day_just_ended`): right through DST changes, and a day
missed while no worker ran is done by the next run.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from huey import Huey, crontab

from keepwell.config import Settings
from keepwell.domain.sla import SlaTargets
from keepwell.integrations.notify import Sender
from keepwell.jobs.queue import Jobs
from keepwell.jobs.recompute import keep_closed_month, requeue_lost_recomputes
from keepwell.services import alerts, deliveries, pruning, slack
from keepwell.services.company_settings import effective
from keepwell.services.health import HealthSummary, recompute_health, today_in
from keepwell.services.mail import MailSettings, MailSummary, poll_once
from keepwell.store.db import transaction

log = logging.getLogger(__name__)

# Names of the tasks run every minute: recorded only when they fail (`tasks.QUIET_WHEN_DONE`),
# or their 4,000 "done" rows a day would bury what the admin looks for.
EVERY_MINUTE = {"requeue_lost_deliveries", "alerts", "poll_mail"}
SEND_BUDGET = timedelta(seconds=45)  # sending in one run; a send times out after 30 s
# How long a run may hold its lease: past it, the worker holding it is taken for dead.
ALERTS_HOLD = timedelta(minutes=5)
POLL_HOLD = timedelta(minutes=10)


def requeue_lost(queue: Jobs, stale_after: timedelta = deliveries.STALE_AFTER) -> int:
    """Deliveries whose job was lost (a worker killed while holding one) run again, and
    those held for a channel mapped since. A consumer starting runs it with no delay: jobs
    held by a consumer killed before are gone."""
    found = deliveries.lost(queue.engine, datetime.now(UTC), stale_after)
    released = slack.release_mapped(queue.engine)
    if found.pending or released:
        queue.apply_pending()  # one job drains them all, in rounds
    for delivery_id in found.failed:
        queue.apply_delivery(delivery_id)
    count = len(found.pending) + len(found.failed) + len(released)
    if count:
        log.info("enqueued again the %d deliveries whose job was lost", count)
    # Recompute jobs too: those of a dead worker of this host at once when a consumer starts,
    # any whose worker fell silent after a while.
    starting = stale_after <= timedelta(0)
    requeue_lost_recomputes(queue, datetime.now(UTC), starting=starting)
    return count


def poll_mail(queue: Jobs, settings: Settings, now: datetime) -> MailSummary | None:
    """Read what is new in the shared inbox (KEEPWELL_IMAP_URL); None when it is not set or
    another worker is polling it now (two polls would read the same new mail)."""
    if not settings.imap_url:
        return None
    with _alone(queue.huey, "poll_mail", POLL_HOLD) as mine:
        if not mine:
            return None
        mail = MailSettings(tuple(settings.team_email_domains), _targets(queue, settings))
        return poll_once(queue.engine, settings.imap_url, mail, now)


def run_alerts(
    queue: Jobs, settings: Settings, clock: Callable[[], datetime]
) -> tuple[int, int] | None:
    """Plan the SLA alerts and the digests due by now, recover the claims of dead workers,
    then send the due alerts for up to SEND_BUDGET (the next minute's run sends the rest);
    returns (planned, handled), None when another run holds the alerts now.

    One run at a time: alerts are claimed one by one (never sent twice either way), but a
    slow mail server would otherwise tie up every worker thread of `keepwell serve`, and the
    deliveries would wait behind it."""
    with _alone(queue.huey, "alerts", ALERTS_HOLD) as mine:
        if not mine:
            return None
        senders, now = _senders(settings), clock()
        with transaction(queue.engine, writes=True) as session:
            chosen = _alert_settings(settings, effective(session, settings).sla)
            planned = alerts.plan_alerts(session, now, chosen)
            planned += alerts.queue_digests(session, now, chosen)
        alerts.recover_stale_claims(queue.engine, senders, now)
        worker = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        until, handled = time.monotonic() + SEND_BUDGET.total_seconds(), 0
        while time.monotonic() < until and alerts.send_due_alerts(
            queue.engine, senders, worker, clock, limit=1
        ):
            handled += 1
        return planned, handled


def score_day_just_ended(queue: Jobs, settings: Settings, now: datetime) -> HealthSummary | None:
    """The health snapshots of the company's day that ended last (KEEPWELL_TIMEZONE), once:
    None when a run (this worker's or another's) has already taken that day."""
    day = today_in(now, settings.timezone) - timedelta(days=1)
    key = _day_key(queue.huey, day)
    if not queue.huey.put_if_empty(key, now.isoformat()):
        return None
    try:
        with transaction(queue.engine, writes=True) as session:
            weights = effective(session, settings).weights
            return recompute_health(session, day, timezone=settings.timezone, weights=weights)
    except BaseException:
        queue.huey.delete(key)  # not done: the next hourly run tries the day again
        raise


def register(queue: Jobs, settings: Settings) -> None:
    huey, engine = queue.huey, queue.engine

    @huey.periodic_task(crontab(minute="*"), name="requeue_lost_deliveries")
    def requeue_lost_deliveries() -> int:
        return requeue_lost(queue)

    @huey.periodic_task(crontab(minute="*"), name="alerts")
    def alerts_task() -> None:
        run_alerts(queue, settings, lambda: datetime.now(UTC))

    if settings.imap_url:

        @huey.periodic_task(crontab(minute="*"), name="poll_mail")
        def poll_mail_task() -> None:
            poll_mail(queue, settings, datetime.now(UTC))

    @huey.periodic_task(crontab(minute="9"), name="keep_scorecards")
    def keep_scorecards_task() -> int | None:
        # Asked every hour, done once: by the first run of the month's first day in the
        # company zone (or the next, if no worker ran then).
        return keep_closed_month(engine, settings, datetime.now(UTC))

    @huey.periodic_task(crontab(minute="5"), name="daily_health")
    def daily_health() -> None:
        score_day_just_ended(queue, settings, datetime.now(UTC))

    @huey.periodic_task(crontab(minute="17", hour="3"), name="prune")
    def prune() -> dict[str, int]:
        return pruning.prune(engine, datetime.now(UTC))


def _targets(queue: Jobs, settings: Settings) -> SlaTargets:
    """The SLA targets in force now (an admin's change applies to the next run)."""
    with transaction(queue.engine) as session:
        return effective(session, settings).sla


def _alert_settings(settings: Settings, targets: SlaTargets) -> alerts.AlertSettings:
    return alerts.AlertSettings(
        lead_seconds=settings.alert_lead_seconds,
        targets=targets,
        slack=bool(settings.slack_bot_token),
        email=bool(settings.smtp_url),
    )


def _senders(settings: Settings) -> dict[str, Sender]:
    return alerts.configured_senders(
        slack_token=settings.slack_bot_token,
        slack_api_url=settings.slack_api_url,
        smtp_url=settings.smtp_url,
        from_address=settings.alert_from_email,
    )


def _day_key(huey: Huey, day: date) -> str:
    return f"{huey.name}.daily_health.{day.isoformat()}"


@contextmanager
def _alone(huey: Huey, name: str, hold: timedelta) -> Iterator[bool]:
    """A lease in the queue's own storage, which every worker shares: yields True to the one
    run that holds it, False to any other meanwhile. A lease past its `hold` belonged to a
    worker killed while holding it, and is taken over (Huey's own task locks never expire on
    SQLite: one killed worker would stop the task for good)."""
    key = f"{huey.name}.lease.{name}"
    expires = time.time() + hold.total_seconds()
    mine = bool(huey.put_if_empty(key, expires))
    if not mine:
        held_until = huey.get(key, peek=True)
        if held_until is not None and float(held_until) < time.time():
            log.warning("%s: the lease of a worker gone %s ago is taken over", name,
                        timedelta(seconds=round(time.time() - float(held_until))))  # fmt: skip
            huey.delete(key)
            mine = bool(huey.put_if_empty(key, expires))
    try:
        yield mine
    finally:
        if mine:
            huey.delete(key)
