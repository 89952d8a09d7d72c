"""`keepwell health`: daily account health snapshots and manager overrides."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail, rules
from keepwell.config import get_settings
from keepwell.domain.health import BANDS, HealthError
from keepwell.services.health import (
    FutureDay,
    OverrideRefused,
    UnknownAccount,
    account_health,
    add_override,
    backtest_report,
    days_to_score,
    recompute_health_days,
    today_in,
)
from keepwell.store.db import transaction

health_app = typer.Typer(help="Account health scores.", no_args_is_help=True)
app.add_typer(health_app, name="health")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: not a date YYYY-MM-DD: {value!r}")


def _today() -> date:
    return today_in(datetime.now(UTC), get_settings().timezone)


@health_app.command("recompute")
def recompute_command(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The last day, YYYY-MM-DD (default: today).")
    ] = None,
    days: Annotated[int, typer.Option(help="Also the days before it (history).", min=1)] = 1,
) -> None:
    """Score every active account at the end of each day and keep it as that day's snapshot,
    replacing what an earlier run kept for those days."""
    settings = get_settings()
    try:
        wanted = days_to_score(_day(as_of, "--as-of"), days, datetime.now(UTC), settings.timezone)
    except FutureDay as exc:
        fail(f"--as-of: {exc}")
    with (
        transaction(database(), writes=True) as session,
        Progress(transient=True, console=console, disable=days < 7) as progress,
    ):
        task = progress.add_task("Scoring days", total=days)
        summaries = recompute_health_days(
            session,
            wanted,
            timezone=settings.timezone,
            weights=rules(session).weights,
            progress=lambda done: progress.advance(task, done),
        )
    for summary in summaries:
        bands = ", ".join(f"{band} {count}" for band, count in sorted(summary.bands.items()))
        console.print(f"{summary.day}: {summary.accounts} accounts ({bands})")
    console.print(f"{len(summaries)} day(s) kept")


@health_app.command("show")
def show_command(
    account: Annotated[str, typer.Argument(help="The account's id.")],
    day: Annotated[
        str | None, typer.Option("--day", help="The snapshot's day (default: the latest).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """An account's health: score, band, 30-day trend, override and every measure."""
    settings = get_settings()
    wanted = _day(day, "--day")
    with transaction(database()) as session:
        try:
            shown = account_health(
                session, account, datetime.now(UTC), settings.timezone, day=wanted
            )
        except UnknownAccount:
            fail(f"no account {account!r}")
    if shown["day"] is None:
        when = f"of {wanted}" if wanted else "yet"
        fail(f"{account}: no health snapshot {when} (keepwell health recompute)", 1)
    if as_json:
        sys.stdout.write(orjson.dumps(shown).decode() + "\n")
        return
    _print_health(shown)


def _print_health(shown: dict[str, Any]) -> None:
    trend = shown["trend_30d"]
    console.print(
        f"{escape(shown['account_id'])} on {shown['day']}: {_number(shown['score'])} "
        f"{shown['band'] or 'n/a'}; 30-day trend {'n/a' if trend is None else f'{trend:+.1f}'}"
    )
    override = shown["override"]
    if override:
        console.print(
            f"Overridden to {override['band']} until {override['expires_at']} by "
            f"{escape(str(override['by']))}: {escape(override['reason'])} "
            f"(computed: {shown['computed_band'] or 'n/a'})"
        )
    table = Table("measure", "value", "weight", "points")
    for measure, part in shown["measures"].items():
        table.add_row(
            measure, _number(part["value"]), f"{part['weight']:g}", _number(part["points"])
        )
    console.print(table)


def _number(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1f}"


