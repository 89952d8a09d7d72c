"""The FastAPI application: JSON API now; pages (Jinja2 + htmx) slot in beside it."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from keepwell import __version__
from keepwell.config import get_settings
from keepwell.services import browse
from keepwell.store.db import make_sessionmaker, require_current_schema
from keepwell.web import pages
from keepwell.web.api import (
    actions,
    inbox,
    records,
    reports,
    reviews,
    rules,
    schedules,
    scorecards,
)
from keepwell.web.api.schemas import Health
from keepwell.web.auth import current_user
from keepwell.web.deps import SessionDep, refuse_nul
from keepwell.web.integrations import slack as slack_events
from keepwell.web.integrations.direct import DirectEndpoints
from keepwell.web.jobs import consuming, enqueuing
from keepwell.web.page_cache import PageCache
from keepwell.web.security import SecurityHeaders, with_inline_script_hashes

STATIC = Path(__file__).with_name("static")
SWAGGER = "/static/vendor/swagger-ui"


def create_app(engine: Engine, *, run_jobs: bool = False) -> FastAPI:
    """The app on a migrated database. It never migrates (`keepwell migrate` and `serve` do,
    before it starts): on a schema behind, it refuses to start (`SchemaBehind`).

    `run_jobs`: consume the job queue in threads of this process, started and stopped with
    the app (tests, and an app embedded elsewhere; `keepwell serve` runs a jobs process)."""
    require_current_schema(engine)
    app = FastAPI(
        title="Keepwell",
        version=__version__,
        description="Customer success in business hours: requests, scorecards, health.",
        docs_url=None,  # served below from vendored files: no CDN
        redoc_url=None,
        dependencies=[Depends(refuse_nul)],
        lifespan=consuming if run_jobs else enqueuing,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.page_cache = PageCache(engine, get_settings().page_cache_seconds)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(DirectEndpoints, routes={slack_events.EVENTS: slack_events.answer_event})
    signed_in = [Depends(current_user)]  # every /api route: 401 without credentials
    app.include_router(records.router, dependencies=signed_in)
    app.include_router(reports.router, dependencies=signed_in)
    app.include_router(inbox.router, dependencies=signed_in)
    app.include_router(scorecards.router, dependencies=signed_in)
    app.include_router(reviews.router, dependencies=signed_in)
    app.include_router(actions.router, dependencies=signed_in)
    app.include_router(schedules.router, dependencies=signed_in)
    app.include_router(rules.router, dependencies=signed_in)
    app.include_router(slack_events.router)  # signed by Slack: no user session
    pages.install(app)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def healthz(session: SessionDep) -> Health:
        browse.database_answers(session)
        return Health(status="ok", database=engine.dialect.name)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        html = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Keepwell API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
        )
        return with_inline_script_hashes(html)

    return app
