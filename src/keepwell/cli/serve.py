"""`keepwell serve`: the web app."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
import uvicorn
from sqlalchemy import Engine, select
from uvicorn.config import LOGGING_CONFIG

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail, rules
from keepwell.cli.users import print_demo_sign_ins
from keepwell.config import Settings, get_settings
from keepwell.jobs.worker import JobsProcess
from keepwell.services.demo import give_demo_passwords, load_demo
from keepwell.store.db import transaction
from keepwell.store.models import Account
from keepwell.web.factory import FACTORY
from keepwell.web.workers import serve_processes, shared_port_supported

JOB_THREADS = 2  # jobs run at once in the jobs process (as `keepwell worker` by default)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Load the demo book first if the database is empty.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Server processes (default: 1 on SQLite, the core count on PostgreSQL)."
        ),
    ] = None,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="A log line per request (off behind a proxy that keeps its own: ~10% faster).",
        ),
    ] = True,
) -> None:
    """Serve the web app and the JSON API (OpenAPI at /docs)."""
    engine = database()  # migrated here, once, before any worker starts
    if demo:
        _load_demo_if_empty(engine)
    count = workers or default_workers(engine.dialect.name)
    engine.dispose()  # each worker opens its own (`create_app_from_settings`)
    plural = "es" if count > 1 else ""
    console.print(
        f"Keepwell on http://{host}:{port}  (API docs: http://{host}:{port}/docs), "
        f"{count} process{plural}",
        soft_wrap=True,
    )
    with _jobs_process(get_settings()):
        _serve(count, host, port, access_log)


def _serve(count: int, host: str, port: int, access_log: bool) -> None:
    if count > 1 and shared_port_supported():
        try:
            serve_processes(count, host, port, _log_config(), access_log=access_log)
        except OSError as exc:  # the port is taken, or the host is not ours
            fail(f"--port {port} on {host}: {exc.strerror or exc}", code=1)
        return
    uvicorn.run(
        FACTORY,
        factory=True,
        workers=count,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=_log_config(),
        access_log=access_log,
    )


@contextmanager
def _jobs_process(settings: Settings) -> Iterator[None]:
    """On the embedded queue, the jobs run in one process beside the web processes, for as
    long as they serve (started again if it ends meanwhile); with Redis, `keepwell worker`
    processes run them."""
    if settings.redis_url:
        yield
        return
    jobs = JobsProcess(JOB_THREADS)
    jobs.start()
    try:
        yield
    finally:
        jobs.stop()


def default_workers(dialect: str) -> int:
    """SQLite takes one writer at a time, and one process serves a small team; PostgreSQL
    takes one process per core."""
    return 1 if dialect == "sqlite" else os.cpu_count() or 1


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, plus Keepwell's own lines (sign-ins succeeded and failed) beside
    its access log."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["keepwell"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def _load_demo_if_empty(engine: Engine) -> None:
    from keepwell.ingest.demo import generate_demo

    with transaction(engine, writes=True) as session:
        if session.scalar(select(Account.id).limit(1)) is not None:
            return
        console.print("Loading the demo book (one-time)...")
        today = date.today()
        settings = get_settings()
        summary = load_demo(
            session,
            generate_demo(seed=7, today=today),
            today,
            targets=rules(session).sla,
            timezone=settings.timezone,
            weights=rules(session).weights,
            base_currency=settings.base_currency,
        )
        sign_ins = give_demo_passwords(session, datetime.now(UTC))
    console.print(f"Demo loaded: {summary.lines:,} records.")
    print_demo_sign_ins(sign_ins)
