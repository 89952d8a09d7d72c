"""Fixtures for the web tests: bearer tokens for users of any role."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from keepwell.services.tokens import create_token
from keepwell.services.users import find_user
from keepwell.store.db import transaction
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
