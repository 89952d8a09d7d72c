"""Alerts to CSMs (PRODUCT.md 8, issue 15 section 4): planned as rows, sent by workers.

Each alert is a row (kind, subject, recipient, channel, due at, state, attempts, error),
unique on kind + subject + recipient, so planning twice plans nothing new. Any number of
workers send them: a worker claims a row with an optimistic update (`... SET state='sending'
WHERE id = ? AND state = 'pending'`) and goes on only if it changed one row, so two workers
never send one alert. The send happens outside any transaction; `sent` is recorded in a
transaction of its own: right after Slack accepted the message, or, for an email, just
before the "." that ends SMTP's DATA (the server delivers nothing without it: see
`integrations/notify/smtp.py`), and taken back if that last step fails.

A worker killed mid-send leaves a claim in `sending`. Such a claim, older than `stale_after`,
is recovered (`recover_stale_claims`): the channel is asked whether the alert went out
(Slack: the DM's history holds a message carrying the alert's id in its metadata; SMTP: no,
since the "." was never sent), and it is marked sent if so, else sent again. Every attempt
at one email carries the same Message-ID.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from keepwell.domain import alerts as rules
from keepwell.domain.hours import from_micros, seconds_to_micros, to_micros
from keepwell.domain.sla import SlaTargets, time_left_words
from keepwell.integrations.notify import Outgoing, Sender, SendFailed
from keepwell.services.inbox import inbox
from keepwell.services.ownership import owner_at
from keepwell.services.schedules import ALWAYS_OPEN, Calendars, load_schedules
from keepwell.store.db import transaction
from keepwell.store.models import (
    Account,
    Alert,
    Destination,
    HealthSnapshot,
    Message,
    NextStep,
    Request,
    User,
)

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=5)  # a claim older than this belongs to a dead worker
ANY_ADDRESS = "*"  # a destination row disabling a whole channel


@dataclass(frozen=True)
class AlertSettings:
    lead_seconds: int = 900
    targets: SlaTargets = field(default_factory=SlaTargets)
    slack: bool = False  # a bot token is set
    email: bool = False  # an SMTP URL is set


# ---------------------------------------------------------------- planning


def plan_alerts(session: Session, now: datetime, settings: AlertSettings) -> int:
    """Plan the warning and the breach alert of every request waiting for its first
    response; returns how many rows were new."""
    rows = session.execute(
        select(
            Request.id,
            Request.opened_at,
            Request.first_response_due,
            Request.schedule_id,
            owner_at(now).label("owner"),
        )
        .join(Account, Account.id == Request.account_id)
        .where(
            Request.first_response_at.is_(None),
            Request.resolved_at.is_(None),
            Request.first_response_due >= now - rules.MAX_LATE,
        )
    ).all()
    users = _recipients(session, {row.owner for row in rows if row.owner})
    calendars = Calendars(load_schedules(session))
    planned = 0
    for row in rows:
        user = users.get(row.owner)
        if user is None:
            continue
        warn_at = _warn_at(calendars, row.schedule_id, row.opened_at, settings)
        for kind, due_at in rules.request_alerts(row.first_response_due, warn_at, now):
            planned += _plan(session, kind, row.id, row.id, user, due_at, settings)
    return planned


def _warn_at(
    calendars: Calendars, schedule_id: str | None, opened_at: datetime, settings: AlertSettings
) -> datetime:
    """The lead time before the deadline, in business time: the deadline is the target's
    business time after the opening (PRODUCT.md 3), the warning that less the lead."""
    ahead = max(settings.targets.first_response_seconds - settings.lead_seconds, 0)
    calendar = calendars[schedule_id or ALWAYS_OPEN]
    micros = calendar.add([to_micros(opened_at)], [seconds_to_micros(str(ahead))])
    return from_micros(int(micros[0]), calendar.schedule)


def queue_digests(session: Session, now: datetime, settings: AlertSettings) -> int:
    """Plan today's digest of every CSM whose 08:00 has come, in their own zone."""
    csms = session.scalars(select(User).where(User.role == "csm")).all()
    planned = 0
    for user in csms:
        moment = rules.digest_moment(now, user.timezone)
        if moment is not None:
            day, due_at = moment
            planned += _plan(session, rules.DIGEST, day.isoformat(), None, user, due_at, settings)
    return planned


