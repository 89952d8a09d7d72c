"""Fixtures for the web tests: bearer tokens for users of any role, and an app on the small
book with its job queue in the test's folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from book import BASICS, load
from keepwell.config import get_settings
from keepwell.services.tokens import create_token
from keepwell.services.users import find_user
from keepwell.store.db import transaction
from keepwell.web.app import create_app
from people import NOW, MakeToken, ensure_user
from writebook import app_client  # noqa: F401 (a fixture: the small book's app)


@pytest.fixture
def token_for(engine: Engine) -> MakeToken:
    """A bearer token for a user of `role` (a new user unless `email` names one)."""

    def make(role: str = "admin", email: str | None = None, user_id: str | None = None) -> str:
        address = email or f"{role}@keepwell.test"
        ensure_user(engine, address, role, user_id)
        with transaction(engine) as session:
            user = find_user(session, address)
            assert user is not None
            _token, secret = create_token(session, user, "tests", NOW)
        return secret

    return make


@pytest.fixture
def admin_token(token_for: MakeToken) -> str:
    return token_for("admin")


@pytest.fixture
def basics_client(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The app on the basic book (`book.BASICS`), its SQLite job queue in `tmp_path` (jobs
    are enqueued, not run)."""
    monkeypatch.setenv("KEEPWELL_JOBS_PATH", str(tmp_path / "jobs.db"))
    get_settings.cache_clear()
    load(engine, *BASICS)
    with TestClient(create_app(engine)) as client:
        yield client
    get_settings.cache_clear()
