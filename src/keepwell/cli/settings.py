"""`keepwell settings`: the rule settings an admin changes (issue 14 §4), through the same
service as the settings pages: SLA targets, scorecard targets, health weights."""

from __future__ import annotations

import sys
import tomllib
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from sqlalchemy import Engine

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail, rules
from keepwell.config import get_settings
from keepwell.domain.targets import TargetsError
from keepwell.services import company_settings as cs
from keepwell.services.jobs import get_job
from keepwell.store.db import transaction

settings_app = typer.Typer(
    help="Rule settings an admin may change: SLA targets, scorecard targets, health weights.",
    no_args_is_help=True,
)
app.add_typer(settings_app, name="settings")

KEY_HELP = f"One of {', '.join(cs.KEYS)}."
# A negative number must reach the validation as a value, not read as an unknown option.
VALUES = {"ignore_unknown_options": True}
Recompute = Annotated[
    bool,
    typer.Option(
        "--recompute/--queue",
        help="Run the recompute the change needs here and wait for it (default), or leave it "
        "queued for `keepwell serve` or `keepwell worker`.",
    ),
]


@settings_app.command("show")
def show_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every rule setting in force, and where it comes from: saved here (by the settings
    pages or `keepwell settings set`), the environment, or the default."""
    with transaction(database()) as session:
        try:
            rows = [_row(setting) for setting in cs.in_force(rules(session))]
        except TargetsError as exc:
            fail(str(exc))
    if as_json:
        sys.stdout.write(orjson.dumps({row["key"]: row for row in rows}).decode() + "\n")
        return
    for row in rows:
        line = f"{row['key']} = {_compact(row['value'])}  ({_source(row)})"
        console.print(escape(line), highlight=False, soft_wrap=True)


def _row(setting: cs.InForce) -> dict[str, Any]:
    row = asdict(setting)
    row["saved_at"] = setting.saved_at.isoformat() if setting.saved_at else None
    return row


def _compact(value: Any) -> str:
    if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
        return f"{len(value)} tables (--json shows them)"
    return orjson.dumps(value).decode()


def _source(row: dict[str, Any]) -> str:
    if row["source"] == cs.SAVED:
        return f"saved {row['saved_at'][:16]} by {row['saved_by'] or 'the command line'}"
    return row["variable"] if row["source"] == cs.ENVIRONMENT else "default"


@settings_app.command("set", context_settings=VALUES)
def set_command(
    key: Annotated[str, typer.Argument(help=KEY_HELP)],
    value: Annotated[
        str,
        typer.Argument(
            help="JSON: a number of seconds or business days, an object of weights; for "
            "targets, a TOML file as in the README (or the same as JSON)."
        ),
    ],
    recompute: Recompute = True,
) -> None:
    """Save a setting's new value (it overrides the environment's), recorded in the audit
    log; then the recompute it needs: SLA clocks, scorecards or health."""
    parsed = _parse(key, value)
    engine = database()
    try:
        with transaction(engine, writes=True) as session:
            outcome = cs.change_setting(
                session, get_settings(), key, parsed, by=None, at=datetime.now(UTC)
            )
    except cs.SettingRefused as exc:
        fail(str(exc))
    _report(engine, outcome, recompute)


@settings_app.command("reset")
def reset_command(
    key: Annotated[str, typer.Argument(help=KEY_HELP)],
    recompute: Recompute = True,
) -> None:
    """Forget a setting's saved value: the environment's (or the default) is in force again."""
    engine = database()
    try:
        with transaction(engine, writes=True) as session:
            outcome = cs.reset_setting(session, get_settings(), key, by=None, at=datetime.now(UTC))
    except cs.SettingRefused as exc:
        fail(str(exc))
    _report(engine, outcome, recompute)


def _parse(key: str, value: str) -> Any:
    """The value as data: a TOML file for the targets, else JSON (else the text itself, for
    the setting's own check to name what is wrong with it)."""
    if key == cs.TARGETS and not value.lstrip().startswith("{"):
        try:
            with Path(value).open("rb") as file:
                return tomllib.load(file)
        except OSError as exc:
            fail(f"targets: cannot read {value}: {exc.strerror or exc}")
        except tomllib.TOMLDecodeError as exc:
            fail(f"targets: {value} is not valid TOML: {exc}")
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def _report(engine: Engine, outcome: cs.Outcome, recompute: bool) -> None:
    for change in outcome.changes:
        if change.changed:
            console.print(f"{change.key}: {escape(_compact(change.before))} → "
                          f"{escape(_compact(change.after))}", highlight=False)  # fmt: skip
        else:
            console.print(f"{change.key}: unchanged ({escape(_compact(change.after))})")
    if outcome.job_id is None:
        return
    kinds = ", ".join(outcome.recompute)
    if not recompute:
        _send(engine, outcome.job_id)
        console.print(f"recompute of {kinds} queued: job {outcome.job_id}")
        return
    from keepwell.jobs.recompute import run_job

    try:
        run_job(engine, outcome.job_id, get_settings(), retries_left=0)
    except Exception as exc:  # recorded as failed on the job; said here in one line
        fail(f"the recompute of {kinds} failed (job {outcome.job_id}): {exc}", code=1)
    with transaction(engine) as session:
        job = get_job(session, outcome.job_id)
    steps = f"{job.progress_total} steps" if job and job.progress_total is not None else ""
    console.print(f"recomputed {kinds}: {steps} (job {outcome.job_id})", highlight=False)


def _send(engine: Engine, job_id: str) -> None:
    from keepwell.jobs.queue import create_jobs

    create_jobs(engine, get_settings()).send_recompute(job_id)
