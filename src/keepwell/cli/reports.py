"""`keepwell revenue` and `keepwell nps`: the month's retention and survey figures."""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail
from keepwell.config import get_settings
from keepwell.domain.revenue import MissingRateError
from keepwell.services.revenue import Money, nps_report, revenue_report
from keepwell.store.db import transaction

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MonthOption = Annotated[str, typer.Option("--month", help="The month, YYYY-MM.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DetailsOption = Annotated[
    bool, typer.Option("--details", help="Add the breakdowns (and, for revenue, the T12M).")
]
REVENUE_KEYS = (
    "month", "currency", "mrr_start", "new", "expansion", "contraction", "churn",
    "reactivation", "mrr_end", "nrr", "grr", "logo_churn", "accounts_start", "accounts_churned",
)  # fmt: skip
NPS_KEYS = ("month", "nps", "responses", "promoters", "passives", "detractors")


def _month(value: str) -> str:
    if not MONTH.match(value):
        fail(f"--month: expected YYYY-MM, got {value!r}")
    return value


@app.command("revenue")
def revenue_command(
    month: MonthOption, as_json: JsonOption = False, details: DetailsOption = False
) -> None:
    """MRR movements, NRR, GRR and logo churn of a month (company time zone)."""
    settings = get_settings()
    money = Money(settings.timezone, settings.base_currency, settings.exchange_rates)
    with transaction(database()) as session:
        try:
            report = revenue_report(session, _month(month), money)
        except MissingRateError as exc:
            fail(f"{exc}: set KEEPWELL_EXCHANGE_RATES")
    _show(report, REVENUE_KEYS, as_json, details)


@app.command("nps")
def nps_command(
    month: MonthOption, as_json: JsonOption = False, details: DetailsOption = False
) -> None:
    """NPS (promoters − detractors, −100..100) of a month, with CSAT."""
    with transaction(database()) as session:
        report = nps_report(session, _month(month), get_settings().timezone)
    _show(report, NPS_KEYS, as_json, details)


def _show(report: dict[str, Any], keys: tuple[str, ...], as_json: bool, details: bool) -> None:
    shown = report if details else {k: report[k] for k in keys if k in report}
    if as_json:
        sys.stdout.write(orjson.dumps(shown).decode() + "\n")
        return
    table = Table("figure", "value")
    for key in keys:
        if key in report:
            table.add_row(key, _readable(key, report[key]))
    console.print(table)
    if details:
        console.print_json(
            orjson.dumps({k: v for k, v in report.items() if k not in keys}).decode()
        )


def _readable(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if key in ("nrr", "grr", "logo_churn"):
        return f"{value * 100:.1f} %"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
