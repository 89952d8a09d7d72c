"""`keepwell worker`: a process that runs background jobs from Redis (production)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from keepwell.cli.app import app
from keepwell.cli.common import database, fail
from keepwell.jobs.worker import run
from keepwell.store.db import SchemaBehind, require_current_schema


@app.command("worker")
def worker_command(
    workers: Annotated[int, typer.Option(help="Jobs run at once (threads).", min=1)] = 2,
) -> None:
    """Run background jobs (deliveries, alerts, periodic tasks) until stopped. With
    KEEPWELL_REDIS_URL: as many workers as you like; otherwise it consumes the SQLite queue
    beside the database, which `keepwell serve` also does."""
    engine = database(migrate=False)
    try:
        require_current_schema(engine)  # a worker never migrates: `keepwell migrate` does
    except SchemaBehind as exc:
        fail(str(exc), 1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run(engine, workers)
