"""A process that runs the background jobs: `keepwell worker`, or the one `keepwell serve`
starts beside its web processes on the embedded SQLite queue."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from datetime import timedelta

from sqlalchemy import Engine

from keepwell.config import get_settings
from keepwell.jobs.periodic import requeue_lost
from keepwell.jobs.queue import create_jobs
from keepwell.store.db import make_engine

log = logging.getLogger(__name__)


def run(engine: Engine, threads: int) -> None:
    """Consume the configured queue with `threads` threads until SIGINT or SIGTERM (the
    running jobs finish first)."""
    settings = get_settings()
    jobs = create_jobs(engine, settings)
    # Jobs that a worker killed before held are gone from the queue: run them again.
    requeue_lost(jobs, stale_after=timedelta(0))
    where = "Redis" if settings.redis_url else f"the SQLite queue {jobs.huey.storage.filename}"
    log.info("Keepwell worker: %d thread(s) on %s", threads, where)
    consumer = jobs.huey.create_consumer(
        workers=threads, worker_type="thread", initial_delay=0.05, max_delay=0.5
    )
    consumer.run()  # returns on SIGINT or SIGTERM, once the running jobs finish


def run_beside_server(parent: int, threads: int) -> None:
    """The jobs process of `keepwell serve` (spawned: a fresh interpreter, its own engine).
    Its own process rather than threads of the web process: applying a burst of webhooks
    takes as much CPU as answering them, and threads would take it from the same interpreter
    (bench/webhooks.py: 1,590 events/s accepted with threads, 1,830/s beside them)."""
    end_with(parent)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run(make_engine(get_settings().database_url), threads)


def end_with(parent: int) -> None:
    """A child whose parent is killed outright (no chance to stop it) ends too, on Linux:
    a web worker would otherwise go on serving the port alone, a jobs process on running
    jobs for nobody."""
    if sys.platform != "linux":
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # it died before prctl took effect
        raise SystemExit(0)
