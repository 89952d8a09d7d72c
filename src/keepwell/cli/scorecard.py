"""`keepwell scorecard`: the monthly CSM scorecards."""

from __future__ import annotations

import re
import sys
from typing import Annotated

import orjson
import typer
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail, parse_instant
from keepwell.config import get_settings
from keepwell.domain import scorecard as sc
from keepwell.domain.targets import DEFAULT_TARGETS, Targets, TargetsError, load_targets_toml
from keepwell.services.scorecard import UnknownCsm, scorecards
from keepwell.store.db import transaction

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
COLORS = {"green": "green", "yellow": "yellow", "red": "red", None: "dim"}


def targets() -> Targets:
    path = get_settings().targets_file
    if not path:
        return DEFAULT_TARGETS
    try:
        return load_targets_toml(path)
    except (OSError, TargetsError) as exc:
        fail(f"KEEPWELL_TARGETS_FILE {path}: {exc}")


@app.command("scorecard")
def scorecard_command(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    csm: Annotated[str | None, typer.Option("--csm", help="One CSM's user id.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluation moment, ISO 8601; default now.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every CSM's scorecard of a month: 8 metrics, 100 points, bands and review triggers."""
    if not MONTH.match(month):
        fail(f"--month: expected YYYY-MM, got {month!r}")
    moment = parse_instant(as_of, "--as-of")
    settings = get_settings()
    with transaction(database()) as session:
        try:
            cards = scorecards(
                session, month, moment, csm_id=csm, targets=targets(),
                company_timezone=settings.timezone,
            )  # fmt: skip
        except (UnknownCsm, sc.ScorecardError) as exc:
            fail(str(exc))
    if as_json:
        sys.stdout.write(orjson.dumps(sc.scorecards_json(month, moment, cards)).decode() + "\n")
        return
    _print(month, cards)


def _print(month: str, cards: list[sc.Scorecard]) -> None:
    headers = ("retention", "response", "resolution", "independ.", "proactive", "testim.",
               "hygiene", "self")  # fmt: skip
    table = Table("csm", "total", *headers, "triggers", title=f"Scorecards {month}")
    for card in cards:
        cells = [_metric(card.metrics[key]) for key in sc.POINTS]
        total = "n/a" if card.total is None else f"{card.total:.1f}" + (" *" if card.scaled else "")
        triggers = ", ".join(f"{t.metric}: {t.rule}" for t in card.triggers)
        table.add_row(card.csm, f"[{COLORS[card.band]}]{total}[/]", *cells, triggers or "-")
    console.print(table)
    if any(card.scaled for card in cards):
        console.print("* scaled: a metric had no data, total = earned ÷ possible × 100")


def _metric(result: sc.MetricResult) -> str:
    if result.value is None:
        return "[dim]n/a[/]"
    if result.key == "response_time":
        shown = f"{result.value:.2f} h"
    elif result.key == "resolution_time":
        shown = f"{result.value:.2f} bd"
    else:
        shown = f"{result.value * 100:.0f} %"
    return f"[{COLORS[result.band]}]{shown}[/]"
