"""`keepwell sla recompute` and `keepwell inbox`: SLA clocks and the priority inbox."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail, parse_instant, sla_targets
from keepwell.services.inbox import UnknownUser, inbox
from keepwell.services.sla import recompute_sla
from keepwell.store.db import transaction

sla_app = typer.Typer(help="SLA clocks on requests.", no_args_is_help=True)
app.add_typer(sla_app, name="sla")


@sla_app.command("recompute")
def recompute_command() -> None:
    """Recompute every request's deadlines and business times (after schedule, holiday or
    target changes; imports keep their own requests up to date)."""
    with transaction(database()) as session:
        summary = recompute_sla(session, sla_targets())
    console.print(f"{summary.requests:,} requests on {summary.schedules} schedules")


@app.command("inbox")
def inbox_command(
    csm: Annotated[str, typer.Option("--csm", help="The CSM's user id.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601; default now.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A CSM's requests waiting for an answer or a resolution, most urgent first."""
    now = parse_instant(as_of, "--as-of")
    with transaction(database()) as session:
        try:
            items = inbox(session, csm, now)
        except UnknownUser as exc:
            fail(str(exc))
    if as_json:
        rows = [item.__dict__ for item in items]
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    table = Table("time left", "waiting for", "account", "last client message", title=csm)
    for item in items:
        style = "red" if item.seconds_left < 0 else None
        message = (item.last_client_message or "").replace("\n", " ")[:70]
        table.add_row(
            item.time_left, item.waiting_for, escape(item.account_name), escape(message),
            style=style,
        )  # fmt: skip
    console.print(table)
    if not items:
        console.print("Nothing waiting.")
