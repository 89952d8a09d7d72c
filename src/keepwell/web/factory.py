"""The app as uvicorn's workers build it: each worker process opens its own engine from the
settings (its environment) and checks the schema; `keepwell serve` migrated it before."""

from __future__ import annotations

from fastapi import FastAPI

from keepwell.config import get_settings
from keepwell.store.db import make_engine
from keepwell.web.app import create_app

FACTORY = "keepwell.web.factory:create_app_from_settings"


def create_app_from_settings() -> FastAPI:
    """The app on the configured database, never migrating it (`SchemaBehind` if behind).
    It runs no jobs: a jobs process does (`keepwell serve` starts one on the embedded
    queue; with Redis, `keepwell worker` processes)."""
    return create_app(make_engine(get_settings().database_url))
