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
from keepwell.store.db import open_database

console = Console()
errors = Console(stderr=True)


def database() -> Engine:
    return open_database(get_settings().database_url)


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
