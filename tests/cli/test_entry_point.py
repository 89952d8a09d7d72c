"""The `keepwell` entry point: a setting that cannot be used is one line naming its variable,
a path that cannot be used one line naming the path; status 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepwell.cli import main
from keepwell.config import get_settings

CASES = {
    "an unknown time zone": (
        {"KEEPWELL_TIMEZONE": "Mars/Base"},
        "KEEPWELL_TIMEZONE: unknown time zone 'Mars/Base'",
    ),
    "a negative health weight": (
        {"KEEPWELL_HEALTH_WEIGHTS": '{"engagement": -5}'},
        "KEEPWELL_HEALTH_WEIGHTS: engagement",
    ),
    "no health weight above zero": (
        {"KEEPWELL_HEALTH_WEIGHTS": "{}"},
        "KEEPWELL_HEALTH_WEIGHTS: every weight is 0",
    ),
    "exchange rates that are not JSON": (
        {"KEEPWELL_EXCHANGE_RATES": "not json"},
        "KEEPWELL_EXCHANGE_RATES: not valid JSON: 'not json'",
    ),
    "a negative exchange rate": (
        {"KEEPWELL_EXCHANGE_RATES": '{"EUR": "-1.08"}'},
        "KEEPWELL_EXCHANGE_RATES: EUR: the rate must be above 0",
    ),
    "a database URL of no database Keepwell runs on": (
        {"KEEPWELL_DATABASE_URL": "nonsense://x"},
        "KEEPWELL_DATABASE_URL: 'nonsense://x' is not a database Keepwell runs on",
    ),
    "a database URL that is not one": (
        {"KEEPWELL_DATABASE_URL": "keepwell.db"},
        "KEEPWELL_DATABASE_URL: not a database URL: 'keepwell.db'",
    ),
    "a negative first-response target": (
        {"KEEPWELL_SLA_FIRST_RESPONSE_SECONDS": "-1"},
        "KEEPWELL_SLA_FIRST_RESPONSE_SECONDS: input should be greater than 0, got '-1'",
    ),
    "a zero first-response target": (
        {"KEEPWELL_SLA_FIRST_RESPONSE_SECONDS": "0"},
        "KEEPWELL_SLA_FIRST_RESPONSE_SECONDS: input should be greater than 0, got '0'",
    ),
    "a zero resolution target": (
        {"KEEPWELL_SLA_RESOLUTION_BUSINESS_DAYS": "0"},
        "KEEPWELL_SLA_RESOLUTION_BUSINESS_DAYS: input should be greater than 0, got '0'",
    ),
    "a negative resolution target": (
        {"KEEPWELL_SLA_RESOLUTION_BUSINESS_DAYS": "-2.5"},
        "KEEPWELL_SLA_RESOLUTION_BUSINESS_DAYS: input should be greater than 0, got '-2.5'",
    ),
    "production without a secret key": (
        {"KEEPWELL_ENVIRONMENT": "production"},
        "KEEPWELL_SECRET_KEY: must be set when KEEPWELL_ENVIRONMENT=production",
    ),
}


@pytest.fixture(autouse=True)
def _fresh_settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in os.environ:
        if name.startswith("KEEPWELL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["keepwell", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0)


@pytest.mark.parametrize("case", CASES)
def test_each_bad_setting_is_one_line_naming_its_variable_and_exit_2(
    case: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env, expected = CASES[case]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = run_main(monkeypatch, "stats")
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"error: {expected}"), err


def test_a_sqlite_database_in_a_missing_folder_is_named_and_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "keepwell.db"
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", f"sqlite:///{missing}")
    code = run_main(monkeypatch, "stats")
    err = capsys.readouterr().err
    assert (code, err) == (
        2,
        f"error: KEEPWELL_DATABASE_URL: the folder {missing.parent} of the SQLite database "
        "does not exist\n",
    )
    assert not missing.parent.exists()


def test_the_installed_command_prints_the_one_line_too(database_url: str) -> None:
    program = Path(sys.executable).with_name("keepwell")
    env = {**os.environ, "KEEPWELL_DATABASE_URL": database_url, "KEEPWELL_TIMEZONE": "Mars/Base"}
    done = subprocess.run(
        [str(program), "stats"], env=env, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: KEEPWELL_TIMEZONE: unknown time zone 'Mars/Base'\n",
    )


def test_a_demo_written_into_a_missing_folder_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.jsonl"
    code = run_main(monkeypatch, "demo", "--today", "2026-11-23", "-o", str(target))
    err = capsys.readouterr().err
    assert (code, err) == (2, f"error: {target}: No such file or directory\n")
