"""What every command shares: the database, the console, clean error exits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from keepwell.config import get_settings
from keepwell.domain.months import MonthError, parse_month
from keepwell.domain.sla import SlaTargets
from keepwell.services.company_settings import Rules, effective
from keepwell.store.db import make_engine, open_database, sqlite_path, transaction

console = Console()
errors = Console(stderr=True)


def database(*, migrate: bool = True) -> Engine:
    """The configured database, its schema migrated (`keepwell.store.db.migrate`: a no-op
    when current, one process at a time otherwise). A SQLite file that did not exist is
    created, and the command says where, once: a command run in another folder would
    otherwise leave an empty database there unnoticed."""
    url = get_settings().database_url
    path = sqlite_path(url)
    new = path is not None and not path.exists()
    try:
        engine = open_database(url) if migrate else make_engine(url)
        if new and not migrate:
            engine.connect().close()  # SQLite creates the file on the first connection
    except OperationalError as exc:
        # a server that is down or refuses us: one line naming where, never the password
        where = make_url(url).render_as_string(hide_password=True)
        reason = str(exc.orig or exc).strip().splitlines()[0]
        fail(f"KEEPWELL_DATABASE_URL: cannot open {where}: {reason}", code=1)
    if new and path is not None and path.exists():
        errors.print(f"Created a new database at {path}", highlight=False, soft_wrap=True)
    return engine


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `error: message` on stderr (one line, the message never read as markup: it may
    carry file names or client text) and exit with `code`."""
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def rules(session: Session) -> Rules:
    """The rule settings in force (SLA targets, scorecard targets, health weights): an
    admin's saved values, else the environment's (services/company_settings.py)."""
    return effective(session, get_settings())


def sla_targets(engine: Engine) -> SlaTargets:
    """The SLA targets in force, read in a transaction of their own."""
    with transaction(engine) as session:
        return rules(session).sla


def parse_instant(value: str | None, option: str) -> datetime:
    """An ISO 8601 instant with an offset (`Z` too); the current moment when not given."""
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: not an ISO 8601 time: {value!r}")
    if parsed.tzinfo is None:
        fail(f"{option}: {value!r} has no offset; add 'Z' or '+HH:MM'")
    return parsed.astimezone(UTC)


def parse_month_option(value: str, option: str = "--month") -> str:
    """A month "YYYY-MM" within the calendar every report can count, or a one-line error."""
    try:
        return parse_month(value)
    except MonthError as exc:
        fail(f"{option}: {exc}")