def _recipients(session: Session, ids: set[str]) -> dict[str, User]:
    if not ids:
        return {}
    return {user.id: user for user in session.scalars(select(User).where(User.id.in_(ids)))}


def channel_for(user: User, settings: AlertSettings) -> tuple[str, str]:
    """Slack when the app has a token and knows the user's Slack id; else email when SMTP is
    set and the user has an address; else the log (the embedded start)."""
    if settings.slack and user.slack_user_id:
        return "slack", user.slack_user_id
    if settings.email and user.email:
        return "email", user.email
    return "log", user.id


def _plan(
    session: Session,
    kind: str,
    subject: str,
    request_id: str | None,
    user: User,
    due_at: datetime,
    settings: AlertSettings,
) -> int:
    channel, address = channel_for(user, settings)
    values = {
        "kind": kind,
        "subject": subject,
        "request_id": request_id,
        "recipient_id": user.id,
        "channel": channel,
        "address": address,
        "due_at": due_at,
        "state": rules.PENDING,
        "attempts": 0,
        "next_attempt_at": due_at,
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Alert)
        .values(values)
        .on_conflict_do_nothing(index_elements=["kind", "subject", "recipient_id"])
        .returning(Alert.id)
    )
    return len(session.execute(statement).all())  # the row, or none when planned already


# ---------------------------------------------------------------- sending


def claim_alert(session: Session, alert_id: int, worker: str, now: datetime) -> bool:
    """Claim a pending alert for `worker`: True only for the one claim that changed the row."""
    result = session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.state == rules.PENDING)
        .values(
            state=rules.SENDING,
            claimed_by=worker,
            claimed_at=now,
            attempts=Alert.attempts + 1,
        )
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def handle_one_alert(
    engine: Engine, senders: Mapping[str, Sender], worker: str, now: datetime
) -> bool:
    """Claim the next due alert, send it, record the outcome; False when none is due."""
    with transaction(engine, writes=True) as session:
        alert_id = session.scalar(
            select(Alert.id)
            .where(Alert.state == rules.PENDING, Alert.next_attempt_at <= now)
            .order_by(Alert.next_attempt_at, Alert.id)
            .limit(1)
        )
        if alert_id is None:
            return False
        if not claim_alert(session, alert_id, worker, now):
            return True  # another worker took it: look for the next
        outgoing = _prepare(session, alert_id, now)
    if outgoing is None:
        return True
    sender = senders.get(outgoing.channel) or senders["log"]
    committed = False

    def commit() -> None:
        nonlocal committed
        _record_sent(engine, alert_id, worker, now)
        committed = True

    try:
        sender.send(outgoing, commit)
    except SendFailed as failure:
        _record_failure(engine, alert_id, worker, failure, now, recorded_sent=committed)
        return True
    if not committed:
        commit()
    return True


def send_due_alerts(
    engine: Engine,
    senders: Mapping[str, Sender],
    worker: str,
    clock: Callable[[], datetime],
    limit: int | None = None,
) -> int:
    """Handle due alerts one by one until none is left (or `limit`); returns how many."""
    handled = 0
    while (limit is None or handled < limit) and handle_one_alert(engine, senders, worker, clock()):
        handled += 1
    return handled


def _prepare(session: Session, alert_id: int, now: datetime) -> Outgoing | None:
    """The alert's words as of now; None (and the row closed) when it is no longer wanted
    or its destination is disabled."""
    alert = session.get(Alert, alert_id, populate_existing=True)
    assert alert is not None
    disabled = _disabled(session, alert.channel, alert.address)
    if disabled is not None:
        _close(alert, rules.FAILED, f"destination disabled: {disabled.reason}")
        return None
    if alert.kind == rules.DIGEST:
        subject, text = _digest(session, alert, now)
    else:
        words = _request_words(session, alert, now)
        if words is None:
            return None
        subject, text = words
    return Outgoing(alert.id, alert.channel, alert.address, subject, text, alert.claimed_at or now)


def _close(alert: Alert, state: str, error: str | None) -> None:
    alert.state, alert.error, alert.claimed_by = state, error, None


