"""Who may call the API (issue 13 §1): bearer tokens, the session cookie, the role matrix."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from book import BASICS, load
from keepwell.services.tokens import list_tokens, revoke_token
from keepwell.services.users import deactivate, find_user
from keepwell.store.db import transaction
from keepwell.web.app import create_app
from people import NOW, MakeToken, bearer, ensure_user, sign_in

MONTH = {"month": "2026-10", "as_of": "2026-11-05T12:00:00Z"}


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    load(engine, *BASICS)  # u-ana (csm, ana@example.com) reports to u-kyle (manager)
    with TestClient(create_app(engine)) as client:
        yield client


@pytest.mark.parametrize(
    "path",
    ["/api/accounts", "/api/users", "/api/requests", "/api/inbox?csm=u-ana",
     "/api/reports/revenue?month=2026-10", "/api/rates", "/api/scorecards?month=2026-10"],
)  # fmt: skip
def test_the_api_answers_401_without_credentials(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"].startswith("application/json")
    assert "sign in" in response.text  # JSON, whatever the error envelope


def test_the_api_answers_401_to_an_unknown_token(client: TestClient) -> None:
    assert client.get("/api/accounts", headers=bearer("kw_made-up")).status_code == 401


def test_the_open_paths_stay_open(client: TestClient) -> None:
    for path in ("/healthz", "/docs", "/openapi.json", "/static/vendor/htmx/htmx.min.js"):
        assert client.get(path).status_code == 200, path


def test_any_role_reads_the_book_with_a_token(client: TestClient, token_for: MakeToken) -> None:
    for role in ("admin", "manager", "csm", "viewer"):
        response = client.get("/api/accounts", headers=bearer(token_for(role)))
        assert response.status_code == 200, role
        assert response.json()["total"] == 1


def test_a_revoked_token_answers_401(
    client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    token = token_for("viewer")
    assert client.get("/api/accounts", headers=bearer(token)).status_code == 200
    with transaction(engine) as session:
        (info,) = list_tokens(session)
        revoke_token(session, info.id, NOW)
    assert client.get("/api/accounts", headers=bearer(token)).status_code == 401


def test_a_deactivated_users_token_and_session_stop_at_once(
    client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    token = token_for("csm", email="ana@example.com")
    sign_in(client, "ana@example.com")
    assert client.get("/api/accounts").status_code == 200  # the session cookie
    with transaction(engine) as session:
        user = find_user(session, "ana@example.com")
        assert user is not None
        deactivate(session, user, NOW)
    assert client.get("/api/accounts").status_code == 401
    assert client.get("/api/accounts", headers=bearer(token)).status_code == 401


def test_a_signed_in_browser_reads_the_api_with_its_cookie(client: TestClient) -> None:
    ensure_user(client.app.state.engine, "ana@example.com", "csm")  # type: ignore[attr-defined]
    sign_in(client, "ana@example.com")
    assert client.get("/api/users/u-ana").json()["role"] == "csm"


def test_a_viewer_sees_no_scorecard(client: TestClient, token_for: MakeToken) -> None:
    headers = bearer(token_for("viewer"))
    assert client.get("/api/scorecards", params=MONTH, headers=headers).status_code == 403
    history = client.get("/api/scorecards/u-ana/history", headers=headers)
    assert history.status_code == 403
    assert "a viewer may not read this scorecard" in history.text


def test_a_csm_reads_only_their_own_scorecard(client: TestClient, token_for: MakeToken) -> None:
    headers = bearer(token_for("csm", email="ana@example.com"))
    own = client.get("/api/scorecards", params=MONTH, headers=headers)
    assert [card["csm"] for card in own.json()["scorecards"]] == ["u-ana"]
    mine = client.get("/api/scorecards", params={**MONTH, "csm": "u-ana"}, headers=headers)
    assert mine.status_code == 200
    assert client.get("/api/scorecards/u-ana/history", headers=headers).status_code == 200
    other = client.get("/api/scorecards", params={**MONTH, "csm": "u-bob"}, headers=headers)
    assert other.status_code == 403
    assert client.get("/api/scorecards/u-bob/history", headers=headers).status_code == 403


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_read_every_scorecard(
    client: TestClient, token_for: MakeToken, role: str
) -> None:
    headers = bearer(token_for(role))
    cards = client.get("/api/scorecards", params=MONTH, headers=headers).json()["scorecards"]
    assert [card["csm"] for card in cards] == ["u-ana"]
    assert client.get("/api/scorecards/u-ana/history", headers=headers).status_code == 200


def test_openapi_documents_the_bearer_token_and_the_session_cookie(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["token"]["description"],
    }
    assert (schemes["session"]["in"], schemes["session"]["name"]) == ("cookie", "keepwell_session")
    security = document["paths"]["/api/accounts"]["get"]["security"]
    assert {"token": []} in security and {"session": []} in security
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_a_tokens_use_is_recorded(client: TestClient, token_for: MakeToken, engine: Engine) -> None:
    token = token_for("viewer")
    assert client.get("/api/accounts", headers=bearer(token)).status_code == 200
    with transaction(engine) as session:
        (info,) = list_tokens(session)
    assert info.last_used_at is not None
