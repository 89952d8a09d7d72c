"""The `keepwell` command: thin Typer commands, each calling one service function."""

from keepwell.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
