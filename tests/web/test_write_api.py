"""The write API (issue 13 §2): every role against every write, idempotency, the audit log."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from keepwell.services.tokens import list_tokens, revoke_token
from keepwell.services.users import deactivate, find_user
from keepwell.store.db import transaction
from keepwell.store.models import Activity, AuditEntry, NextStep, Resolve
from people import NOW, MakeToken, sign_in
from writebook import EMAILS, ROLE_OF

WRITES = {
    "resolve": ("/api/requests/m-1/resolve", {"note": "Re-ran the export"}),
    "escalate": ("/api/requests/m-1/escalate", {"to": "u-kyle", "reason": "new", "novel": True}),
    "next_step": ("/api/accounts/acme/next-steps", {"text": "Send the plan", "due": "2026-11-27"}),
    "activity": ("/api/accounts/acme/activities", {"kind": "check_in", "text": "Called Joe"}),
}
ALLOWED = {"admin": True, "manager": True, "csm": True, "other_csm": False, "viewer": False}


def bearer(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    return headers | ({"Idempotency-Key": key} if key else {})


def token(token_for: MakeToken, who: str) -> str:
    return token_for(ROLE_OF.get(who, who), email=EMAILS[who])


def count(engine: Engine, model: type) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("who", ALLOWED)
def test_each_role_may_write_on_acme_as_the_role_matrix_says(
    app_client: TestClient, token_for: MakeToken, write: str, who: str
) -> None:
    path, body = WRITES[write]
    response = app_client.post(path, json=body, headers=bearer(token(token_for, who), "k1"))
    assert response.status_code == (200 if ALLOWED[who] else 403), response.text


@pytest.mark.parametrize("write", WRITES)
def test_a_write_without_credentials_answers_401(app_client: TestClient, write: str) -> None:
    path, body = WRITES[write]
    assert app_client.post(path, json=body).status_code == 401


@pytest.mark.parametrize("write", WRITES)
def test_a_write_with_the_session_cookie_needs_the_csrf_header(
    app_client: TestClient, write: str
) -> None:
    path, body = WRITES[write]
    sign_in(app_client, EMAILS["csm"])
    assert app_client.post(path, json=body).status_code == 403
    csrf = app_client.get("/").text.split('name="csrf-token" content="')[1].split('"')[0]
    assert app_client.post(path, json=body, headers={"X-CSRF-Token": csrf}).status_code == 200


def test_a_revoked_token_and_a_deactivated_user_write_nothing(
    app_client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    path, body = WRITES["activity"]
    secret = token(token_for, "csm")
    with transaction(engine) as session:
        (info,) = list_tokens(session)
        revoke_token(session, info.id, NOW)
    assert app_client.post(path, json=body, headers=bearer(secret)).status_code == 401
    secret = token(token_for, "csm")
    with transaction(engine) as session:
        user = find_user(session, EMAILS["csm"])
        assert user is not None
        deactivate(session, user, NOW)
    assert app_client.post(path, json=body, headers=bearer(secret)).status_code == 401
    assert count(engine, Activity) == 0


def test_resolving_twice_makes_one_resolve_and_answers_the_resolved_request(
    app_client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    path, body = WRITES["resolve"]
    headers = bearer(token(token_for, "csm"))
    first = app_client.post(path, json=body, headers=headers)
    again = app_client.post(path, json={"note": "twice"}, headers=headers)
    assert first.json()["resolved_at"] is not None
    assert first.json()["resolution_note"] == "Re-ran the export"
    assert again.json() == first.json()
    assert count(engine, Resolve) == 1


def test_an_activity_sent_twice_with_one_key_is_one_activity(
    app_client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    path, body = WRITES["activity"]
    secret = token(token_for, "csm")
    first = app_client.post(path, json=body, headers=bearer(secret, "form-123"))
    again = app_client.post(path, json=body, headers=bearer(secret, "form-123"))
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and first.json()["kind"] == "check_in"
    assert count(engine, Activity) == 1
    other = app_client.post(path, json=body, headers=bearer(secret, "form-456"))
    assert other.json()["id"] != first.json()["id"]
    assert count(engine, Activity) == 2


def test_a_next_step_sent_twice_is_one_next_step(
    app_client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    path, body = WRITES["next_step"]
    secret = token(token_for, "csm")
    first = app_client.post(path, json=body, headers=bearer(secret, "k"))
    assert first.json()["text"] == "Send the plan" and first.json()["by_id"] == "u-ana"
    app_client.post(path, json=body, headers=bearer(secret))
    assert count(engine, NextStep) == 1


def test_every_write_is_in_the_audit_log_with_who_made_it(
    app_client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    secret = token(token_for, "csm")
    for path, body in WRITES.values():
        assert app_client.post(path, json=body, headers=bearer(secret, "k")).status_code == 200
    with transaction(engine) as session:
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.by_id).where(AuditEntry.subject == "account:acme")
        )
        assert sorted(entries) == [
            (action, "u-ana") for action in sorted(("resolve", "escalate", "next_step", "activity"))
        ]


def test_an_escalation_answers_with_the_escalated_request(
    app_client: TestClient, token_for: MakeToken
) -> None:
    path, body = WRITES["escalate"]
    response = app_client.post(path, json=body, headers=bearer(token(token_for, "manager")))
    assert response.json()["escalations"] == 1 and response.json()["novel"] is True


@pytest.mark.parametrize(
    ("write", "body", "field"),
    [
        ("next_step", {"text": "Plan", "due": "soon"}, "due"),
        ("next_step", {"due": "2026-12-01"}, "text"),
        ("activity", {"kind": "lunch"}, "kind"),
        ("escalate", {"to": "u-nobody"}, "to"),
        ("resolve", {"note": 5}, "note"),
    ],
)
def test_bad_input_answers_422_naming_the_field(
    app_client: TestClient, token_for: MakeToken, write: str, body: dict, field: str
) -> None:
    path, _ = WRITES[write]
    response = app_client.post(path, json=body, headers=bearer(token(token_for, "admin")))
    assert response.status_code == 422
    assert field in [error["loc"][-1] for error in response.json()["detail"]]


def test_a_write_on_what_does_not_exist_answers_404(
    app_client: TestClient, token_for: MakeToken
) -> None:
    headers = bearer(token(token_for, "admin"))
    assert (
        app_client.post("/api/requests/m-404/resolve", json={}, headers=headers).status_code == 404
    )
    missing = app_client.post(
        "/api/accounts/nope/activities", json={"kind": "call"}, headers=headers
    )
    assert missing.status_code == 404
