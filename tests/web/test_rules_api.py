"""`/api/settings` (issue 14 §4): the rule settings as JSON, for an admin only, through the
service the settings pages and `keepwell settings` use: checked, audited, recomputed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from keepwell.services.jobs import get_job
from keepwell.store.db import transaction
from keepwell.store.models import AuditEntry
from people import MakeToken, bearer

FIRST_RESPONSE = "/api/settings/sla_first_response_seconds"


@pytest.fixture
def client(basics_client: TestClient) -> TestClient:
    return basics_client


def test_an_admin_reads_every_setting_and_where_it_comes_from(
    client: TestClient, admin_token: str
) -> None:
    answer = client.get("/api/settings", headers=bearer(admin_token))
    settings = {setting["key"]: setting for setting in answer.json()}
    assert list(settings) == [
        "sla_first_response_seconds", "sla_resolution_business_days", "targets", "health_weights"
    ]  # fmt: skip
    first = settings["sla_first_response_seconds"]
    assert first["source"] == "default" and first["saved_by"] is None
    assert first["variable"] == "KEEPWELL_SLA_FIRST_RESPONSE_SECONDS"
    assert "retention" in settings["targets"]["value"]


def test_an_admin_changes_a_setting_audited_and_recomputed_then_resets_it(
    client: TestClient, admin_token: str, engine: Engine
) -> None:
    before = client.get("/api/settings", headers=bearer(admin_token)).json()[0]["value"]
    changed = client.put(FIRST_RESPONSE, json={"value": 1800}, headers=bearer(admin_token))
    assert changed.status_code == 200, changed.text
    answer = changed.json()
    assert (answer["before"], answer["after"], answer["changed"]) == (before, 1800, True)
    assert answer["recompute"] == ["sla"]
    with transaction(engine) as session:
        job = get_job(session, answer["job_id"])
        audited = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject == "settings:" + answer["key"])
        ).all()
    assert job is not None and job.state == "queued"
    assert audited == ["settings.change"]
    shown = client.get("/api/settings", headers=bearer(admin_token)).json()[0]
    assert (shown["value"], shown["source"]) == (1800, "saved") and shown["saved_by"]

    same = client.put(FIRST_RESPONSE, json={"value": 1800}, headers=bearer(admin_token)).json()
    assert (same["changed"], same["job_id"]) == (False, None)

    reset = client.delete(FIRST_RESPONSE, headers=bearer(admin_token)).json()
    assert (reset["before"], reset["after"], reset["changed"]) == (1800, before, True)
    assert client.get("/api/settings", headers=bearer(admin_token)).json()[0]["source"] == "default"


@pytest.mark.parametrize(
    ("key", "value", "loc", "message"),
    [
        ("sla_first_response_seconds", -5, ["body", "value"], "greater than 0"),
        ("sla_first_response_seconds", True, ["body", "value"], "expected a number"),
        ("health_weights", {"engagement": -1}, ["body", "value", "engagement"], "finite"),
        ("targets", {"retention": {"green": 0.9}}, ["body", "value", "retention"], "band"),
    ],
)
def test_a_bad_value_answers_422_naming_the_field(
    client: TestClient, admin_token: str, key: str, value: object, loc: list[str], message: str
) -> None:
    answer = client.put(f"/api/settings/{key}", json={"value": value}, headers=bearer(admin_token))
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["detail"]
    assert error["loc"][: len(loc)] == loc and message in error["msg"]


def test_an_unknown_setting_answers_404(client: TestClient, admin_token: str) -> None:
    answer = client.put("/api/settings/nope", json={"value": 1}, headers=bearer(admin_token))
    assert answer.status_code == 404 and "sla_first_response_seconds" in answer.json()["detail"]
    assert client.delete("/api/settings/nope", headers=bearer(admin_token)).status_code == 404


@pytest.mark.parametrize("role", ["manager", "csm", "viewer"])
def test_anyone_but_an_admin_gets_403(client: TestClient, token_for: MakeToken, role: str) -> None:
    headers = bearer(token_for(role))
    assert client.get("/api/settings", headers=headers).status_code == 403
    assert client.put(FIRST_RESPONSE, json={"value": 60}, headers=headers).status_code == 403
    assert client.delete(FIRST_RESPONSE, headers=headers).status_code == 403
    assert client.get("/api/settings").status_code == 401
