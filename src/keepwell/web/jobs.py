"""The app's job queue: built on first use (an app that never enqueues opens none), and
consumed inside the process when `create_app(..., run_jobs=True)` (`keepwell serve` without
Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from keepwell.config import get_settings
from keepwell.jobs.periodic import requeue_lost
from keepwell.jobs.queue import Jobs, create_jobs, start_consumer, stop_consumer


def get_jobs(app: FastAPI) -> Jobs:
    jobs: Jobs | None = getattr(app.state, "jobs", None)
    if jobs is None:
        jobs = app.state.jobs = create_jobs(app.state.engine, get_settings())
    return jobs


@asynccontextmanager
async def consuming(app: FastAPI) -> AsyncIterator[None]:
    """The lifespan of an app that runs its own jobs: consumer threads from start to end."""
    jobs = get_jobs(app)
    consumer = start_consumer(jobs)
    requeue_lost(jobs, stale_after=timedelta(0))  # jobs held by a process killed before
    try:
        async with enqueuing(app):
            yield
    finally:
        stop_consumer(consumer)


@asynccontextmanager
async def enqueuing(app: FastAPI) -> AsyncIterator[None]:
    """The lifespan of an app that enqueues: what it would enqueue a moment later (the
    deliveries' doorbell) is enqueued as it stops."""
    try:
        yield
    finally:
        jobs: Jobs | None = getattr(app.state, "jobs", None)
        if jobs is not None:
            jobs.close()
