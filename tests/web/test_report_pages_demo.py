"""The figures of `/revenue` and `/health` equal the CLI's JSON for the same month and
moment on the demo book (issue 14, "Done when"): every figure the pages show carries its raw
value (`data-figure`, `data-value`), and every one is compared, none left over."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from keepwell.cli.app import app as cli_app
from keepwell.config import get_settings
from keepwell.services.revenue import months_ending
from keepwell.web.app import create_app
from keepwell.web.deps import request_now
from people import sign_in

runner = CliRunner()
TODAY = "2026-11-23"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MONTH = "2026-10"  # the page's default on NOW: the last complete month
DEMO_PASSWORD = "keepwell-demo"
ADMIN, VIEWER = "sam.okafor@example.com", "vera.lindqvist@example.com"
FIGURE = re.compile(r'data-figure="([^"]+)" data-value="([^"]*)"')
NOT_FIGURES = ("month", "first_month", "currency", "trailing_12_months", "by", "csat")


@pytest.fixture
def demo(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    monkeypatch.delenv("KEEPWELL_EXCHANGE_RATES", raising=False)
    monkeypatch.delenv("KEEPWELL_HEALTH_WEIGHTS", raising=False)
    get_settings.cache_clear()
    loaded = runner.invoke(cli_app, ["demo", "--today", TODAY])
    assert loaded.exit_code == 0, loaded.output
    web = create_app(engine)
    web.dependency_overrides[request_now] = lambda: NOW
    with TestClient(web) as client:
        yield client
    get_settings.cache_clear()


def cli(*args: str) -> Any:
    result = runner.invoke(cli_app, list(args))
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def figures(page: str) -> dict[str, Any]:
    found = {html.unescape(name): orjson.loads(value) for name, value in FIGURE.findall(page)}
    assert len(found) == len(FIGURE.findall(page)), "a figure named twice"
    return found


def flat(
    prefix: str, report: dict[str, Any], skip: tuple[str, ...] = NOT_FIGURES
) -> dict[str, Any]:
    return {f"{prefix}|{k}": v for k, v in report.items() if k not in skip}


def test_revenue_shows_the_figures_of_keepwell_revenue_and_nps(demo: TestClient) -> None:
    sign_in(demo, VIEWER, DEMO_PASSWORD)
    page = demo.get("/revenue")  # the default month
    assert page.status_code == 200
    report = cli("revenue", "--month", MONTH, "--json", "--details")
    surveys = cli("nps", "--month", MONTH, "--json", "--details")
    expected = {**flat("month", report), **flat("t12", report["trailing_12_months"])}
    for grouping, groups in report["by"].items():
        for name, group in groups.items():
            expected |= flat(f"by|{grouping}|{name}", group)
    for grouping, groups in surveys["by"].items():
        for name, group in groups.items():
            expected |= flat(f"nps_by|{grouping}|{name}", group)
    for month in months_ending(MONTH):
        expected |= flat(f"by_month|{month}", cli("revenue", "--month", month, "--json"))
        nps = cli("nps", "--month", month, "--json")
        expected |= flat(f"surveys|{month}", nps) | flat(
            f"surveys|{month}|csat", nps["csat"], ("month",)
        )
    assert figures(page.text) == expected
    assert len(expected) > 400  # 12 months, the trailing year, 3 breakdowns, NPS and CSAT
    assert f"MRR at start ({report['currency']})" in page.text


def test_health_shows_the_backtest_of_keepwell_health_backtest(demo: TestClient) -> None:
    sign_in(demo, ADMIN, DEMO_PASSWORD)
    page = demo.get("/health")
    assert page.status_code == 200
    report = cli("health", "backtest", "--as-of", TODAY, "--json")
    current, fitted = report["current"], report["fitted"]
    expected = flat("current", current, ("bands",))
    for band, rates in current["bands"].items():
        expected |= flat(f"current|{band}", rates)
    for quarter, row in report["by_quarter"].items():
        expected |= flat(f"quarter|{quarter}", {k: v for k, v in row.items() if k != "bands"})
        for band, rates in row["bands"].items():
            expected |= flat(f"quarter|{quarter}|{band}", rates)
    for part in ("out_of_sample", "current_out_of_sample"):
        expected |= flat(f"fitted|{part}", {k: v for k, v in fitted[part].items() if k != "level"})
    expected |= flat("fitted|fitted_on", fitted["fitted_on"])
    expected |= flat("weights|current", report["current_weights"])
    expected |= flat("weights|fitted", fitted["weights"])
    shown = figures(page.text)
    backtest = {k: v for k, v in shown.items() if not k.startswith(("bands|", "no_data|"))}
    assert backtest == expected
    assert '<a href="/settings/health">Apply on the settings page</a>' in page.text
    demo.cookies.clear()  # signed out, to sign in as the viewer
    sign_in(demo, VIEWER, DEMO_PASSWORD)
    seen = demo.get("/health").text
    assert figures(seen) == shown and "/settings/health" not in seen
