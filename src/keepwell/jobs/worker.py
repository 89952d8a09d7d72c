"""A process that runs the background jobs: `keepwell worker`, or the one `keepwell serve`
starts beside its web processes on the embedded SQLite queue."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import sys
import threading
from datetime import timedelta
from multiprocessing.connection import wait

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


class JobsProcess:
    """The jobs process of `keepwell serve`, kept running: one that ends while the server
    runs (killed, out of memory, a crash) is started again after `restart_after` seconds,
    and the log says so. `stop` lets the running jobs finish (SIGTERM), within `grace`."""

    def __init__(self, threads: int, *, restart_after: float = 2.0, grace: float = 60) -> None:
        self._threads = threads
        self._restart_after = restart_after
        self._grace = grace
        self._stopping = threading.Event()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._watcher = threading.Thread(target=self._watch, name="jobs-watcher", daemon=True)

    def start(self) -> None:
        self._process = self._spawn()
        self._watcher.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _spawn(self) -> multiprocessing.process.BaseProcess:
        spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no engine forked
        process = spawn.Process(
            target=run_beside_server, args=(os.getpid(), self._threads), name="keepwell-jobs"
        )
        process.start()
        return process

    def _watch(self) -> None:
        # Waits on the process's sentinel, never joins it while running: `stop` reaps it,
        # and two threads reaping one child would race (the loser may signal a reused pid).
        while not self._stopping.is_set():
            assert self._process is not None
            if not wait([self._process.sentinel], timeout=0.5) or self._stopping.is_set():
                continue
            self._process.join()
            log.error(
                "the jobs process ended (exit code %s); starting it again in %g s",
                self._process.exitcode, self._restart_after,
            )  # fmt: skip
            if self._stopping.wait(self._restart_after):
                return
            self._process = self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher.is_alive():
            self._watcher.join()
        process = self._process
        if process is None:
            return
        if process.exitcode is None and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)  # running jobs finish first
        process.join(timeout=self._grace)
        if process.exitcode is None:
            process.kill()
            process.join()


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
