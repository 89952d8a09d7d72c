"""The `keepwell` command: thin Typer commands, each calling one service function."""

import sys

from keepwell.cli.app import app
from keepwell.config import ConfigError


def main() -> None:
    """The entry point: a setting that cannot be used is one line and status 2, whichever
    command first read the settings (no traceback)."""
    try:
        app()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


__all__ = ["app", "main"]
