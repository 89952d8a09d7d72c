"""`keepwell import`, `keepwell stats` and `keepwell demo`."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Annotated, NoReturn

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, errors, fail, rules, sla_targets
from keepwell.cli.users import print_demo_sign_ins
from keepwell.config import get_settings
from keepwell.ingest.jsonl import LineError, NotUtf8
from keepwell.services.demo import give_demo_passwords, load_demo
from keepwell.services.importing import (
    ImportRejected,
    ImportSummary,
    import_file,
    import_lines,
)
from keepwell.services.side_load import FileChanged
from keepwell.services.stats import record_counts
from keepwell.store.db import transaction

# A refused file lists this many of its errors and counts the rest.
ERRORS_LISTED = 100


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A JSON Lines file (PRODUCT.md 9); - for stdin.")],
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the good lines, report the bad.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary, or the errors, as JSON.")
    ] = False,
) -> None:
    """Import a JSON Lines file: idempotent, and all or nothing."""
    if str(file) != "-":
        _check_readable(file, as_json)
    engine = database()
    zone = get_settings().timezone  # a user's changed schedule applies from today there
    try:
        with _progress(quiet=as_json) as progress:
            if str(file) == "-":
                with transaction(engine, writes=True) as session:
                    lines = _tracked(sys.stdin.buffer, progress, None)
                    summary = import_lines(
                        session, lines, skip_invalid=skip_invalid, targets=rules(session).sla,
                        company_timezone=zone,
                    )  # fmt: skip
            else:
                with file.open("rb") as stream:
                    lines = _tracked(stream, progress, file.stat().st_size)
                    summary = import_file(
                        engine, file, lines, skip_invalid=skip_invalid, targets=sla_targets(engine),
                        company_timezone=zone,
                    )  # fmt: skip
    except FileChanged as changed:
        _refuse(f"{changed}; nothing was imported", as_json)
    except NotUtf8 as not_text:
        _refuse(f"{file}: {not_text}; nothing was imported", as_json)
    except ImportRejected as rejected:
        # A line may break several rules: lines and errors are counted apart.
        bad_lines = len({error.line for error in rejected.errors})
        message = f"{bad_lines:,} invalid line(s) in {file}; nothing was imported"
        if len(rejected.errors) > bad_lines:
            message += f" ({len(rejected.errors):,} errors)"
        _refuse(message, as_json, rejected.errors)
    if not summary.types and not summary.skipped:
        # Blank lines only: nothing to import is not what whoever ran the import expected.
        _refuse(f"{file} holds no records; nothing was imported", as_json)
    if as_json:
        sys.stdout.write(orjson.dumps(summary.to_json()).decode() + "\n")
    else:
        _print_summary(summary)


def _check_readable(file: Path, as_json: bool) -> None:
    if file.is_dir():
        _refuse(f"{file} is a directory, not a file", as_json, code=2)
    if not file.is_file():
        _refuse(f"no such file: {file}", as_json, code=2)


def _refuse(
    message: str, as_json: bool, line_errors: Sequence[LineError] = (), code: int = 1
) -> NoReturn:
    """Fail with `message`, listing the first ERRORS_LISTED line errors and counting the
    rest: on stderr, or as JSON on stdout with `--json`."""
    listed, more = line_errors[:ERRORS_LISTED], max(0, len(line_errors) - ERRORS_LISTED)
    if as_json:
        refusal = {"error": message, "errors": [_error_json(e) for e in listed], "more": more}
        sys.stdout.write(orjson.dumps(refusal).decode() + "\n")
    else:
        for error in listed:
            errors.print(escape(str(error)), highlight=False)
        if more:
            errors.print(f"… and {more:,} more errors", highlight=False)
    fail(message, code=code)


def _error_json(error: LineError) -> dict[str, object]:
    return {"line": error.line, "field": error.field, "error": error.message}


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=errors,
        disable=quiet or not errors.is_terminal,
        transient=True,
    )


def _tracked(stream: IO[bytes], progress: Progress, size: int | None) -> Iterator[bytes]:
    task = progress.add_task("reading", total=size)
    done = 0
    for number, line in enumerate(stream, start=1):
        done += len(line)
        if number % 20_000 == 0:
            progress.update(task, completed=done)
        yield line
    progress.update(task, completed=done, description="writing")


def _print_summary(summary: ImportSummary) -> None:
    table = Table("type", "added", "updated", "unchanged", title=f"{summary.lines} lines")
    for name, counts in summary.types.items():
        table.add_row(name, str(counts.added), str(counts.updated), str(counts.unchanged))
    console.print(table)
    console.print(
        f"requests rebuilt: {summary.requests_rebuilt} (from {summary.threads_replayed} threads)"
    )
    for error in summary.skipped:
        errors.print(f"skipped {escape(str(error))}", highlight=False)
    if summary.skipped:
        errors.print(f"{len(summary.skipped)} line(s) skipped")
    if not summary.changed:
        console.print("nothing changed")


@app.command("stats")
def stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How many records of each import type the database holds."""
    with transaction(database()) as session:
        counts = record_counts(session)
    if as_json:
        sys.stdout.write(orjson.dumps(counts).decode() + "\n")
        return
    table = Table("type", "records")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


@app.command("demo")
def demo_command(
    seed: Annotated[int, typer.Option(help="The same seed gives the same book.")] = 7,
    today: Annotated[
        str | None, typer.Option(help="The demo's today, YYYY-MM-DD (default: today).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON Lines here only.")
    ] = None,
) -> None:
    """Generate a realistic book of business and import it through the importer."""
    from keepwell.ingest.demo import generate_demo

    try:
        day = date.fromisoformat(today) if today else date.today()
    except ValueError:
        fail(f"--today: not a date YYYY-MM-DD: {today!r}")
    records = list(generate_demo(seed=seed, today=day))
    if output is not None:
        output.write_bytes(b"\n".join(orjson.dumps(record) for record in records) + b"\n")
        console.print(f"wrote {len(records):,} lines to {output}")
        return
    settings = get_settings()
    with transaction(database(), writes=True) as session:
        summary = load_demo(
            session,
            records,
            day,
            targets=rules(session).sla,
            timezone=settings.timezone,
            weights=rules(session).weights,
            base_currency=settings.base_currency,
        )
        sign_ins = give_demo_passwords(session, datetime.now(UTC))
    _print_summary(summary)
    print_demo_sign_ins(sign_ins)
