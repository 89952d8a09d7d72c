"""`keepwell health`: daily account health snapshots and manager overrides."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail
from keepwell.config import get_settings
from keepwell.domain.health import HealthError
from keepwell.services.health import add_override, backtest_report, recompute_health_days
from keepwell.store.db import transaction
from keepwell.store.models import Account, User

health_app = typer.Typer(help="Account health scores.", no_args_is_help=True)
app.add_typer(health_app, name="health")


def _day(value: str | None, option: str) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: not a date YYYY-MM-DD: {value!r}")


@health_app.command("recompute")
def recompute_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="The day, YYYY-MM-DD.")] = None,
    days: Annotated[int, typer.Option(help="Also the days before it (history).", min=1)] = 1,
) -> None:
    """Score every active account at the end of the day and keep it as that day's snapshot."""
    last = _day(as_of, "--as-of")
    settings = get_settings()
    wanted = [last - timedelta(days=offset) for offset in range(days)]
    with (
        transaction(database()) as session,
        Progress(transient=True, console=console, disable=days < 7) as progress,
    ):
        task = progress.add_task("Scoring days", total=days)
        summaries = recompute_health_days(
            session,
            wanted,
            timezone=settings.timezone,
            weights=settings.weights(),
            progress=lambda done: progress.advance(task, done),
        )
    summary = summaries[-1]
    bands = ", ".join(f"{band} {count}" for band, count in sorted(summary.bands.items()))
    console.print(f"{summary.day}: {summary.accounts} accounts ({bands}); {days} day(s) kept")


@health_app.command("backtest")
def backtest_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Today, YYYY-MM-DD.")] = None,
    quarters: Annotated[int, typer.Option(help="Past quarters to test.", min=1)] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How well health at each quarter's start predicted that quarter's churn, and weights
    fitted on the book's own history beside the current ones."""
    settings = get_settings()
    with transaction(database()) as session:
        report = backtest_report(
            session,
            _day(as_of, "--as-of"),
            quarters=quarters,
            timezone=settings.timezone,
            weights=settings.weights(),
        )
    if as_json:
        sys.stdout.write(orjson.dumps(report).decode() + "\n")
        return
    current, fitted = report["current"], report["fitted"]
    console.print(f"Quarters: {', '.join(report['quarters'])}")
    console.print(f"Current weights: AUC {_auc(current['auc'])} over {current['samples']} "
                  f"account-quarters, {current['churned']} churned")  # fmt: skip
    table = Table("band", "accounts", "churned", "churn rate")
    for band, row in current["bands"].items():
        rate = "n/a" if row["rate"] is None else f"{row['rate'] * 100:.1f} %"
        table.add_row(band, str(row["accounts"]), str(row["churned"]), rate)
    console.print(table)
    if "error" in fitted:
        console.print(f"Fitted weights: none ({escape(fitted['error'])})")
        return
    weights = ", ".join(f"{k} {v:.0f}" for k, v in fitted["weights"].items())
    console.print(f"Fitted weights: {weights}; back-tested AUC {_auc(fitted['auc'])}")


def _auc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@health_app.command("override")
def override_command(
    account: Annotated[str, typer.Argument(help="The account's id.")],
    band: Annotated[str, typer.Option(help="green, yellow or red.")],
    reason: Annotated[str, typer.Option(help="Why the computed band is wrong.")],
    expires: Annotated[str, typer.Option(help="The day it stops, YYYY-MM-DD.")],
    by: Annotated[str | None, typer.Option(help="The manager's user id.")] = None,
) -> None:
    """Override an account's band until a date; the computed score stays visible beside it."""
    settings = get_settings()
    with transaction(database()) as session:
        if session.get(Account, account) is None:
            fail(f"no account {account!r}")
        if by is not None and session.get(User, by) is None:
            fail(f"--by: no user {by!r}")
        try:
            add_override(
                session, account, band, reason, _day(expires, "--expires"),
                by=by, now=datetime.now(UTC), timezone=settings.timezone,
            )  # fmt: skip
        except HealthError as exc:
            fail(str(exc))
    console.print(f"{escape(account)}: {band} until {expires}")
