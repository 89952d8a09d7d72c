"""Alembic environment: the connection (in its transaction) or the engine comes from the
caller (`keepwell.store.db.migrate`), else an engine on KEEPWELL_DATABASE_URL."""

from alembic import context
from sqlalchemy import Connection

from keepwell.config import get_settings
from keepwell.store.db import make_engine, migration_transaction
from keepwell.store.models import Base

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()


given: Connection | None = config.attributes.get("connection")
if given is not None:
    run(given)  # the caller's transaction holds every migration
else:
    # `alembic upgrade` run by hand: the same transaction and lock as `keepwell migrate`.
    engine = config.attributes.get("engine") or make_engine(get_settings().database_url)
    with migration_transaction(engine) as connection:
        run(connection)
