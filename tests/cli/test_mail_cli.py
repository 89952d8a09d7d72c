from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from book import BASICS, load
from keepwell.cli.app import app
from keepwell.config import get_settings

runner = CliRunner()
MAIL = (
    b"From: hank@globex.example\nTo: ana@example.com\nSubject: Invoices\n"
    b"Message-ID: <h1@globex.example>\nDate: Mon, 05 Oct 2026 09:50:00 -0400\n\nWhere are they?\n"
)


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    monkeypatch.setenv("KEEPWELL_TEAM_EMAIL_DOMAINS", '["example.com"]')
    get_settings.cache_clear()


def invoke(*arguments: str) -> str:
    result = runner.invoke(app, list(arguments))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_it_imports_holds_lists_and_maps_mail(engine: Engine, tmp_path: Path) -> None:
    load(engine, *BASICS)
    (tmp_path / "h1.eml").write_bytes(MAIL)
    assert invoke("mail", "import", str(tmp_path)).startswith("0 applied, 1 held")
    [held] = orjson.loads(invoke("mail", "held", "--json"))
    assert (held["id"], held["sender"], held["state"]) == (
        "email:<h1@globex.example>",
        "hank@globex.example",
        "held",
    )
    mapped = invoke("mail", "map", "globex.example", "acme")
    assert "held mail: 1 applied" in mapped
    assert orjson.loads(invoke("mail", "held", "--json")) == []
    assert "0 applied, 0 held, 0 failed, 1 already known" in invoke(
        "mail", "import", str(tmp_path / "h1.eml")
    )


def test_it_names_a_path_that_is_no_mail(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    result = runner.invoke(app, ["mail", "import", str(tmp_path / "notes.txt")])
    assert result.exit_code == 2
    assert "expected an .eml or .mbox file" in result.stderr


def test_it_says_when_no_imap_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEPWELL_IMAP_URL", raising=False)
    get_settings.cache_clear()
    result = runner.invoke(app, ["mail", "poll"])
    assert result.exit_code == 2
    assert "KEEPWELL_IMAP_URL is not set" in result.stderr
