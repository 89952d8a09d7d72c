from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from book import BASICS, load, message, resolve
from keepwell.services.health import add_override, recompute_health
from keepwell.store.db import transaction
from keepwell.web.app import create_app

GLOBEX = {
    "type": "account",
    "id": "globex",
    "name": "Globex",
    "country": "DE",
    "owner": "u-kyle",
    "started": "2025-03-01",
    "segment": "enterprise",
}


@pytest.fixture
def client(engine: Engine, admin_token: str) -> Iterator[TestClient]:
    load(
        engine,
        *BASICS,
        GLOBEX,
        message("m-1", "t-1", "2026-10-01T14:03:00Z"),
        message("m-2", "t-1", "2026-10-01T14:20:00Z", "outbound"),
        resolve("t-1", "2026-10-01T15:00:00Z"),
        message("m-3", "t-2", "2026-10-02T09:00:00Z", text="<script>alert(1)</script>"),
    )
    bearer = {"Authorization": f"Bearer {admin_token}"}
    with TestClient(create_app(engine), headers=bearer) as client:
        yield client


def test_it_reports_health(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_it_lists_accounts_by_name_with_totals(client: TestClient) -> None:
    body = client.get("/api/accounts").json()
    assert [a["id"] for a in body["items"]] == ["acme", "globex"]
    assert (body["total"], body["limit"], body["offset"]) == (2, 50, 0)


def test_it_paginates_accounts(client: TestClient) -> None:
    body = client.get("/api/accounts", params={"limit": 1, "offset": 1}).json()
    assert [a["id"] for a in body["items"]] == ["globex"]
    assert body["total"] == 2


def test_it_filters_accounts_by_owner_country_and_segment(client: TestClient) -> None:
    assert [a["id"] for a in client.get("/api/accounts?owner=u-ana").json()["items"]] == ["acme"]
    assert [a["id"] for a in client.get("/api/accounts?country=de").json()["items"]] == ["globex"]
    by_segment = client.get("/api/accounts?segment=enterprise").json()["items"]
    assert [a["id"] for a in by_segment] == ["globex"]


def test_it_shows_the_owner_after_a_reassignment(client: TestClient, engine: Engine) -> None:
    load(
        engine,
        {"type": "assign", "account": "acme", "owner": "u-kyle", "at": "2026-01-10T00:00:00Z"},
    )
    assert client.get("/api/accounts/acme").json()["owner_id"] == "u-kyle"
    assert client.get("/api/accounts?owner=u-ana").json()["total"] == 0


def test_it_answers_404_for_an_unknown_account(client: TestClient) -> None:
    response = client.get("/api/accounts/nope")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_it_rejects_a_page_size_over_the_limit(client: TestClient) -> None:
    response = client.get("/api/accounts?limit=10000")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


def test_it_lists_users_by_role(client: TestClient) -> None:
    body = client.get("/api/users?role=csm").json()
    assert [u["id"] for u in body["items"]] == ["u-ana"]
    assert client.get("/api/users/u-kyle").json()["role"] == "manager"


def test_it_lists_requests_by_status(client: TestClient) -> None:
    open_ = client.get("/api/requests?status=open").json()["items"]
    resolved = client.get("/api/requests?status=resolved").json()["items"]
    assert [r["id"] for r in open_] == ["m-3"]
    assert [r["id"] for r in resolved] == ["m-1"]
    assert client.get("/api/requests/m-1").json()["first_response_id"] == "m-2"


def test_it_lists_a_threads_messages_oldest_first(client: TestClient) -> None:
    body = client.get("/api/messages?thread=t-1").json()
    assert [m["id"] for m in body["items"]] == ["m-1", "m-2"]


def test_it_returns_client_text_as_data_not_markup(client: TestClient) -> None:
    response = client.get("/api/messages/m-3")
    assert response.headers["content-type"] == "application/json"
    assert response.json()["text"] == "<script>alert(1)</script>"


def test_it_documents_every_endpoint_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/accounts", "/api/users", "/api/requests", "/api/messages", "/healthz"):
        assert path in paths
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_it_serves_the_revenue_report(client: TestClient) -> None:
    body = client.get("/api/reports/revenue?month=2026-10").json()
    assert body["mrr_start"] == 2500
    assert body["by"]["csm"]["u-ana"]["accounts_start"] == 1


def test_it_rejects_a_malformed_month(client: TestClient) -> None:
    response = client.get("/api/reports/revenue?month=2026-13")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "month"]


