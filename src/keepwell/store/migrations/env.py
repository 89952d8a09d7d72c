"""Alembic environment: the engine comes from the caller or from KEEPWELL_DATABASE_URL."""

from alembic import context

from keepwell.config import get_settings
from keepwell.store.db import make_engine
from keepwell.store.models import Base

config = context.config
engine = config.attributes.get("engine") or make_engine(get_settings().database_url)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
