"""`/revenue` (issue 14 §3) on a small book: who may read it, the month picker, the missing
rate, and the survey responses behind NPS and CSAT (client text, escaped)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from book import load
from keepwell.config import get_settings
from keepwell.services.rates import set_rate
from keepwell.store.db import transaction
from people import sign_in
from writebook import EMAILS

ROLES = ("admin", "manager", "csm", "viewer")
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def priced(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The small book's euro account with its rate, as an admin sets it."""
    monkeypatch.delenv("KEEPWELL_EXCHANGE_RATES", raising=False)
    get_settings.cache_clear()
    with transaction(engine) as session:
        set_rate(session, "EUR", "1.08", "USD", datetime(2026, 10, 1, tzinfo=UTC))
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("who", ROLES)
def test_every_role_reads_revenue(app_client: TestClient, priced: None, who: str) -> None:
    sign_in(app_client, EMAILS[who])
    page = app_client.get("/revenue")
    assert page.status_code == 200
    assert '<a href="/revenue" aria-current="page">Revenue</a>' in page.text
    # the default month is the last complete one (NOW is in 2026-11)
    assert "<h1>Revenue · 2026-10</h1>" in page.text


@pytest.mark.parametrize(
    "path", ["/revenue", "/revenue/responses", "/revenue/charts/movements.svg"]
)
def test_a_signed_out_visitor_is_sent_to_login(app_client: TestClient, path: str) -> None:
    response = app_client.get(path, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_a_viewer_sees_no_write_control(app_client: TestClient, priced: None) -> None:
    sign_in(app_client, EMAILS["viewer"])
    for path in ("/revenue", "/revenue/responses?month=2026-10"):
        page = app_client.get(path).text
        assert page.count('method="post"') == 1 and 'action="/logout"' in page, path


def test_the_month_picker_shows_the_month_asked(app_client: TestClient, priced: None) -> None:
    sign_in(app_client, EMAILS["viewer"])
    page = app_client.get("/revenue?month=2026-03").text
    assert 'name="month" type="month" value="2026-03"' in page
    assert 'data-figure="by_month|2025-04|mrr_start"' in page  # twelve months to it
    assert 'data-figure="by_month|2026-04|mrr_start"' not in page
    # acme (2,500 USD) and globex (900 EUR at 1.08) both paid through March
    assert 'data-figure="month|mrr_end" data-value="3472"' in page
    assert "MRR at end (USD)" in page


@pytest.mark.parametrize(
    ("month", "problem"),
    [("2026-13", "expected YYYY-MM, got &#39;2026-13&#39;"),
     ("9999-12", "9999-12 is out of range: from 1900-01 to 9998-12")],
)  # fmt: skip
def test_a_bad_month_is_named_at_the_field(
    app_client: TestClient, priced: None, month: str, problem: str
) -> None:
    sign_in(app_client, EMAILS["viewer"])
    response = app_client.get(f"/revenue?month={month}")
    assert response.status_code == 422
    assert f'<p class="field-error" id="month-error">Month: {problem}</p>' in response.text
    assert 'aria-invalid="true"' in response.text


def test_a_missing_rate_is_named(app_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEPWELL_EXCHANGE_RATES", raising=False)
    get_settings.cache_clear()
    sign_in(app_client, EMAILS["viewer"])
    page = app_client.get("/revenue?month=2026-10").text
    assert "no exchange rate from EUR to USD" in page and "keepwell rates set EUR RATE" in page


def test_the_responses_behind_a_month_are_listed_with_comments_escaped(
    app_client: TestClient, engine: Engine, priced: None
) -> None:
    survey = {"type": "survey", "account": "acme", "contact": "c-joe"}
    load(
        engine,
        {**survey, "id": "s1", "at": "2026-10-02T10:00:00Z", "kind": "nps", "score": 10,
         "comment": f"Love it {SCRIPT}"},
        {**survey, "id": "s2", "at": "2026-10-03T10:00:00Z", "kind": "csat", "score": 2},
        {**survey, "id": "s3", "at": "2026-11-03T10:00:00Z", "kind": "nps", "score": 3},
    )  # fmt: skip
    sign_in(app_client, EMAILS["viewer"])
    page = app_client.get("/revenue?month=2026-10").text
    assert 'data-figure="surveys|2026-10|nps" data-value="100.0"' in page
    assert 'data-figure="surveys|2026-10|csat|csat" data-value="0.0"' in page
    assert '<a href="/revenue/responses?month=2026-10">2<' in page
    responses = app_client.get("/revenue/responses?month=2026-10").text
    assert "2 responses" in responses
    assert "<strong>NPS 10</strong> (promoter)" in responses
    assert "<strong>CSAT 2</strong> (dissatisfied)" in responses
    assert "Love it &lt;script&gt;alert(1)&lt;/script&gt;" in responses
    assert SCRIPT not in responses and "NPS 3" not in responses  # November's


def test_the_movements_chart_is_svg_without_script(app_client: TestClient, priced: None) -> None:
    sign_in(app_client, EMAILS["csm"])
    assert 'src="/revenue/charts/movements.svg?month=2026-10"' in app_client.get("/revenue").text
    svg = app_client.get("/revenue/charts/movements.svg?month=2026-10")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content and b"<script" not in svg.content
    assert b"Contraction" in svg.content
    assert app_client.get("/revenue/charts/movements.svg?month=nope").status_code == 422
