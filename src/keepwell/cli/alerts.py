"""`keepwell alerts`: SLA warnings, breaches and daily digests to CSMs (issue 15 section 4)."""

from __future__ import annotations

import os
import socket
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail, parse_instant, rules
from keepwell.cli.loop import log_to_stderr as _log_to_stderr
from keepwell.cli.loop import run_loop
from keepwell.config import get_settings
from keepwell.integrations.notify.smtp import SmtpUrlError
from keepwell.services.alerts import (
    STALE_AFTER,
    AlertSettings,
    configured_senders,
    disabled_destinations,
    enable_destination,
    handle_one_alert,
    list_alerts,
    plan_alerts,
    queue_digests,
    recover_stale_claims,
)
from keepwell.store.db import transaction
from keepwell.store.models import Alert, Destination

alerts_app = typer.Typer(help="Alerts to CSMs: planned, sent, failed.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


def _alert_settings(session: Session) -> AlertSettings:
    """Read in each unit of work: an SLA target an admin changes applies to the next plan."""
    settings = get_settings()
    return AlertSettings(
        lead_seconds=settings.alert_lead_seconds,
        targets=rules(session).sla,
        slack=bool(settings.slack_bot_token),
        email=bool(settings.smtp_url),
    )


@alerts_app.command("plan")
def plan_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601; default now.")] = None,
    loop: Annotated[bool, typer.Option("--loop", help="Plan until stopped.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between plans, looping.")] = 30.0,
) -> None:
    """Plan the warnings and breach alerts of waiting requests, and today's digests."""
    engine = database()

    def unit() -> bool:
        now = parse_instant(as_of, "--as-of")
        with transaction(engine, writes=True) as session:
            settings = _alert_settings(session)
            requests = plan_alerts(session, now, settings)
            digests = queue_digests(session, now, settings)
        console.print(f"planned: {requests} request alert(s), {digests} digest(s)")
        return False

    run_loop(unit, loop=loop, interval=interval)


@alerts_app.command("send")
def send_command(
    loop: Annotated[bool, typer.Option("--loop", help="Send until stopped.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds to wait when none is due.")] = 5.0,
    stale_after: Annotated[
        float, typer.Option(help="Seconds after which a claim in 'sending' is a dead worker's.")
    ] = STALE_AFTER.total_seconds(),
) -> None:
    """Send the due alerts, one per unit of work (several workers may run at once)."""
    _log_to_stderr()
    settings = get_settings()
    try:
        senders = configured_senders(
            slack_token=settings.slack_bot_token,
            slack_api_url=settings.slack_api_url,
            smtp_url=settings.smtp_url,
            from_address=settings.alert_from_email,
        )
    except SmtpUrlError as exc:
        fail(str(exc))
    engine = database()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    stale = timedelta(seconds=stale_after)
    recovered_at: list[datetime] = []

    def unit() -> bool:
        now = datetime.now(UTC)
        if not recovered_at or now - recovered_at[-1] >= min(stale, timedelta(minutes=1)):
            recover_stale_claims(engine, senders, now, stale)
            recovered_at.append(now)
        return handle_one_alert(engine, senders, worker, now)

    if loop:
        run_loop(unit, loop=True, interval=interval)
        return
    sent = 0
    while unit():
        sent += 1
    console.print(f"{sent} alerts handled")


@alerts_app.command("list")
def list_command(
    failed: Annotated[bool, typer.Option("--failed", help="Only the failed ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The latest alerts and the destinations a permanent error disabled."""
    with transaction(database()) as session:
        alerts = list_alerts(session, failed=failed)
        disabled = disabled_destinations(session)
    if as_json:
        _print_json(alerts, disabled)
        return
    table = Table("id", "kind", "request", "to", "channel", "due", "state", "tries", "error")
    for alert in alerts:
        table.add_row(
            str(alert.id),
            alert.kind,
            escape(alert.request_id or alert.subject),
            escape(alert.recipient_id),
            alert.channel,
            alert.due_at.isoformat(timespec="minutes"),
            alert.state,
            str(alert.attempts),
            escape(alert.error or ""),
        )
    console.print(table)
    for destination in disabled:
        console.print(
            f"disabled: {destination.channel} {escape(destination.address)} since "
            f"{destination.disabled_at.isoformat(timespec='minutes')}: "
            f"{escape(destination.reason)} (keepwell alerts enable to undo)",
            highlight=False,
        )


def _print_json(alerts: list[Alert], disabled: list[Destination]) -> None:
    def columns(row: Alert | Destination) -> dict[str, object]:
        return {column.key: getattr(row, column.key) for column in row.__table__.columns}

    document = {
        "alerts": [columns(alert) for alert in alerts],
        "disabled_destinations": [columns(destination) for destination in disabled],
    }
    sys.stdout.write(orjson.dumps(document).decode() + "\n")


@alerts_app.command("enable")
def enable_command(
    channel: Annotated[str, typer.Argument(help="slack or email.")],
    address: Annotated[str, typer.Argument(help="The Slack user id or address; * for all.")],
) -> None:
    """Enable a destination a permanent error disabled, once the admin fixed it."""
    with transaction(database(), writes=True) as session:
        if not enable_destination(session, channel, address, datetime.now(UTC)):
            fail(f"{channel} {address} is not disabled")
    console.print(f"{channel} {address} enabled")
