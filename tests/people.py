"""People who sign in, for the web tests: users of each role, browser sign-in helpers."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from keepwell.services.users import add_user, find_user, set_password
from keepwell.store.db import transaction

PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MakeToken = Callable[..., str]  # the token_for fixture: (role, email=, user_id=) -> token


def bearer(token: str) -> dict[str, str]:
    """The header of an API call with `token`."""
    return {"Authorization": f"Bearer {token}"}


def ensure_user(engine: Engine, email: str, role: str, user_id: str | None = None) -> str:
    """A user who signs in with PASSWORD (added unless the email exists, e.g. imported from a
    book: then only given the password if they have none); their id."""
    with transaction(engine) as session:
        user = find_user(session, email)
        if user is not None and user.password_hash is None:
            set_password(session, user, PASSWORD, NOW)
        if user is None:
            user = add_user(
                session, email=email, name=email.split("@")[0].title(), role=role,
                password=PASSWORD, now=NOW, user_id=user_id,
            )  # fmt: skip
        return user.id


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
