"""Test databases: SQLite by default, PostgreSQL when KEEPWELL_TEST_DATABASE_URL names one.

Every test gets an empty, migrated database. SQLite: a copy of a template file migrated once.
PostgreSQL: one database migrated once, its tables emptied after each test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text

from keepwell.store.db import make_engine, migrate
from keepwell.store.models import Base

POSTGRES_URL = os.environ.get("KEEPWELL_TEST_DATABASE_URL", "")

# In CI the property tests replay the same examples every run, so a red build always means a
# change broke something; on a developer's machine they keep exploring new ones.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_report_header() -> str:
    return f"database: {'postgresql' if POSTGRES_URL else 'sqlite'}"


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    if POSTGRES_URL:
        engine = make_engine(POSTGRES_URL)
        migrate(engine)
        engine.dispose()
        return None
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def database_url(_template: Path | None, tmp_path: Path) -> Iterator[str]:
    if _template is None:
        yield POSTGRES_URL
        _empty_postgres()
        return
    path = tmp_path / "keepwell.db"
    shutil.copy(_template, path)
    yield f"sqlite:///{path}"


def _empty_postgres() -> None:
    engine = make_engine(POSTGRES_URL)
    names = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()
