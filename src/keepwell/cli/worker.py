"""`keepwell worker`: a process that runs background jobs from Redis (production)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

import typer

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail
from keepwell.config import get_settings
from keepwell.jobs.periodic import requeue_lost
from keepwell.jobs.queue import create_jobs
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
    settings = get_settings()
    jobs = create_jobs(engine, settings)
    # Jobs that a worker killed before held are gone from the queue: run them again.
    requeue_lost(jobs, stale_after=timedelta(0))
    where = "Redis" if settings.redis_url else f"the SQLite queue {jobs.huey.storage.filename}"
    console.print(f"Keepwell worker: {workers} thread(s) on {where}")
    consumer = jobs.huey.create_consumer(
        workers=workers, worker_type="thread", initial_delay=0.05, max_delay=0.5
    )
    consumer.run()  # returns on SIGINT or SIGTERM, once the running jobs finish
