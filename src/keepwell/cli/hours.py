"""`keepwell hours`: the business-hours engine for people and scripts (PRODUCT.md 3)."""

from __future__ import annotations

from datetime import UTC, datetime
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
from keepwell.domain.hours.calendar import MAX_YEAR

# The last instant a deadline can fall on: no amount of business time beyond the seconds up
# to it can end within the engine's years (and a larger one would overflow its arithmetic).
LAST_INSTANT = datetime(MAX_YEAR, 12, 31, 23, 59, 59, tzinfo=UTC)

hours_app = typer.Typer(
    help="Business time on a schedule: durations and deadlines.", no_args_is_help=True
)
app.add_typer(hours_app, name="hours")

SCHEDULE = typer.Option(..., "--schedule", help="A schedule TOML file (docs/business-hours.md).")


def _not_an_option(text: str) -> str:
    """An option Click passed through as an argument (`add` lets `-7200` through) is named as
    the unknown option it is."""
    if text.startswith("-") and len(text) > 1 and not text[1].isdigit() and text[1] != ".":
        _fail(f"no such option: {text}")
    return text


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


# SECONDS may be negative on the command line (`-7200`): Click would read it as an unknown
# option ("No such option: -7"); with unknown options passed through as arguments, it reaches
# `_seconds`, which says what is wrong with it.
@hours_app.command("add", context_settings={"ignore_unknown_options": True})
def add(
    start: str = typer.Argument(
        ..., metavar="START", help="ISO 8601 with an offset or Z.", callback=_not_an_option
    ),
    seconds: str = typer.Argument(
        ..., metavar="SECONDS", help="Business seconds, e.g. 3600.5", callback=_not_an_option
    ),
    schedule: Path = SCHEDULE,
) -> None:
    """Print the deadline SECONDS business seconds after START, with the schedule's offset."""
    loaded, at, amount = _schedule(schedule), _instant(start, "START"), _seconds(seconds)
    if amount > Decimal((LAST_INSTANT - at).total_seconds()):
        _fail(f"SECONDS {seconds}: the deadline would fall after the year {MAX_YEAR}")
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
