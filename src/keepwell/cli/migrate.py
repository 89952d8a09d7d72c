"""`keepwell migrate`: bring the database's schema to this version of Keepwell."""

from __future__ import annotations

from keepwell.cli.app import app
from keepwell.cli.common import console, database
from keepwell.store.db import migrate, schema_revisions


@app.command("migrate")
def migrate_command() -> None:
    """Migrate the database schema to this version; safe to run from several processes at
    once (one migrates, the others wait and find it done)."""
    engine = database(migrate=False)
    before, _ = schema_revisions(engine)
    migrate(engine)
    after, _ = schema_revisions(engine)
    now = ", ".join(sorted(after))
    if before == after:
        console.print(f"The schema is current (revision {now}).")
    else:
        console.print(
            f"The schema is at revision {now} (was {', '.join(sorted(before)) or 'empty'})."
        )
