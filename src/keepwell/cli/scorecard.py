"""`keepwell scorecard`: the monthly CSM scorecards."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer
from rich import box
from rich.markup import escape
from rich.table import Column, Table
from sqlalchemy.orm import Session

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail, parse_instant, parse_month_option, rules
from keepwell.config import get_settings
from keepwell.domain import scorecard as sc
from keepwell.domain.months import last_closed_month
from keepwell.domain.targets import Targets, TargetsError
from keepwell.services.scorecard import UnknownCsm, scorecards
from keepwell.store.db import transaction

COLORS = {"green": "green", "yellow": "yellow", "red": "red", None: "dim"}


def targets(session: Session) -> Targets:
    """The scorecard targets in force: an admin's, else KEEPWELL_TARGETS_FILE's, else the
    defaults; a file that cannot be read is a one-line error naming it."""
    try:
        return rules(session).targets
    except TargetsError as exc:
        fail(str(exc))


@app.command("scorecard")
def scorecard_command(
    month: Annotated[
        str | None,
        typer.Option("--month", help="YYYY-MM; default the last closed month (company zone)."),
    ] = None,
    csm: Annotated[str | None, typer.Option("--csm", help="One CSM's user id.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluation moment, ISO 8601; default now.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every CSM's scorecard of a month: 8 metrics, 100 points, bands and review triggers."""
    moment = parse_instant(as_of, "--as-of")
    settings = get_settings()
    month = parse_month_option(month or last_closed_month(moment, settings.timezone))
    with transaction(database()) as session:
        try:
            cards = scorecards(
                session, month, moment, csm_id=csm, targets=targets(session),
                company_timezone=settings.timezone,
            )  # fmt: skip
        except (UnknownCsm, sc.ScorecardError) as exc:
            fail(str(exc))
    if as_json:
        sys.stdout.write(orjson.dumps(sc.scorecards_json(month, moment, cards)).decode() + "\n")
        return
    _print(month, cards)


# Short enough that the table fits a terminal 80 wide.
HEADERS = ("retain", "reply", "resolve", "indep.", "proact.", "testim.", "hygiene", "self")


def _print(month: str, cards: list[sc.Scorecard]) -> None:
    # Each cell is its value over its band, and never narrower than "yellow": a terminal
    # 80 wide folds a long CSM id, never a band's name.
    columns = [Column(name, min_width=6) for name in ("total", *HEADERS)]
    table = Table(
        Column("csm", overflow="fold"), *columns, title=f"Scorecards {month}",
        box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 0),
    )  # fmt: skip
    for card in cards:
        total = "n/a" if card.total is None else f"{card.total:.1f}" + (" *" if card.scaled else "")
        cells = [_metric(card.metrics[key]) for key in sc.POINTS]
        table.add_row(escape(card.csm), f"{total}\n{_band(card.band)}", *cells)
    console.print(table)
    if any(card.scaled for card in cards):
        console.print("* scaled: a metric had no data, total = earned ÷ possible × 100")
    for card in cards:
        for trigger in card.triggers:
            console.print(f"review {escape(card.csm)}: {trigger.metric}, {trigger.rule}")


def _band(band: str | None) -> str:
    """The band as a word, coloured too: colour alone says nothing to a reader who cannot
    tell red from green, to a screen reader, or in a log."""
    return f"[{COLORS[band]}]{band or 'n/a'}[/]"


def _metric(result: sc.MetricResult) -> str:
    if result.value is None:
        return _band(None)
    if result.key == "response_time":
        shown = f"{result.value:.2f} h"
    elif result.key == "resolution_time":
        shown = f"{result.value:.2f} bd"
    else:
        shown = f"{result.value * 100:.0f} %"
    return f"{shown}\n{_band(result.band)}"
