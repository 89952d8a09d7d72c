"""A process that runs the background jobs: `keepwell worker`, or the one `keepwell serve`
starts beside its web processes on the embedded SQLite queue."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta

from sqlalchemy import Engine

from keepwell.config import get_settings
from keepwell.jobs.periodic import requeue_lost
from keepwell.jobs.queue import create_jobs
from keepwell.store.db import make_engine

log = logging.getLogger(__name__)
# An idle consumer of the SQLite queue looks again after a growing delay, up to this one: a
# job enqueued after a quiet spell waits at most this long (Huey's default, 10 s, would leave
# a webhook's delivery unapplied that long; Redis hands a job over at once anyway).
POLL_AT_MOST = 0.1


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
        workers=threads, worker_type="thread", initial_delay=0.05, max_delay=POLL_AT_MOST
    )
    consumer.run()  # returns on SIGINT or SIGTERM, once the running jobs finish


def run_beside_server(parent: int, threads: int) -> None:
    """The jobs process of `keepwell serve` (`JobsProcess`: a fresh interpreter, its own engine).
    Its own process rather than threads of the web process: applying a burst of webhooks
    takes as much CPU as answering them, and threads would take it from the same interpreter
    (bench/webhooks.py: 1,590 events/s accepted with threads, 1,830/s beside them)."""
    end_with(parent)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run(make_engine(get_settings().database_url), threads)


class JobsProcess:
    """The jobs process of `keepwell serve`, kept running: one that ends while the server
    runs (killed, out of memory, a crash) is started again after `restart_after` seconds,
    and the log says so. `stop` lets the running jobs finish (SIGTERM), within `grace`.

    A fresh interpreter (no engine or lock inherited), in a session of its own: Ctrl-C in a
    terminal reaches only the server, which stops the web processes first and then the jobs;
    a Ctrl-C that reached the jobs too would kill them midway through starting."""

    def __init__(self, threads: int, *, restart_after: float = 2.0, grace: float = 60) -> None:
        self._threads = threads
        self._restart_after = restart_after
        self._grace = grace
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._watcher = threading.Thread(target=self._watch, name="jobs-watcher", daemon=True)

    def start(self) -> None:
        self._process = self._spawn()
        self._watcher.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        code = f"from keepwell.jobs.worker import run_beside_server as run; run({os.getpid()}, "
        return subprocess.Popen(
            [sys.executable, "-c", f"{code}{self._threads})"], start_new_session=True
        )

    def _watch(self) -> None:
        while not self._stopping.is_set():
            assert self._process is not None
            try:
                code = self._process.wait(timeout=0.5)  # Popen's waits are thread-safe
            except subprocess.TimeoutExpired:
                continue
            if self._stopping.is_set():
                return
            log.error("the jobs process ended (exit code %s); starting it again in %g s",
                      code, self._restart_after)  # fmt: skip
            if self._stopping.wait(self._restart_after):
                return
            self._process = self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher.is_alive():
            self._watcher.join()
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()  # SIGTERM: the running jobs finish first
        try:
            process.wait(timeout=self._grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
