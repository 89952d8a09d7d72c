"""The FastAPI application: JSON API now; pages (Jinja2 + htmx) slot in beside it."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine, text

from keepwell import __version__
from keepwell.store.db import make_sessionmaker
from keepwell.web.api import records
from keepwell.web.api.schemas import Health
from keepwell.web.deps import SessionDep


def create_app(engine: Engine) -> FastAPI:
    """The app on a migrated database."""
    app = FastAPI(
        title="Keepwell",
        version=__version__,
        description="Customer success in business hours: requests, scorecards, health.",
    )
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.include_router(records.router)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def healthz(session: SessionDep) -> Health:
        session.execute(text("SELECT 1"))
        return Health(status="ok", database=engine.dialect.name)

    return app
