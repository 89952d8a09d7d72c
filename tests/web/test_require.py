"""`require(action)` and the CSRF rule for cookie-authenticated writes, on probe routes of the
real app: the dependencies later write routes will use (issue 13 §1)."""

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from keepwell.domain.access import Action
from keepwell.web.app import create_app
from keepwell.web.auth import current_user, require
from people import MakeToken, csrf_of, ensure_user, sign_in


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(engine)
    probe = APIRouter(prefix="/api/probe", dependencies=[Depends(current_user)])

    @probe.post("/override", dependencies=[Depends(require(Action.OVERRIDE_HEALTH))])
    def override() -> dict[str, bool]:
        return {"ok": True}

    @probe.post("/write")
    def write() -> dict[str, bool]:
        return {"ok": True}

    app.include_router(probe)
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("manager", 200), ("csm", 403), ("viewer", 403)]
)
def test_require_lets_only_the_roles_of_the_matrix_through(
    client: TestClient, token_for: MakeToken, role: str, status: int
) -> None:
    headers = {"Authorization": f"Bearer {token_for(role)}"}
    response = client.post("/api/probe/override", headers=headers)
    assert response.status_code == status
    if status == 403:
        assert f"a {role} may not override health" in response.text


def test_require_answers_401_before_403_without_credentials(client: TestClient) -> None:
    assert client.post("/api/probe/override").status_code == 401


def test_a_write_with_the_session_cookie_needs_the_csrf_header(
    client: TestClient, engine: Engine
) -> None:
    ensure_user(engine, "ana@example.com", "csm")
    sign_in(client, "ana@example.com")
    token = csrf_of(client.get("/").text)
    assert client.post("/api/probe/write").status_code == 403
    assert client.post("/api/probe/write", headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/api/probe/write", headers={"X-CSRF-Token": token}).status_code == 200


def test_a_write_with_a_token_needs_no_csrf(client: TestClient, token_for: MakeToken) -> None:
    headers = {"Authorization": f"Bearer {token_for('csm')}"}
    assert client.post("/api/probe/write", headers=headers).status_code == 200


def test_a_page_form_may_carry_its_csrf_token_in_the_htmx_header(
    client: TestClient, engine: Engine
) -> None:
    ensure_user(engine, "ana@example.com", "csm")
    sign_in(client, "ana@example.com")
    token = csrf_of(client.get("/").text)
    response = client.post("/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")
