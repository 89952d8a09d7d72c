"""The top-level command: it loads a command's module only when that command runs, and its
table of commands says what the modules register."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys

from keepwell.cli.app import COMMANDS, Entry, all_modules, app

# Imports that cost a command hundreds of milliseconds when it does not use them.
HEAVY = ("sqlalchemy", "alembic", "numpy", "fastapi", "uvicorn", "sklearn", "holidays")


def loaded_after(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh `keepwell ARGS` process has imported when it ends."""
    script = (
        "import sys\n"
        "from keepwell.cli import main\n"
        f"sys.argv = ['keepwell', *{args!r}]\n"
        "try:\n    main()\n"
        "except SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.splitlines()[-1].split())


def first_paragraph(text: str | None) -> str:
    return " ".join((text or "").split("\n\n")[0].split())


def registered() -> dict[str, Entry]:
    """What the command modules add to `app`, as the table would say it."""
    for module in all_modules():
        importlib.import_module(f"keepwell.cli.{module}")
    found = {}
    for command in app.registered_commands:
        assert command.callback is not None
        name = command.name or command.callback.__name__.replace("_", "-")
        found[name] = Entry(
            command.callback.__module__.rsplit(".", 1)[1],
            first_paragraph(command.help or inspect.getdoc(command.callback)),
        )
    for group in app.registered_groups:
        sub = group.typer_instance
        assert sub is not None and group.name is not None
        callback = sub.registered_commands[0].callback
        assert callback is not None
        help_text = group.help if isinstance(group.help, str) else sub.info.help
        found[group.name] = Entry(
            callback.__module__.rsplit(".", 1)[1],
            first_paragraph(help_text if isinstance(help_text, str) else None),
        )
    return found


def test_the_command_table_says_what_each_module_registers() -> None:
    assert registered() == {
        name: Entry(e.module, first_paragraph(e.help)) for name, e in COMMANDS.items()
    }


def test_help_lists_every_command_without_importing_one() -> None:
    loaded = loaded_after(["--help"])
    assert not {m for m in loaded if m.startswith("keepwell.cli.") and m != "keepwell.cli.app"}
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}
    assert "keepwell.config" not in loaded  # pydantic-settings: settings are not read


def test_a_command_loads_only_its_own_module(database_url: str) -> None:
    loaded = loaded_after(
        ["scorecard", "--month", "2026-10", "--json"], {"KEEPWELL_DATABASE_URL": database_url}
    )
    commands = {m for m in loaded if m.startswith("keepwell.cli.")}
    assert commands == {"keepwell.cli.app", "keepwell.cli.common", "keepwell.cli.scorecard"}
    assert not {m for m in loaded if m.split(".")[0] in ("fastapi", "uvicorn", "sklearn")}
    assert "keepwell.web.app" not in loaded


def test_a_command_missing_from_the_table_still_runs() -> None:
    script = (
        "import sys\n"
        "from keepwell.cli import main\n"
        "from keepwell.cli.app import COMMANDS\n"
        "del COMMANDS['hours']\n"
        "sys.argv = ['keepwell', 'hours', 'add', '--help']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "SECONDS" in done.stdout


def test_the_inbox_loads_neither_the_importer_nor_the_web_app(database_url: str) -> None:
    loaded = loaded_after(["inbox", "--csm", "u-nobody"], {"KEEPWELL_DATABASE_URL": database_url})
    assert "keepwell.services.inbox" in loaded
    assert not {"keepwell.services.importing", "keepwell.web.app"} & loaded
