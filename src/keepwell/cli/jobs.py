"""`keepwell jobs`: the record of background jobs (state, attempts, last error)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database
from keepwell.services.jobs import list_jobs

jobs_app = typer.Typer(help="Background jobs: what ran, how it ended.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(help="At most this many, latest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The latest jobs: periodic tasks, recomputes with their progress, and the deliveries'
    jobs that failed."""
    rows = list_jobs(database(), limit=limit)
    if as_json:
        print(orjson.dumps([asdict(row) for row in rows], default=_json).decode())
        return
    table = Table("job", "state", "progress", "attempts", "finished", "error")
    for row in rows:
        finished = f"{row.finished_at:%Y-%m-%d %H:%M:%S}" if row.finished_at else ""
        progress = (
            "" if row.progress_total is None else f"{row.progress_done or 0}/{row.progress_total}"
        )
        table.add_row(row.name, row.state, progress, str(row.attempts), finished,
                      (row.error or "")[:80])  # fmt: skip
    console.print(table)


def _json(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)
