"""What every command shares: the database, the console, clean error exits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from keepwell.config import get_settings
from keepwell.domain.sla import SlaTargets
from keepwell.store.db import make_engine, open_database, sqlite_path

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
    engine = open_database(url) if migrate else make_engine(url)
    if new and not migrate:
        engine.connect().close()  # SQLite creates the file on the first connection
    if new and path is not None and path.exists():
        errors.print(f"Created a new database at {path}", highlight=False, soft_wrap=True)
    return engine


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `error: message` on stderr (one line, the message never read as markup: it may
    carry file names or client text) and exit with `code`."""
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def sla_targets() -> SlaTargets:
    settings = get_settings()
    return SlaTargets(settings.sla_first_response_seconds, settings.sla_resolution_business_days)


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
