"""The Typer application and the registration of every command group."""

import typer

app = typer.Typer(
    name="keepwell",
    help="Keepwell: customer success in business hours.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _register() -> None:
    # Imported for their side effect: each module adds its commands to `app`.
    from keepwell.cli import (  # noqa: F401
        deliveries,
        health,
        hours,
        importing,
        jobs,
        migrate,
        rates,
        reports,
        scorecard,
        serve,
        sla,
        slack,
        worker,
    )


_register()
