"""`/health` (issue 14 §2) on a small book: who may read it, and what it lists: the band
distribution, the week's drops, overrides expiring soon, the accounts without data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from keepwell.domain import health
from keepwell.domain.health import DEFAULT_WEIGHTS
from keepwell.store.db import transaction
from keepwell.store.models import HealthOverride, HealthRun, HealthSnapshot
from people import NOW, sign_in
from writebook import EMAILS

ROLES = ("admin", "manager", "csm", "viewer")
SCRIPT = "<script>alert(1)</script>"
DAY = date(2026, 11, 19)  # the latest run before NOW (2026-11-20 12:00 UTC)


def snapshots(engine: Engine, account: str, **by_day: tuple[float | None, dict]) -> None:
    """Snapshots of `account`: day name (d0 = DAY, d7 = a week before) -> (score, measures)."""
    with transaction(engine) as session:
        for name, (score, values) in by_day.items():
            day = DAY - timedelta(days=int(name[1:]))
            if session.get(HealthRun, day) is None:
                session.add(HealthRun(day=day, weights=dict(DEFAULT_WEIGHTS), accounts=2))
            band = None if score is None else health.band_of(score)
            session.add(HealthSnapshot(account_id=account, day=day, score=score, band=band,
                                       engagement=50.0, **values))  # fmt: skip


@pytest.mark.parametrize("who", ROLES)
def test_every_role_reads_health_from_the_nav(app_client: TestClient, who: str) -> None:
    sign_in(app_client, EMAILS[who])
    page = app_client.get("/health")
    assert page.status_code == 200
    assert '<a href="/health" aria-current="page">Health</a>' in page.text
    assert '<a href="/revenue">Revenue</a>' in page.text


@pytest.mark.parametrize("path", ["/health", "/health/charts/bands.svg"])
def test_a_signed_out_visitor_is_sent_to_login(app_client: TestClient, path: str) -> None:
    response = app_client.get(path, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_a_viewer_sees_no_write_control(app_client: TestClient) -> None:
    sign_in(app_client, EMAILS["viewer"])
    page = app_client.get("/health").text
    assert page.count('method="post"') == 1 and 'action="/logout"' in page  # signing out
    assert "/settings/health" not in page


def test_it_lists_the_bands_the_drops_the_expiring_overrides_and_missing_data(
    app_client: TestClient, engine: Engine
) -> None:
    full = {"responsiveness": 80.0, "sentiment": 60.0, "open_issues": 100.0, "billing": 100.0}
    snapshots(engine, "acme", d0=(35.0, {**full, "sentiment": None}), d7=(75.0, full))
    snapshots(engine, "globex", d0=(82.0, full), d7=(80.0, full))
    with transaction(engine) as session:
        for account, days in (("acme", 5), ("globex", 30)):
            session.add(HealthOverride(
                account_id=account, band="yellow", reason=f"Renewal signed {SCRIPT}",
                expires_at=NOW + timedelta(days=days), by_id="u-kyle",
                created_at=NOW - timedelta(days=1),
            ))  # fmt: skip
    sign_in(app_client, EMAILS["viewer"])
    page = app_client.get("/health").text
    assert 'data-figure="bands|green" data-value="1"' in page
    assert 'data-figure="bands|red" data-value="1"' in page
    assert 'data-figure="bands|yellow" data-value="0"' in page
    drops = page.split('id="drops-h"')[1].split('id="expiring-h"')[0]
    assert '<a href="/accounts/acme">Acme</a>' in drops and "-40.0" in drops
    assert "Globex" not in drops  # it rose
    expiring = page.split('id="expiring-h"')[1].split('id="nodata-h"')[0]
    assert "Acme" in expiring and "Globex" not in expiring  # Globex's runs a month more
    assert "Renewal signed &lt;script&gt;" in expiring and SCRIPT not in page
    missing = page.split('id="nodata-h"')[1].split('id="backtest-h"')[0]
    assert 'data-figure="no_data|sentiment" data-value="1"' in missing
    assert 'data-figure="no_data|onboarding" data-value="2"' in missing
    assert "Responsiveness: every account has data" in missing


def test_the_band_chart_is_svg_without_script(app_client: TestClient, engine: Engine) -> None:
    snapshots(engine, "acme", d0=(35.0, {}))
    sign_in(app_client, EMAILS["csm"])
    assert 'src="/health/charts/bands.svg"' in app_client.get("/health").text
    svg = app_client.get("/health/charts/bands.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content and b"<script" not in svg.content


def test_a_book_never_scored_says_so(app_client: TestClient) -> None:
    sign_in(app_client, EMAILS["manager"])
    page = app_client.get("/health").text
    assert "No health run yet" in page and "No account's score fell." in page
