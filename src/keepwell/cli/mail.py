"""`keepwell mail`: email in, from files or a shared IMAP inbox (issue 15 section 3)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from keepwell.cli.app import app
from keepwell.cli.common import console, database, fail, sla_targets
from keepwell.cli.loop import log_to_stderr as _log_to_stderr
from keepwell.cli.loop import run_loop
from keepwell.config import get_settings
from keepwell.integrations.email.apply import MailSummary
from keepwell.integrations.email.client import ImapUrlError, MailboxUnavailable
from keepwell.services.mail import (
    MailPathError,
    MailSettings,
    UnknownAccount,
    held_mail,
    import_path,
    map_domain,
    poll_once,
    retry_held,
)
from keepwell.store.db import transaction

mail_app = typer.Typer(help="Email in: files and the shared inbox.", no_args_is_help=True)
app.add_typer(mail_app, name="mail")


def _settings(engine: Engine) -> MailSettings:
    return MailSettings(tuple(get_settings().team_email_domains), sla_targets(engine))


def _said(summary: MailSummary) -> str:
    return (
        f"{summary.applied} applied, {summary.held} held, {summary.failed} failed, "
        f"{summary.duplicate} already known"
    )


@mail_app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="An .eml or .mbox file, or a folder of them.")],
) -> None:
    """Import mail from files: idempotent on Message-ID (each becomes message email:<id>)."""
    if not path.exists():
        fail(f"no such file or folder: {path}")
    try:
        engine = database()
        summary = import_path(engine, path, _settings(engine), datetime.now(UTC))
    except MailPathError as exc:
        fail(str(exc))
    console.print(_said(summary), highlight=False)


@mail_app.command("poll")
def poll_command(
    loop: Annotated[bool, typer.Option("--loop", help="Poll until stopped.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls, looping.")] = 30.0,
) -> None:
    """Read what is new in the shared inbox (KEEPWELL_IMAP_URL) since the last poll."""
    url = get_settings().imap_url
    if not url:
        fail("KEEPWELL_IMAP_URL is not set (imaps://user:password@host/INBOX)")
    _log_to_stderr()
    engine = database()

    def unit() -> bool:
        summary = poll_once(engine, url, _settings(engine), datetime.now(UTC))
        console.print(_said(summary), highlight=False)
        return False  # a poll reads everything new: wait for more

    try:
        run_loop(unit, loop=loop, interval=interval)
    except ImapUrlError as exc:
        fail(str(exc))
    except MailboxUnavailable as exc:  # unreachable, the login refused, no such mailbox
        fail(f"KEEPWELL_IMAP_URL: {exc}", code=1)


@mail_app.command("held")
def held_command(
    failed: Annotated[bool, typer.Option("--failed", help="Also mail the import refused.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Mail waiting for an account: map its domain (`keepwell mail map`) or import the
    contact, and it is applied."""
    with transaction(database()) as session:
        rows = held_mail(session, failed=failed)
    if as_json:
        sys.stdout.write(orjson.dumps([row.__dict__ for row in rows]).decode() + "\n")
        return
    table = Table("id", "received", "from", "subject", "state", "why")
    for row in rows:
        table.add_row(
            escape(row.id),
            row.received_at.isoformat(timespec="minutes"),
            escape(row.sender or ""),
            escape((row.subject or "")[:50]),
            row.state,
            escape(row.error or ""),
        )
    console.print(table)


@mail_app.command("map")
def map_command(
    domain: Annotated[str, typer.Argument(help="A sender domain, e.g. acme.example.")],
    account: Annotated[str, typer.Argument(help="The account id its mail belongs to.")],
) -> None:
    """Map a sender domain to an account; the held mail from it is applied."""
    try:
        engine = database()
        summary = map_domain(engine, domain, account, _settings(engine))
    except UnknownAccount as exc:
        fail(str(exc))
    console.print(f"{domain} → {account}; held mail: {_said(summary)}", highlight=False)


@mail_app.command("retry")
def retry_command() -> None:
    """Apply the held mail that matches an account now (polls do this by themselves)."""
    engine = database()
    console.print(_said(retry_held(engine, _settings(engine))), highlight=False)
