"""A small book for the write and page tests: Ana (csm) owns Acme, Ben (csm) owns Globex,
each account has one open request; users of every role sign in with PASSWORD."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from book import BASICS, load, message
from keepwell.web.app import create_app
from keepwell.web.deps import request_now
from people import NOW, ensure_user

BEN = {"type": "user", "id": "u-ben", "name": "Ben", "email": "ben@example.com", "role": "csm",
       "timezone": "America/New_York", "schedule": "ny-9-17", "manager": "u-kyle"}  # fmt: skip
GLOBEX = {"type": "account", "id": "globex", "name": "Globex", "country": "DE",
          "timezone": "Europe/Berlin", "owner": "u-ben", "started": "2026-02-01", "mrr": 900,
          "currency": "EUR", "segment": "smb", "stage": "onboarding"}  # fmt: skip
ACME_ASK = message(
    "m-1", "t-1", "2026-11-18T15:00:00Z", text="Export broken <script>alert(1)</script>"
)
GLOBEX_ASK = {**message("m-2", "t-2", "2026-11-19T15:00:00Z"), "account": "globex"}
# Which email signs in for each role in the tests; ana owns acme (the account written on).
EMAILS = {
    "admin": "admin@keepwell.test",
    "manager": "kyle@example.com",
    "csm": "ana@example.com",
    "other_csm": "ben@example.com",
    "viewer": "viewer@keepwell.test",
}
ROLE_OF = {"other_csm": "csm"}


def load_book(engine: Engine, *extra: dict[str, Any]) -> None:
    manager = {"email": "kyle@example.com"}
    records = [r if r.get("id") != "u-kyle" else {**r, **manager} for r in BASICS]
    load(engine, *records, BEN, GLOBEX, ACME_ASK, GLOBEX_ASK, *extra)
    for who, email in EMAILS.items():
        ensure_user(engine, email, ROLE_OF.get(who, who))


@pytest.fixture
def app_client(engine: Engine) -> Iterator[TestClient]:
    load_book(engine)
    app = create_app(engine)
    app.dependency_overrides[request_now] = lambda: NOW
    with TestClient(app) as client:
        yield client
