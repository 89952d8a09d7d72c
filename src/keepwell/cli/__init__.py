"""The `keepwell` command: thin Typer commands, each calling one service function."""

import sys

from keepwell.cli.app import app


def main() -> None:
    """The entry point. What the user must fix is one line on stderr and status 2, whichever
    command ran into it (no traceback): a setting that cannot be used, or a file or folder
    named on the command line that cannot be read or written."""
    try:
        app()
    except OSError as exc:
        if exc.filename is None:  # not about a path the user gave: a failure, shown whole
            raise
        _usage_error(f"{exc.filename}: {exc.strerror or exc}")
    except Exception as exc:
        # Settings are read (and keepwell.config imported, with pydantic) only by commands
        # that need them: `--help` does without. So ConfigError is looked up, not imported.
        config = sys.modules.get("keepwell.config")
        if config is None or not isinstance(exc, config.ConfigError):
            raise
        _usage_error(str(exc))


def _usage_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


__all__ = ["app", "main"]
