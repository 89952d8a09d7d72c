"""The Typer application, whose commands load only when they run.

Importing every command module costs over a second (SQLAlchemy, Alembic, numpy, FastAPI, the
services), which `keepwell --help` and every command would pay before doing anything. So the
top level knows each command's module and one-line help from `COMMANDS` below: `--help` lists
them without importing any, and a command imports its own module (which adds its commands to
`app` as usual) only when it is run. tests/cli/test_app.py holds the table equal to what the
modules register.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
from typing import TYPE_CHECKING, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:  # Typer carries its own copy of Click
    from typer._click import Command, Context, HelpFormatter


class Entry(NamedTuple):
    module: str  # under keepwell.cli
    help: str  # the first paragraph of the command's docstring (or its group's help)


COMMANDS: dict[str, Entry] = {
    "import": Entry("importing", "Import a JSON Lines file: idempotent, and all or nothing."),
    "stats": Entry("importing", "How many records of each import type the database holds."),
    "demo": Entry(
        "importing", "Generate a realistic book of business and import it through the importer."
    ),
    "serve": Entry("serve", "Serve the web app and the JSON API (OpenAPI at /docs)."),
    "hours": Entry("hours", "Business time on a schedule: durations and deadlines."),
    "schedule": Entry(
        "sla",
        "Add or update a business-hours schedule from a TOML file, through the importer (so it"
        " is validated, idempotent, and the SLA clocks that run on it are recomputed).",
    ),
    "sla": Entry("sla", "SLA clocks on requests."),
    "inbox": Entry(
        "sla", "A CSM's requests waiting for an answer or a resolution, most urgent first."
    ),
    "scorecard": Entry(
        "scorecard",
        "Every CSM's scorecard of a month: 8 metrics, 100 points, bands and review triggers.",
    ),
    "revenue": Entry(
        "reports", "MRR movements, NRR, GRR and logo churn of a month (company time zone)."
    ),
    "nps": Entry("reports", "NPS (promoters − detractors, −100..100) of a month, with CSAT."),
    "health": Entry("health", "Account health scores."),
    "migrate": Entry(
        "migrate",
        "Migrate the database schema to this version; safe to run from several processes at"
        " once (one migrates, the others wait and find it done).",
    ),
    "rates": Entry("rates", "Exchange rates into the base currency, kept in the database."),
    "settings": Entry(
        "settings",
        "Rule settings an admin may change: SLA targets, scorecard targets, health weights.",
    ),
    "mail": Entry("mail", "Email in: files and the shared inbox."),
    "alerts": Entry("alerts", "Alerts to CSMs: planned, sent, failed."),
    "user": Entry("users", "People who sign in: add, set a password, deactivate, reactivate."),
    "token": Entry("users", "API tokens (sent as 'Authorization: Bearer TOKEN')."),
    "deliveries": Entry("deliveries", "Webhook deliveries: stored, applied, failed."),
    "jobs": Entry("jobs", "Background jobs: what ran, how it ended."),
    "slack": Entry("slack", "Slack: the app's manifest, channels mapped to accounts."),
    "worker": Entry(
        "worker",
        (
            "Run background jobs (deliveries, alerts, periodic tasks) until stopped. With"
            " KEEPWELL_REDIS_URL: as many workers as you like; otherwise it consumes the SQLite"
            " queue beside the database, which `keepwell serve` also does."
        ),
    ),
}


class LazyGroup(TyperGroup):
    """The top-level group: imports a command's module the first time the command is asked
    for; while it writes its own help, it shows the table's lines instead."""

    listing = False

    def list_commands(self, ctx: Context) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands:
            entry = COMMANDS.get(cmd_name)
            if self.listing and entry is not None:
                return TyperCommand(cmd_name, help=entry.help)
            self._load(entry.module if entry else None)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False

    def _load(self, module: str | None) -> None:
        """Import one command module (every one for a name the table lacks, so a command
        missing from it still runs), then add what `app` now holds."""
        modules = [module] if module else all_modules()
        # Importing builds hundreds of thousands of objects that live as long as the process:
        # no collection while they are made (5-10 % of the import time), and none to traverse
        # them again once they are (frozen into the permanent generation).
        gc.disable()
        try:
            for name in modules:
                importlib.import_module(f"{__package__}.{name}")
        finally:
            gc.freeze()
            gc.enable()
        for name, command in typer.main.get_group(app).commands.items():
            self.commands.setdefault(name, command)


def all_modules() -> list[str]:
    """Every command module of this package."""
    package = importlib.import_module(__package__ or "keepwell.cli")
    skip = {"app", "common"}
    return [info.name for info in pkgutil.iter_modules(package.__path__) if info.name not in skip]


app = typer.Typer(
    name="keepwell",
    help="Keepwell: customer success in business hours.",
    cls=LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _top_level() -> None:
    # A callback keeps `app` a group while no command module is loaded yet.
    pass
