from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from book import BASICS, EURO_ACCOUNT, load
from keepwell.config import get_settings
from keepwell.services.rates import set_rate
from keepwell.store.db import transaction
from keepwell.web.app import create_app


@pytest.fixture
def client(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, admin_token: str
) -> Iterator[TestClient]:
    monkeypatch.delenv("KEEPWELL_EXCHANGE_RATES", raising=False)
    get_settings.cache_clear()
    load(engine, *BASICS, EURO_ACCOUNT)
    bearer = {"Authorization": f"Bearer {admin_token}"}
    with TestClient(create_app(engine), headers=bearer) as client:
        yield client
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("path", "month"),
    [
        ("/api/reports/revenue", "9999-12"),
        ("/api/reports/revenue", "0001-01"),
        ("/api/reports/nps", "0000-01"),
        ("/api/reports/nps", "9999-12"),
    ],
)
def test_it_answers_422_naming_the_month_out_of_range(
    client: TestClient, path: str, month: str
) -> None:
    response = client.get(path, params={"month": month})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "month"]
    assert "out of range: from 1900-01 to 9998-12" in error["msg"]


def test_it_names_the_missing_rate_and_converts_once_it_is_set(
    client: TestClient, engine: Engine
) -> None:
    response = client.get("/api/reports/revenue", params={"month": "2026-10"})
    assert response.status_code == 422
    assert "no exchange rate from EUR to USD" in response.json()["detail"]
    with transaction(engine) as session:
        set_rate(session, "EUR", "1.08", "USD", datetime(2026, 12, 1, tzinfo=UTC))
    body = client.get("/api/reports/revenue", params={"month": "2026-10"}).json()
    assert (body["currency"], body["mrr_start"]) == ("USD", 3580)


def test_it_lists_the_rates_in_force_with_their_source(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(engine) as session:
        set_rate(session, "EUR", "1.08", "USD", datetime(2026, 12, 1, tzinfo=UTC))
        set_rate(session, "GBP", "1.27", "USD", datetime(2026, 12, 1, tzinfo=UTC))
    monkeypatch.setenv("KEEPWELL_EXCHANGE_RATES", '{"GBP": "1.3"}')
    get_settings.cache_clear()
    body = client.get("/api/rates").json()
    assert body["base_currency"] == "USD"
    assert body["rates"] == [
        {"currency": "EUR", "rate": "1.08", "source": "book", "set_at": "2026-12-01T00:00:00Z"},
        {"currency": "GBP", "rate": "1.3", "source": "environment", "set_at": None},
    ]
