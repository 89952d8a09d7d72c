from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from keepwell.cli.app import app
from keepwell.config import get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    monkeypatch.delenv("KEEPWELL_EXCHANGE_RATES", raising=False)
    get_settings.cache_clear()


def listed() -> dict[str, tuple[str, str]]:
    result = runner.invoke(app, ["rates", "list", "--json"])
    assert result.exit_code == 0, result.output
    return {r["currency"]: (r["rate"], r["source"]) for r in orjson.loads(result.stdout)["rates"]}


def test_it_sets_lists_and_unsets_the_books_rates() -> None:
    result = runner.invoke(app, ["rates", "set", "EUR", "1.08"])
    assert result.exit_code == 0, result.output
    assert "1 EUR = 1.08 USD" in result.stdout
    runner.invoke(app, ["rates", "set", "gbp", "1.27"])
    assert listed() == {"EUR": ("1.08", "book"), "GBP": ("1.27", "book")}
    assert runner.invoke(app, ["rates", "unset", "EUR"]).exit_code == 0
    assert listed() == {"GBP": ("1.27", "book")}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["set", "EUR", "-1"], "error: rate: must be above zero, got -1"),
        (["set", "EUR", "0"], "error: rate: must be above zero, got 0"),
        (["set", "EUR", "one"], "error: rate: not a number: 'one'"),
        (["set", "EURO", "1.08"], "error: currency: not a three-letter code: 'EURO'"),
        (["set", "USD", "1"], "error: currency: USD is the base currency; it needs no rate"),
        (["unset", "JPY"], "error: currency: the book has no rate for JPY"),
    ],
)
def test_it_refuses_a_bad_rate_in_one_line(arguments: list[str], message: str) -> None:
    result = runner.invoke(app, ["rates", *arguments])
    assert result.exit_code == 2
    assert result.stderr.strip() == message
    assert listed() == {}


def test_it_shows_which_rates_the_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    runner.invoke(app, ["rates", "set", "EUR", "1.08"])
    runner.invoke(app, ["rates", "set", "GBP", "1.27"])
    monkeypatch.setenv("KEEPWELL_EXCHANGE_RATES", '{"EUR": "1.2"}')
    get_settings.cache_clear()
    assert listed() == {"EUR": ("1.2", "environment"), "GBP": ("1.27", "book")}
    table = runner.invoke(app, ["rates", "list"]).stdout
    assert "KEEPWELL_EXCHANGE_RATES" in table and "the book" in table


def test_it_writes_a_tiny_rate_as_a_plain_decimal() -> None:
    result = runner.invoke(app, ["rates", "set", "IDR", "0.00000006"])
    assert "1 IDR = 0.00000006 USD" in result.stdout
    assert listed() == {"IDR": ("0.00000006", "book")}


def test_it_says_when_no_rate_is_set(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rates", "list"])
    assert result.exit_code == 0
    assert "no exchange rates set" in result.stdout
