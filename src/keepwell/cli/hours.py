"""`keepwell hours`: the business-hours engine for people and scripts (PRODUCT.md 3)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import NoReturn

import typer

from keepwell.cli.app import app
from keepwell.domain.hours import (
    Schedule,
    ScheduleError,
    add_business_seconds,
    business_micros,
    load_schedule_toml,
)

hours_app = typer.Typer(
    help="Business time on a schedule: durations and deadlines.", no_args_is_help=True
)
app.add_typer(hours_app, name="hours")

SCHEDULE = typer.Option(..., "--schedule", help="A schedule TOML file (PRODUCT.md 3).")


@hours_app.command("between")
def between(
    start: str = typer.Argument(..., metavar="START", help="ISO 8601 with an offset or Z."),
    end: str = typer.Argument(..., metavar="END", help="ISO 8601 with an offset or Z."),
    schedule: Path = SCHEDULE,
) -> None:
    """Print the business seconds from START to END: an integer when whole, else exact."""
    loaded, begins, ends = _schedule(schedule), _instant(start, "START"), _instant(end, "END")
    if ends < begins:
        _fail(f"END {end} is before START {start}")
    try:
        micros = business_micros(loaded, begins, ends)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(format_seconds(micros))


@hours_app.command("add")
def add(
    start: str = typer.Argument(..., metavar="START", help="ISO 8601 with an offset or Z."),
    seconds: str = typer.Argument(..., metavar="SECONDS", help="Business seconds, e.g. 3600.5"),
    schedule: Path = SCHEDULE,
) -> None:
    """Print the deadline SECONDS business seconds after START, with the schedule's offset."""
    loaded, at, amount = _schedule(schedule), _instant(start, "START"), _seconds(seconds)
    try:
        deadline = add_business_seconds(loaded, at, amount)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(deadline.isoformat())


def format_seconds(micros: int) -> str:
    """Exact seconds: `7200` when whole, else `3600.5` (no rounding, PRODUCT.md 3)."""
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), 1_000_000)
    return f"{sign}{whole}" + (f".{fraction:06d}".rstrip("0") if fraction else "")


def _schedule(path: Path) -> Schedule:
    try:
        return load_schedule_toml(path)
    except ScheduleError as exc:
        _fail(f"{path}: {exc}")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        _fail(f"cannot read {path}: {reason}")


def _instant(text: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"{name} {text!r} is not an ISO 8601 time, e.g. 2026-10-01T14:03:00Z")
    if parsed.tzinfo is None:
        _fail(f"{name} {text!r} has no offset: add 'Z' or '+HH:MM'")
    return parsed


def _seconds(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        _fail(f"SECONDS {text!r} is not a number")
    if not value.is_finite() or value < 0:
        _fail(f"SECONDS {text!r} must be a number of seconds, 0 or more")
    if value * 1_000_000 != (value * 1_000_000).to_integral_value():
        _fail(f"SECONDS {text!r} is finer than a microsecond")
    return value


def _fail(message: str) -> NoReturn:
    # One plain line: rich would wrap a long message, and scripts read the first line.
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