def _request_words(session: Session, alert: Alert, now: datetime) -> tuple[str, str] | None:
    request = session.get(Request, alert.request_id) if alert.request_id else None
    if request is None or request.first_response_at or request.resolved_at:
        _close(alert, rules.CANCELLED, "answered or resolved before the alert went out")
        return None
    due = request.first_response_due or now
    if alert.kind == rules.WARNING and due <= now:
        _close(alert, rules.CANCELLED, "the deadline passed: the breach alert says it")
        return None
    account = session.get(Account, request.account_id)
    name = account.name if account else request.account_id
    message = session.get(Message, request.last_inbound_id) if request.last_inbound_id else None
    calendar = Calendars(load_schedules(session))[request.schedule_id or ALWAYS_OPEN]
    start, end = sorted((to_micros(now), to_micros(due)))
    seconds = float(calendar.between([start], [end])[0]) / 1e6 * (1 if due >= now else -1)
    text = rules.request_alert_text(
        alert.kind, name, time_left_words(seconds), message.text if message else None
    )
    title = "SLA breached" if alert.kind == rules.BREACH else "First response due soon"
    return f"Keepwell: {title} — {name}", text


def _digest(session: Session, alert: Alert, now: datetime) -> tuple[str, str]:
    csm = alert.recipient_id
    user = session.get(User, csm)
    today = date.fromisoformat(alert.subject)
    zone = ZoneInfo(user.timezone if user else "UTC")
    waiting = [
        rules.WaitingRequest(item.account_name, item.time_left, item.last_client_message)
        for item in inbox(session, csm, now)
    ]
    query = select(Account.id, Account.name).where(owner_at(now) == csm)
    owned = {account_id: name for account_id, name in session.execute(query)}
    steps = _overdue_steps(session, owned, now.astimezone(zone).date())
    at_risk = _at_risk(session, owned)
    text = rules.digest_text(today, waiting, steps, at_risk)
    return f"Keepwell digest {today.isoformat()}", text


def _overdue_steps(
    session: Session, accounts: dict[str, str], today: date
) -> list[rules.OverdueStep]:
    if not accounts:
        return []
    latest = (
        select(NextStep.account_id, func.max(NextStep.at).label("at"))
        .where(NextStep.account_id.in_(accounts))
        .group_by(NextStep.account_id)
        .subquery()
    )
    rows = session.execute(
        select(NextStep.account_id, NextStep.text, NextStep.due).join(
            latest, and_(NextStep.account_id == latest.c.account_id, NextStep.at == latest.c.at)
        )
    )
    return sorted(
        (rules.OverdueStep(accounts[a], text, due) for a, text, due in rows if due < today),
        key=lambda step: (step.due, step.account),
    )


def _at_risk(session: Session, accounts: dict[str, str]) -> list[str]:
    """The accounts whose latest health snapshot is red (PRODUCT.md 5)."""
    if not accounts:
        return []
    latest = (
        select(HealthSnapshot.account_id, func.max(HealthSnapshot.day).label("day"))
        .where(HealthSnapshot.account_id.in_(accounts))
        .group_by(HealthSnapshot.account_id)
        .subquery()
    )
    rows = session.execute(
        select(HealthSnapshot.account_id)
        .join(
            latest,
            and_(
                HealthSnapshot.account_id == latest.c.account_id,
                HealthSnapshot.day == latest.c.day,
            ),
        )
        .where(HealthSnapshot.band == "red")
    )
    return sorted(accounts[account_id] for (account_id,) in rows)


def _disabled(session: Session, channel: str, address: str) -> Destination | None:
    return session.scalar(
        select(Destination)
        .where(Destination.channel == channel, Destination.address.in_([address, ANY_ADDRESS]))
        .limit(1)
    )


def _record_sent(engine: Engine, alert_id: int, worker: str, now: datetime) -> None:
    with transaction(engine, writes=True) as session:
        session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.state == rules.SENDING)
            .values(state=rules.SENT, sent_at=now, error=None, claimed_by=None)
        )


