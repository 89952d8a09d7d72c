"""`keepwell revenue` and `keepwell nps`: the month's retention and survey figures."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import orjson
import typer
from rich import box
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail, parse_month_option
from keepwell.config import get_settings
from keepwell.domain.revenue import MissingRateError
from keepwell.services.revenue import Money, nps_report, revenue_report
from keepwell.store.db import transaction

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
CSAT_ROWS = (("csat", "csat (scores 4–5)"), ("mean", "csat mean"), ("responses", "csat responses"))
GROUPINGS = (("csm", "by CSM"), ("team", "by team (manager)"), ("segment", "by segment"))
PERCENT = ("nrr", "grr", "logo_churn", "csat")


@app.command("revenue")
def revenue_command(
    month: MonthOption, as_json: JsonOption = False, details: DetailsOption = False
) -> None:
    """MRR movements, NRR, GRR and logo churn of a month (company time zone)."""
    settings = get_settings()
    money = Money(settings.timezone, settings.base_currency, settings.exchange_rates)
    wanted = parse_month_option(month)
    with transaction(database()) as session:
        try:
            report = revenue_report(session, wanted, money)
        except MissingRateError as exc:
            fail(f"{exc}: set it with `keepwell rates set {exc.currency} RATE`")
    if as_json:
        _print_json(report if details else _only(report, REVENUE_KEYS))
        return
    console.print(_figures(report, REVENUE_KEYS, f"Revenue {wanted} ({report['currency']})"))
    if details:
        trailing = report["trailing_12_months"]
        title = f"Trailing 12 months, {trailing['first_month']} to {trailing['month']}"
        console.print(_figures(trailing, REVENUE_KEYS[2:], title))
        for key, title in GROUPINGS:
            console.print(_breakdown(report["by"][key], REVENUE_KEYS[2:], f"Revenue {title}"))


@app.command("nps")
def nps_command(
    month: MonthOption, as_json: JsonOption = False, details: DetailsOption = False
) -> None:
    """NPS (promoters − detractors, −100..100) of a month, with CSAT."""
    wanted = parse_month_option(month)
    with transaction(database()) as session:
        report = nps_report(session, wanted, get_settings().timezone)
    if as_json:
        _print_json(report if details else _only(report, (*NPS_KEYS, "csat")))
        return
    table = _figures(report, NPS_KEYS, f"NPS {wanted}")
    for key, label in CSAT_ROWS:
        table.add_row(label, _readable(key, report["csat"][key]))
    console.print(table)
    if details:
        for key, title in GROUPINGS:
            console.print(_breakdown(report["by"][key], NPS_KEYS[1:], f"NPS {title}"))


def _only(report: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: report[key] for key in keys if key in report}


def _print_json(data: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(data).decode() + "\n")


def _figures(report: dict[str, Any], keys: tuple[str, ...], title: str) -> Table:
    table = Table("figure", "value", title=title, title_justify="left", min_width=len(title))
    for key in keys:
        if key in report:
            table.add_row(key, _readable(key, report[key]))
    return table


def _breakdown(groups: dict[str, dict[str, Any]], keys: tuple[str, ...], title: str) -> Table:
    """One column a group, one row a figure: the groups side by side, as a manager compares
    them, and narrow enough for a terminal (a team has a handful of CSMs)."""
    names = sorted(groups)
    table = Table(
        "figure", title=title, title_justify="left", box=box.SIMPLE_HEAD, min_width=len(title)
    )
    for name in names:
        table.add_column(name, justify="right")
    for key in keys:
        table.add_row(key, *(_readable(key, groups[name][key]) for name in names))
    return table


def _readable(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if key in PERCENT:
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
