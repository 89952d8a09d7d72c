"""`keepwell rates`: the book's exchange rates into the base currency (PRODUCT.md 6)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import orjson
import typer
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail
from keepwell.config import get_settings
from keepwell.services.rates import ENVIRONMENT, RateError, list_rates, set_rate, unset_rate
from keepwell.store.db import transaction

rates_app = typer.Typer(
    help="Exchange rates into the base currency, kept in the database.", no_args_is_help=True
)
app.add_typer(rates_app, name="rates")

Currency = Annotated[str, typer.Argument(help="A three-letter currency code, e.g. EUR.")]
# A negative rate must reach the validation as a rate, not read as an unknown option.
NUMBERS = {"ignore_unknown_options": True}


@rates_app.command("set", context_settings=NUMBERS)
def set_command(
    currency: Currency,
    rate: Annotated[str, typer.Argument(help="One unit of it in the base currency, e.g. 1.08.")],
) -> None:
    """Set (or replace) the rate of a currency into the base currency."""
    settings = get_settings()
    with transaction(database(), writes=True) as session:
        try:
            stored = set_rate(session, currency, rate, settings.base_currency, datetime.now(UTC))
        except RateError as exc:
            fail(str(exc))
    console.print(f"1 {stored.currency} = {stored.text} {settings.base_currency}")
    override = settings.exchange_rates.get(stored.currency)
    if override is not None:
        console.print(f"note: KEEPWELL_EXCHANGE_RATES overrides it with {override:f}")


@rates_app.command("unset")
def unset_command(currency: Currency) -> None:
    """Remove the book's rate of a currency."""
    with transaction(database(), writes=True) as session:
        try:
            unset_rate(session, currency, get_settings().base_currency)
        except RateError as exc:
            fail(str(exc))
    console.print(f"{currency.strip().upper()}: rate removed")


@rates_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every rate in force: the book's, and the environment's that override them."""
    settings = get_settings()
    with transaction(database()) as session:
        rates = list_rates(session, settings.exchange_rates)
    if as_json:
        data = {
            "base_currency": settings.base_currency,
            "rates": [
                {"currency": r.currency, "rate": r.text, "source": r.source,
                 "set_at": r.set_at.isoformat() if r.set_at else None}
                for r in rates
            ],
        }  # fmt: skip
        sys.stdout.write(orjson.dumps(data).decode() + "\n")
        return
    table = Table("currency", f"rate into {settings.base_currency}", "from", "set at")
    for r in rates:
        source = "KEEPWELL_EXCHANGE_RATES" if r.source == ENVIRONMENT else "the book"
        when = f"{r.set_at:%Y-%m-%d %H:%M} UTC" if r.set_at else ""
        table.add_row(r.currency, r.text, source, when)
    console.print(table if rates else "no exchange rates set")