def test_it_serves_the_nps_report(client: TestClient) -> None:
    body = client.get("/api/reports/nps?month=2026-10").json()
    assert (body["nps"], body["responses"]) == (None, 0)


def test_it_serves_a_csms_inbox(client: TestClient) -> None:
    body = client.get("/api/inbox?csm=u-ana").json()
    assert [item["request_id"] for item in body] == ["m-3"]
    assert body[0]["time_left"].endswith("overdue")
    assert body[0]["last_client_message"] == "<script>alert(1)</script>"


def test_it_serves_a_csms_inbox_as_it_stood_at_a_moment(client: TestClient) -> None:
    body = client.get("/api/inbox", params={"csm": "u-ana", "as_of": "2026-10-01T14:10:00Z"}).json()
    assert [(item["request_id"], item["waiting_for"]) for item in body] == [
        ("m-1", "first response")
    ]


def test_it_answers_404_for_the_inbox_of_an_unknown_user(client: TestClient) -> None:
    assert client.get("/api/inbox?csm=u-nobody").status_code == 404


def test_it_serves_the_months_scorecards(client: TestClient) -> None:
    body = client.get(
        "/api/scorecards", params={"month": "2026-10", "as_of": "2026-11-05T12:00:00Z"}
    ).json()
    (card,) = body["scorecards"]
    assert card["csm"] == "u-ana"
    assert set(card["metrics"]) == {
        "retention", "response_time", "resolution_time", "independence", "proactivity",
        "testimonials", "crm_hygiene", "self_awareness",
    }  # fmt: skip
    assert card["metrics"]["response_time"]["n"] == 2


def test_it_serves_a_csms_last_twelve_months(client: TestClient) -> None:
    body = client.get("/api/scorecards/u-ana/history?month=2026-10").json()
    assert [m["month"] for m in body["months"]][-1] == "2026-10"
    assert len(body["months"]) == 12


def test_it_serves_an_accounts_health_even_before_the_first_snapshot(client: TestClient) -> None:
    body = client.get("/api/accounts/acme/health").json()
    assert (body["account_id"], body["score"], body["measures"]) == ("acme", None, {})
    assert client.get("/api/accounts/nope/health").status_code == 404


def test_it_serves_the_health_backtest_with_intervals(client: TestClient) -> None:
    response = client.get("/api/health/backtest", params={"as_of": "2026-11-23"})
    assert response.status_code == 200
    body = response.json()
    assert body["quarters"] == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert {"auc", "auc_low", "auc_high"} <= set(body["current"])
    assert client.get("/api/health/backtest", params={"quarters": 0}).status_code == 422


def test_it_refuses_a_backtest_of_quarters_after_today(client: TestClient) -> None:
    response = client.get("/api/health/backtest", params={"as_of": "5807-02-05"})
    assert response.status_code == 422
    assert "as_of: 5807-02-05 is after today" in response.json()["detail"]


def test_an_override_added_after_the_last_recompute_shows_at_once(
    client: TestClient, engine: Engine
) -> None:
    with transaction(engine) as session:
        recompute_health(session, date(2026, 10, 8))
        add_override(session, "acme", "red", "Champion left", date(2099, 1, 1),
                     by="u-kyle", now=datetime.now(UTC))  # fmt: skip
    body = client.get("/api/accounts/acme/health").json()
    assert (body["day"], body["band"]) == ("2026-10-08", "red")
    assert body["override"]["reason"] == "Champion left"
    asked = client.get("/api/accounts/acme/health", params={"day": "2026-10-08"}).json()
    assert asked["override"] is None  # that day ended before the override was added
    none = client.get("/api/accounts/acme/health", params={"day": "2026-10-07"}).json()
    assert none["day"] is None
