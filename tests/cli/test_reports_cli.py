from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from book import BASICS, EURO_ACCOUNT, lines
from keepwell.cli.app import app
from keepwell.config import get_settings

runner = CliRunner()
SURVEY = {"type": "survey", "account": "acme", "contact": "c-joe"}


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    monkeypatch.delenv("KEEPWELL_EXCHANGE_RATES", raising=False)
    get_settings.cache_clear()


def imported(tmp_path: Path, *records: dict) -> None:
    path = tmp_path / "book.jsonl"
    path.write_bytes(b"\n".join(lines(*records)) + b"\n")
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("command", "month", "problem"),
    [
        ("revenue", "9999-12", "9999-12 is out of range: from 1900-01 to 9998-12"),
        ("revenue", "0001-01", "0001-01 is out of range: from 1900-01 to 9998-12"),
        ("nps", "0000-01", "0000-01 is out of range: from 1900-01 to 9998-12"),
        ("nps", "2026-13", "expected YYYY-MM, got '2026-13'"),
        ("scorecard", "0001-01", "0001-01 is out of range: from 1900-01 to 9998-12"),
        ("scorecard", "9999-12", "9999-12 is out of range: from 1900-01 to 9998-12"),
    ],
)
def test_it_refuses_a_month_out_of_range_in_one_line(
    command: str, month: str, problem: str
) -> None:
    result = runner.invoke(app, [command, "--month", month])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: --month: {problem}"


def test_it_accepts_the_first_and_the_last_month_of_the_range(tmp_path: Path) -> None:
    imported(tmp_path, *BASICS)
    for month in ("1900-01", "9998-12"):
        result = runner.invoke(app, ["revenue", "--month", month, "--details", "--json"])
        assert result.exit_code == 0, result.output
        assert orjson.loads(result.stdout)["month"] == month


def test_nps_shows_csat_beside_nps(tmp_path: Path) -> None:
    imported(
        tmp_path,
        *BASICS,
        {**SURVEY, "id": "s1", "at": "2026-10-02T10:00:00Z", "kind": "nps", "score": 10},
        {**SURVEY, "id": "s2", "at": "2026-10-03T10:00:00Z", "kind": "csat", "score": 5},
        {**SURVEY, "id": "s3", "at": "2026-10-04T10:00:00Z", "kind": "csat", "score": 2},
    )
    table = runner.invoke(app, ["nps", "--month", "2026-10"]).stdout
    assert "csat (scores 4–5) │ 50.0%" in table
    assert "csat mean         │ 3.50" in table
    as_json = orjson.loads(runner.invoke(app, ["nps", "--month", "2026-10", "--json"]).stdout)
    assert as_json["csat"] == {
        "month": "2026-10", "csat": 0.5, "mean": 3.5, "responses": 2, "satisfied": 1,
    }  # fmt: skip


def test_revenue_details_are_tables_not_json(tmp_path: Path) -> None:
    imported(
        tmp_path,
        *BASICS,
        {"type": "mrr", "account": "acme", "at": "2026-10-15T00:00:00Z", "mrr": 3000},
    )
    result = runner.invoke(app, ["revenue", "--month", "2026-10", "--details"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Trailing 12 months, 2025-11 to 2026-10" in out
    for title in ("Revenue by CSM", "Revenue by team (manager)", "Revenue by segment"):
        assert title in out
    assert "{" not in out and '"' not in out
    expansion_row = next(line for line in out.splitlines() if line.strip().startswith("expansion"))
    assert expansion_row.split()[-1] == "500"  # u-ana's column in the breakdown


def test_nps_details_are_tables(tmp_path: Path) -> None:
    imported(tmp_path, *BASICS)
    out = runner.invoke(app, ["nps", "--month", "2026-10", "--details"]).stdout
    assert "NPS by CSM" in out and "u-ana" in out
    assert "{" not in out


def test_it_names_the_missing_rate_and_how_to_set_it(tmp_path: Path) -> None:
    imported(tmp_path, *BASICS, EURO_ACCOUNT)
    result = runner.invoke(app, ["revenue", "--month", "2026-10"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: no exchange rate from EUR to USD: set it with `keepwell rates set EUR RATE`"
    )
    runner.invoke(app, ["rates", "set", "EUR", "1.08"])
    result = runner.invoke(app, ["revenue", "--month", "2026-10", "--json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["mrr_start"] == 3580


def test_revenue_answers_on_the_demo_book() -> None:
    demo = runner.invoke(app, ["demo", "--today", "2026-12-04"])
    assert demo.exit_code == 0, demo.output
    result = runner.invoke(app, ["revenue", "--month", "2026-11", "--json"])
    assert result.exit_code == 0, result.output
    figures = orjson.loads(result.stdout)
    assert figures["currency"] == "USD" and figures["mrr_start"] > 0
    rates = orjson.loads(runner.invoke(app, ["rates", "list", "--json"]).stdout)["rates"]
    assert {(r["currency"], r["rate"]) for r in rates} == {("EUR", "1.08"), ("GBP", "1.27")}
