"""`/api/schedules` (issue 14 §4): the schedules page's reads and its write as JSON, for an
admin only; a bad version answers 422 naming the field as the import names it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from keepwell.services.jobs import get_job
from keepwell.store.db import transaction
from people import MakeToken, bearer

WEEK = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
VERSION = {"timezone": "America/New_York", "week": WEEK, "holidays": {"country": "US"}}
PUT = "/api/schedules/ny-9-17/versions/2026-11-02"


@pytest.fixture
def client(basics_client: TestClient) -> TestClient:
    return basics_client


def test_an_admin_lists_the_schedules_and_a_weeks_hours(
    client: TestClient, admin_token: str
) -> None:
    (schedule,) = client.get("/api/schedules", headers=bearer(admin_token)).json()
    assert schedule["id"] == "ny-9-17" and schedule["users"] == ["Ana", "Kyle"]
    assert schedule["versions"][0]["effective"] is None
    days = client.get(
        "/api/schedules/ny-9-17/week", params={"week": "2026-11-26"}, headers=bearer(admin_token)
    ).json()
    assert [d["day"] for d in days][:1] == ["2026-11-23"]
    assert days[0]["open"] == [["09:00", "17:00"]] and days[0]["open_hours"] == 8
    assert days[3]["why"] == "public holiday" and days[3]["open"] == []


@pytest.mark.parametrize("role", ["manager", "csm", "viewer"])
def test_anyone_but_an_admin_gets_403(client: TestClient, token_for: MakeToken, role: str) -> None:
    headers = bearer(token_for(role))
    assert client.get("/api/schedules", headers=headers).status_code == 403
    assert client.put(PUT, json=VERSION, headers=headers).status_code == 403


def test_an_admin_adds_a_version_and_the_recompute_is_queued(
    client: TestClient, admin_token: str, engine: Engine
) -> None:
    answer = client.put(PUT, json=VERSION, headers=bearer(admin_token))
    assert answer.status_code == 200, answer.text
    saved = answer.json()
    assert (saved["effective"], saved["replaced"]) == ("2026-11-02", False)
    with transaction(engine) as session:
        job = get_job(session, saved["job_id"])
    assert job is not None and job.state == "queued"
    again = client.put(PUT, json=VERSION, headers=bearer(admin_token))
    assert again.json()["replaced"] is True


@pytest.mark.parametrize(
    ("version", "loc", "message"),
    [
        ({**VERSION, "week": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}},
         ["body", "week", "mon[1]"], "intervals overlap"),
        ({**VERSION, "holidays": {"country": "US", "subdivision": "XX"}},
         ["body", "holidays", "subdivision"], "unknown subdivision"),
        ({**VERSION, "days": {"2026-02-30": []}}, ["body", "days", "2026-02-30"], "not a date"),
    ],
)  # fmt: skip
def test_a_bad_version_answers_422_naming_the_field(
    client: TestClient, admin_token: str, version: dict[str, object], loc: list[str], message: str
) -> None:
    answer = client.put(PUT, json=version, headers=bearer(admin_token))
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["loc"] == loc and message in error["msg"]


def test_an_unknown_schedule_answers_404(client: TestClient, admin_token: str) -> None:
    answer = client.put("/api/schedules/nope/versions/2026-11-02", json=VERSION,
                        headers=bearer(admin_token))  # fmt: skip
    assert answer.status_code == 404
