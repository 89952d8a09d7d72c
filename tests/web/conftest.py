"""People who sign in, for the web tests: a user of each role, a token or a browser session."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from keepwell.services.tokens import create_token
from keepwell.services.users import add_user, find_user
from keepwell.store.db import transaction

PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

MakeToken = Callable[..., str]


def ensure_user(engine: Engine, email: str, role: str, user_id: str | None = None) -> str:
    """A user who signs in with PASSWORD (added unless the email exists); their id."""
    with transaction(engine) as session:
        user = find_user(session, email)
        if user is None:
            user = add_user(
                session, email=email, name=email.split("@")[0].title(), role=role,
                password=PASSWORD, now=NOW, user_id=user_id,
            )  # fmt: skip
        return user.id


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


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token on the page"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> TestClient:
    """Sign `client` in through the login form, as a browser would."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client
