"""`keepwell schedule`, `keepwell sla recompute` and `keepwell inbox`: business-hours
schedules, SLA clocks and the priority inbox."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail, parse_instant, rules
from keepwell.store.db import transaction

sla_app = typer.Typer(help="SLA clocks on requests.", no_args_is_help=True)
app.add_typer(sla_app, name="sla")


@sla_app.command("recompute")
def recompute_command() -> None:
    """Recompute every request's deadlines and business times (after schedule, holiday or
    target changes; imports keep their own requests up to date)."""
    from keepwell.services.sla import recompute_sla

    with transaction(database(), writes=True) as session:
        summary = recompute_sla(session, rules(session).sla)
    console.print(
        f"{summary.requests:,} requests on {summary.schedules} schedules; "
        f"{summary.changed:,} clocks changed"
    )


@app.command("inbox")
def inbox_command(
    csm: Annotated[str, typer.Option("--csm", help="The CSM's user id.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601; default now.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A CSM's requests waiting for an answer or a resolution, most urgent first."""
    from keepwell.services.inbox import UnknownUser, inbox

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


@app.command("schedule")
def schedule_command(
    file: Annotated[Path, typer.Argument(help="A schedule in TOML (PRODUCT.md 3).")],
    schedule_id: Annotated[str, typer.Option("--id", help="The schedule's id.")],
    effective: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD: a new version from that date on.")
    ] = None,
) -> None:
    """Add or update a business-hours schedule from a TOML file, through the importer (so it
    is validated, idempotent, and the SLA clocks that run on it are recomputed)."""
    from keepwell.services.importing import ImportRejected, import_lines

    try:
        spec = tomllib.loads(file.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        fail(f"{file}: {exc}")
    if effective is not None:
        spec["effective"] = effective
    line = orjson.dumps({"type": "schedule", "id": schedule_id, **spec})
    with transaction(database(), writes=True) as session:
        try:
            summary = import_lines(session, [line], targets=rules(session).sla)
        except ImportRejected as rejected:
            fail("; ".join(e.message if not e.field else f"{e.field}: {e.message}"
                           for e in rejected.errors))  # fmt: skip
    counts = summary.types["schedule"]
    state = "added" if counts.added else "updated" if counts.updated else "unchanged"
    console.print(f"schedule {escape(schedule_id)}: {state}")
