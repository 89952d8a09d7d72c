"""The migrations build exactly the schema the models describe, on both databases."""

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from keepwell.store.db import alembic_config, make_engine
from keepwell.store.models import Base


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migration_0005_keeps_every_users_schedule_from_the_start(tmp_path: Path) -> None:
    """Users who had a schedule before user schedules existed keep it for all time, so no
    clock computed before the upgrade changes."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0004")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, name, role, timezone, schedule_id) VALUES "
                "('u-ana', 'Ana', 'csm', 'UTC', 'ny-20h'), ('u-bo', 'Bo', 'viewer', 'UTC', NULL)"
            )
        )
    command.upgrade(alembic_config(engine), "head")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT user_id, effective, schedule_id FROM user_schedules")
        )
        assert [tuple(row) for row in rows] == [("u-ana", "0001-01-01", "ny-20h")]
    engine.dispose()
