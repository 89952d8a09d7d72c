"""`keepwell deliveries`: the webhook deliveries, and replaying one (issue 15 §1)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail
from keepwell.config import get_settings
from keepwell.jobs.queue import create_jobs
from keepwell.services import deliveries

deliveries_app = typer.Typer(
    help="Webhook deliveries: stored, applied, failed.", no_args_is_help=True
)
app.add_typer(deliveries_app, name="deliveries")


@deliveries_app.command("list")
def list_command(
    failed: Annotated[
        bool, typer.Option("--failed", help="Only those that failed (retrying) or are dead.")
    ] = False,
    held: Annotated[bool, typer.Option("--held", help="Only those held for a mapping.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The latest deliveries, newest first."""
    states = [*((deliveries.FAILED, deliveries.DEAD) if failed else ()),
              *((deliveries.HELD,) if held else ())]  # fmt: skip
    rows = deliveries.list_deliveries(database(), states=states, limit=limit)
    if as_json:
        print(orjson.dumps([asdict(row) for row in rows], default=_json).decode())
        return
    table = Table("id", "source", "external id", "received", "state", "attempts", "error")
    for row in rows:
        table.add_row(
            str(row.id), row.source, row.external_id, f"{row.received_at:%Y-%m-%d %H:%M:%S}",
            row.state, str(row.attempts), (row.error or "")[:80],
        )  # fmt: skip
    console.print(table)


@deliveries_app.command("replay")
def replay_command(
    delivery_id: Annotated[int, typer.Argument(metavar="ID", help="The delivery's id.")],
) -> None:
    """Apply a delivery again from its first attempt (a dead one, say). Applying is
    idempotent: a delivery already applied changes nothing."""
    engine = database()
    try:
        deliveries.replay(engine, delivery_id, datetime.now(UTC))
    except deliveries.UnknownDelivery as exc:
        fail(str(exc), 1)
    create_jobs(engine, get_settings()).apply_delivery(delivery_id)
    console.print(f"delivery {delivery_id}: queued to apply again")


def _json(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)
