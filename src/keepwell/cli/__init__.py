"""The `keepwell` command: thin Typer commands, each calling one service function."""

import sys

from keepwell.cli.app import app
from keepwell.config import ConfigError


def main() -> None:
    """The entry point. What the user must fix is one line on stderr and status 2, whichever
    command ran into it (no traceback): a setting that cannot be used, or a file or folder
    named on the command line that cannot be read or written."""
    try:
        app()
    except ConfigError as exc:
        _usage_error(str(exc))
    except OSError as exc:
        if exc.filename is None:  # not about a path the user gave: a failure, shown whole
            raise
        _usage_error(f"{exc.filename}: {exc.strerror or exc}")


def _usage_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


__all__ = ["app", "main"]