@health_app.command("backtest")
def backtest_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Today, YYYY-MM-DD.")] = None,
    quarters: Annotated[int, typer.Option(help="Past quarters to test.", min=1)] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How well health at each quarter's start predicted that quarter's churn, and weights
    fitted on the book's own history, offered only when they are surely better."""
    settings = get_settings()
    try:
        with transaction(database()) as session:
            report = backtest_report(
                session,
                _day(as_of, "--as-of") or _today(),
                quarters=quarters,
                timezone=settings.timezone,
                weights=rules(session).weights,
                now=datetime.now(UTC),
            )
    except FutureDay as exc:
        fail(f"--as-of: {exc}")
    if as_json:
        sys.stdout.write(orjson.dumps(report).decode() + "\n")
        return
    current, fitted = report["current"], report["fitted"]
    console.print(f"Quarters: {', '.join(report['quarters'])}")
    auc = _auc(current["auc"], current["auc_low"], current["auc_high"])
    console.print(
        f"Current weights: AUC {auc} over {current['samples']} account-quarters "
        f"({current['accounts']} accounts), {current['churned']} churned"
    )
    table = Table("band", "accounts", "churned", "churn rate")
    for band, row in current["bands"].items():
        rate = "n/a" if row["rate"] is None else f"{row['rate'] * 100:.1f} %"
        table.add_row(band, str(row["accounts"]), str(row["churned"]), rate)
    console.print(table)
    console.print(_quarters_table(report["by_quarter"]))
    if "error" in fitted:
        console.print(f"Fitted weights: none ({escape(fitted['error'])})")
        return
    weights = ", ".join(f"{k} {v:.0f}" for k, v in fitted["weights"].items())
    tested, now = fitted["out_of_sample"], fitted["current_out_of_sample"]
    console.print(f"Fitted weights: {weights} (on {fitted['fitted_on']['samples']} "
                  f"account-quarters, {fitted['fitted_on']['churned']} churned)")  # fmt: skip
    console.print(f"Out of sample ({', '.join(fitted['quarters_tested']) or 'no quarter'}): "
                  f"fitted AUC {_auc(tested['auc'], tested['low'], tested['high'])}, "
                  f"current AUC {_auc(now['auc'], now['low'], now['high'])}")  # fmt: skip
    verdict = "Offered" if fitted["offered"] else "Not offered"
    console.print(f"{verdict}: {escape(fitted['why'])}")


def _quarters_table(by_quarter: dict[str, Any]) -> Table:
    """Each quarter on its own: AUC and churn rate per band (current weights)."""
    table = Table("quarter", "AUC", "churned", *(f"{band} churn" for band in BANDS),
                  title="Per quarter", title_justify="left")  # fmt: skip
    for quarter, row in by_quarter.items():
        rates = [_rate(row["bands"][band]) for band in BANDS]
        table.add_row(quarter, _auc(row["auc"]), f"{row['churned']} of {row['samples']}", *rates)
    return table


def _rate(band: dict[str, Any]) -> str:
    if band["rate"] is None:
        return "n/a"
    return f"{band['rate'] * 100:.1f} % ({band['churned']}/{band['accounts']})"


def _auc(value: float | None, low: float | None = None, high: float | None = None) -> str:
    if value is None:
        return "n/a"
    if low is None or high is None:
        return f"{value:.3f}"
    return f"{value:.3f} (95 % interval {low:.3f}–{high:.3f})"


@health_app.command("override")
def override_command(
    account: Annotated[str, typer.Argument(help="The account's id.")],
    band: Annotated[str, typer.Option(help="green, yellow or red.")],
    reason: Annotated[str, typer.Option(help="Why the computed band is wrong.")],
    expires: Annotated[str, typer.Option(help="The day it stops, YYYY-MM-DD.")],
    by: Annotated[str, typer.Option(help="The manager's (or admin's) user id.")],
) -> None:
    """Override an account's band until a date; the computed score stays visible beside it.
    Running the same command again changes nothing."""
    settings = get_settings()
    until = _day(expires, "--expires")
    assert until is not None
    with transaction(database(), writes=True) as session:
        try:
            _, added = add_override(
                session, account, band, reason, until,
                by=by, now=datetime.now(UTC), timezone=settings.timezone,
            )  # fmt: skip
        except UnknownAccount:
            fail(f"no account {account!r}")
        except OverrideRefused as exc:
            fail(f"{'--' + exc.field if exc.field != 'account' else 'ACCOUNT'}: {exc}")
        except HealthError as exc:
            fail(str(exc))
    done = "" if added else " (already in force: nothing changed)"
    console.print(f"{escape(account)}: {band} until {expires}{done}")
