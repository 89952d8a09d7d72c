"""What every command shares: the database, the console, clean error exits."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine

from keepwell.config import get_settings
from keepwell.store.db import open_database

console = Console()
errors = Console(stderr=True)


def database() -> Engine:
    return open_database(get_settings().database_url)


def fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)
