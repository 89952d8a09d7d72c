"""`keepwell slack`: which Slack channel is which account's (issue 15 §2)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import orjson
import typer
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail
from keepwell.config import get_settings
from keepwell.integrations.slack.manifest import BadBaseUrl, manifest
from keepwell.jobs.queue import create_jobs
from keepwell.services import slack

slack_app = typer.Typer(
    help="Slack: the app's manifest, channels mapped to accounts.", no_args_is_help=True
)
app.add_typer(slack_app, name="slack")


@slack_app.command("map")
def map_command(
    channel_id: Annotated[str, typer.Argument(metavar="CHANNEL_ID", help="e.g. C0123ABCD")],
    account_id: Annotated[str, typer.Argument(metavar="ACCOUNT_ID")],
) -> None:
    """Map a channel to an account; the events held for it are applied."""
    engine = database()
    try:
        released = slack.map_channel(engine, channel_id, account_id, datetime.now(UTC))
    except slack.UnknownAccount as exc:
        fail(str(exc))
    if released:
        create_jobs(engine, get_settings()).apply_pending()
    console.print(f"{channel_id} → {account_id}; {len(released)} held event(s) queued to apply")


@slack_app.command("manifest")
def manifest_command(
    url: Annotated[
        str,
        typer.Option(
            "--url",
            help="The https address Slack reaches Keepwell at, e.g. https://keepwell.example.com",
        ),
    ],
    name: Annotated[str, typer.Option(help="The app's name in Slack.")] = "Keepwell",
) -> None:
    """Print the Slack app manifest (JSON): paste it at https://api.slack.com/apps, "Create
    New App", "From a manifest"; install the app, then set KEEPWELL_SLACK_SIGNING_SECRET and
    KEEPWELL_SLACK_BOT_TOKEN from its pages."""
    try:
        document = manifest(url, name)
    except BadBaseUrl as exc:
        fail(str(exc))
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


@slack_app.command("unmap")
def unmap_command(channel_id: Annotated[str, typer.Argument(metavar="CHANNEL_ID")]) -> None:
    """Stop mapping a channel: its next events are held (what was applied stays)."""
    try:
        slack.unmap_channel(database(), channel_id)
    except slack.UnknownChannel as exc:
        fail(str(exc), 1)
    console.print(f"{channel_id}: unmapped")


@slack_app.command("list")
def list_command() -> None:
    """Mapped channels, channels with held events, and Slack users nobody knows yet."""
    channels, people = slack.list_channels(database())
    table = Table("channel", "account", "held events", title="Channels")
    for row in channels:
        table.add_row(row.channel_id, row.account_id or "(not mapped)", str(row.held))
    console.print(table)
    if people:
        unknown = Table("Slack user", "seen in", "last seen", title="Unknown Slack users")
        for person in people:
            unknown.add_row(
                person.slack_user_id, person.channel_id, f"{person.last_seen:%Y-%m-%d %H:%M}"
            )
        console.print(unknown)
        console.print("Map them with a contact's or team member's slack_user_id (keepwell import).")