def _record_failure(
    engine: Engine,
    alert_id: int,
    worker: str,
    failure: SendFailed,
    now: datetime,
    *,
    recorded_sent: bool = False,
) -> None:
    """`recorded_sent`: the channel had us record the send just before its last step, which
    then failed (SMTP's final "." refused or cut off): the send is taken back."""
    with transaction(engine, writes=True) as session:
        alert = session.get(Alert, alert_id, populate_existing=True)
        if alert is None:
            return
        if recorded_sent and alert.state == rules.SENT and alert.sent_at == now:
            alert.state, alert.sent_at, alert.claimed_by = rules.SENDING, None, worker
        if alert.state != rules.SENDING or alert.claimed_by != worker:
            return  # recovered meanwhile by another worker: its outcome stands
        if failure.permanent:
            address = ANY_ADDRESS if failure.whole_channel else alert.address
            _disable(session, alert.channel, address, failure.reason, now)
            _close(alert, rules.FAILED, failure.reason)
            log.error("alert %s: %s; %s %s disabled", alert_id, failure.reason, alert.channel,
                      address)  # fmt: skip
        elif alert.attempts >= rules.MAX_ATTEMPTS:
            _close(alert, rules.FAILED, f"{failure.reason} (after {alert.attempts} attempts)")
        else:
            _close(alert, rules.PENDING, failure.reason)
            alert.next_attempt_at = now + rules.retry_delay(alert.attempts)


def _disable(session: Session, channel: str, address: str, reason: str, now: datetime) -> None:
    if session.get(Destination, (channel, address)) is None:
        session.add(Destination(channel=channel, address=address, disabled_at=now, reason=reason))


def recover_stale_claims(
    engine: Engine,
    senders: Mapping[str, Sender],
    now: datetime,
    stale_after: timedelta = STALE_AFTER,
) -> int:
    """Claims left in `sending` by a worker that died: marked sent when the channel says the
    alert went out, else made pending again to be resent (see the module's docstring)."""
    with transaction(engine) as session:
        stale = session.execute(
            select(Alert.id, Alert.channel, Alert.address, Alert.claimed_at).where(
                Alert.state == rules.SENDING, Alert.claimed_at <= now - stale_after
            )
        ).all()
    for alert_id, channel, address, claimed_at in stale:
        probe = Outgoing(alert_id, channel, address, "", "", claimed_at or now)
        delivered = (senders.get(channel) or senders["log"]).delivered(probe)
        values = (
            {"state": rules.SENT, "sent_at": now, "claimed_by": None}
            if delivered
            else {"state": rules.PENDING, "next_attempt_at": now, "claimed_by": None}
        )
        with transaction(engine, writes=True) as session:
            session.execute(
                update(Alert)
                .where(
                    Alert.id == alert_id,
                    Alert.state == rules.SENDING,
                    Alert.claimed_at == claimed_at,
                )
                .values(**values)
            )
        log.warning("alert %s: a stale claim, %s", alert_id, "delivered" if delivered else "resent")
    return len(stale)


# ---------------------------------------------------------------- the admin's view


def list_alerts(session: Session, *, failed: bool = False, limit: int = 200) -> list[Alert]:
    query = select(Alert).order_by(Alert.due_at.desc(), Alert.id.desc()).limit(limit)
    if failed:
        query = query.where(Alert.state == rules.FAILED)
    return list(session.scalars(query))


def disabled_destinations(session: Session) -> list[Destination]:
    return list(session.scalars(select(Destination).order_by(Destination.disabled_at)))


def enable_destination(session: Session, channel: str, address: str) -> bool:
    """Enable a disabled destination again (after the admin fixed it); False if it was not
    disabled."""
    found = session.get(Destination, (channel, address))
    if found is None:
        return False
    session.delete(found)
    return True


def configured_senders(
    *,
    slack_token: str | None,
    slack_api_url: str | None,
    smtp_url: str | None,
    from_address: str,
) -> dict[str, Sender]:
    """The senders the settings make available; the log's always."""
    from keepwell.integrations.notify.log import LogSender

    senders: dict[str, Sender] = {"log": LogSender()}
    if slack_token:
        from keepwell.integrations.slack.client import SlackSender

        senders["slack"] = SlackSender(slack_token, slack_api_url)
    if smtp_url:
        from keepwell.integrations.notify.smtp import SmtpSender

        senders["email"] = SmtpSender(smtp_url, from_address)
    return senders
