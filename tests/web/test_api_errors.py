"""Bad parameters are a 422 that names them, never a 500 (issue 18, section 3)."""

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from book import BASICS, load, message
from keepwell.web.api.params import Day
from keepwell.web.app import create_app


def account(id: str, name: str) -> dict:
    return {"type": "account", "id": id, "name": name, "owner": "u-ana", "started": "2026-01-01"}


@pytest.fixture
def client(engine: Engine, admin_token: str) -> Iterator[TestClient]:
    load(
        engine,
        *BASICS,
        account("juice", "100% Juice"),
        account("snake", "Snake_Case Ltd"),
        message("m-1", "t-1", "2026-10-01T14:03:00Z"),
        message("m-2", "t-2", "2026-11-02T09:00:00Z"),
    )
    bearer = {"Authorization": f"Bearer {admin_token}"}
    with TestClient(create_app(engine), raise_server_exceptions=False, headers=bearer) as client:
        yield client


def refused(response, where: str, name: str) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 422 and [where, name] in [
        error["loc"] for error in response.json()["detail"]
    ]


def test_it_refuses_an_offset_beyond_any_page_by_name(client: TestClient) -> None:
    response = client.get("/api/accounts", params={"offset": "99999999999999999999"})
    assert refused(response, "query", "offset")


def test_it_refuses_a_date_time_without_an_offset_by_name(client: TestClient) -> None:
    assert refused(client.get("/api/requests?opened_from=2026-11-01"), "query", "opened_from")
    assert refused(client.get("/api/requests?opened_to=2026-11-01T00:00"), "query", "opened_to")
    assert refused(client.get("/api/messages?since=2026-11-01T00:00:00"), "query", "since")
    assert refused(client.get("/api/messages?until=2026-11-01"), "query", "until")


def test_it_says_in_openapi_that_a_date_time_needs_an_offset(client: TestClient) -> None:
    parameters = client.get("/openapi.json").json()["paths"]["/api/requests"]["get"]["parameters"]
    (opened_from,) = [p for p in parameters if p["name"] == "opened_from"]
    assert "without an offset is refused" in opened_from["description"]


def test_it_refuses_an_instant_that_leaves_the_calendar_in_utc(client: TestClient) -> None:
    late = {"opened_from": "9999-12-31T23:00:00-05:00"}
    assert refused(client.get("/api/requests", params=late), "query", "opened_from")
    early = {"since": "0001-01-01T00:00:00+05:00"}
    assert refused(client.get("/api/messages", params=early), "query", "since")


def test_it_refuses_an_evaluation_moment_beyond_the_business_hours_years(
    client: TestClient,
) -> None:
    # Filters only compare instants; a moment the clocks are computed at must be countable.
    far = {"as_of": "9999-06-01T00:00:00Z"}
    assert refused(
        client.get("/api/scorecards", params={"month": "2026-10", **far}), "query", "as_of"
    )
    assert refused(client.get("/api/inbox", params={"csm": "u-ana", **far}), "query", "as_of")
    assert client.get("/api/messages", params={"since": far["as_of"]}).status_code == 200


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "1899-12"])
def test_it_refuses_a_scorecard_month_out_of_range_by_name(client: TestClient, month: str) -> None:
    assert refused(client.get("/api/scorecards", params={"month": month}), "query", "month")
    history = client.get("/api/scorecards/u-ana/history", params={"month": month})
    assert refused(history, "query", "month")


def test_it_refuses_a_nul_character_by_name(client: TestClient) -> None:
    assert refused(client.get("/api/accounts?q=a%00b"), "query", "q")
    assert refused(client.get("/api/accounts/a%00b"), "path", "account_id")


def test_it_searches_for_a_percent_sign_literally(client: TestClient) -> None:
    body = client.get("/api/accounts", params={"q": "%"}).json()
    assert [a["id"] for a in body["items"]] == ["juice"]


def test_it_searches_for_an_underscore_literally(client: TestClient) -> None:
    body = client.get("/api/accounts", params={"q": "_"}).json()
    assert [a["id"] for a in body["items"]] == ["snake"]


def test_it_refuses_a_day_at_the_ends_of_the_calendar_by_name() -> None:
    # The health routes take days (in the health branch); a day there is this type.
    app = FastAPI()

    @app.get("/day")
    def echo(day: Annotated[Day, Query()]) -> str:
        return day.isoformat()

    client = TestClient(app, raise_server_exceptions=False)
    assert refused(client.get("/day?day=0001-01-01"), "query", "day")
    assert refused(client.get("/day?day=9999-12-31"), "query", "day")
    assert client.get("/day?day=2026-10-01").json() == "2026-10-01"
