"""`keepwell hours between` and `keepwell hours add` (PRODUCT.md 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import keepwell.cli.hours  # noqa: F401  (registers `hours` on the app)
from book import PRODUCT_SCHEDULE_TOML
from keepwell.cli.app import app
from keepwell.domain.hours.calendar import MAX_YEAR

runner = CliRunner()


@pytest.fixture
def schedule(tmp_path: Path) -> Path:
    path = tmp_path / "ny.toml"
    path.write_text(PRODUCT_SCHEDULE_TOML)
    return path


def hours(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["hours", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_it_prints_whole_business_seconds_as_an_integer(schedule: Path) -> None:
    # Thursday 16:00 to Monday 10:00 around July 4th (observed Friday the 3rd).
    code, out, _ = hours(
        "between", "--schedule", schedule, "2026-07-02T16:00:00-04:00", "2026-07-06T10:00:00-04:00"
    )
    assert (code, out) == (0, "7200\n")


def test_it_prints_fractions_of_a_second_exactly(schedule: Path) -> None:
    code, out, _ = hours(
        "between", "--schedule", schedule, "2026-10-05T13:00:00Z", "2026-10-05T14:00:00.5Z"
    )
    assert (code, out) == (0, "3600.5\n")


def test_it_prints_the_deadline_with_the_schedules_offset(schedule: Path) -> None:
    code, out, _ = hours("add", "--schedule", schedule, "2026-10-02T20:00:00Z", "7200")
    # Friday 16:00-18:00 New York time is open: due at 18:00 EDT.
    assert (code, out) == (0, "2026-10-02T18:00:00-04:00\n")


def test_it_adds_decimal_seconds(schedule: Path) -> None:
    code, out, _ = hours("add", "--schedule", schedule, "2026-10-05T16:59:59-04:00", "1.25")
    assert (code, out) == (0, "2026-10-06T09:00:00.250000-04:00\n")


def test_it_carries_a_deadline_past_the_weekend(schedule: Path) -> None:
    code, out, _ = hours("add", "--schedule", schedule, "2026-10-02T17:30:00-04:00", "3600")
    assert (code, out) == (0, "2026-10-05T09:30:00-04:00\n")


def test_it_rejects_a_naive_start(schedule: Path) -> None:
    code, out, err = hours(
        "between", "--schedule", schedule, "2026-10-05T09:00", "2026-10-05T10:00Z"
    )
    assert code == 2
    assert out == ""
    assert err == "error: START '2026-10-05T09:00' has no offset: add 'Z' or '+HH:MM'\n"


def test_it_rejects_a_start_that_is_not_a_time(schedule: Path) -> None:
    code, _, err = hours("add", "--schedule", schedule, "yesterday", "60")
    assert code == 2
    assert err.startswith("error: START 'yesterday' is not an ISO 8601 time")


def test_it_rejects_an_end_before_the_start(schedule: Path) -> None:
    code, _, err = hours(
        "between", "--schedule", schedule, "2026-10-05T10:00:00Z", "2026-10-05T09:00:00Z"
    )
    assert code == 2
    assert err == "error: END 2026-10-05T09:00:00Z is before START 2026-10-05T10:00:00Z\n"


@pytest.mark.parametrize("amount", ["soon", "-5", "1e-9", "NaN"])
def test_it_rejects_bad_seconds(schedule: Path, amount: str) -> None:
    code, _, err = hours("add", "--schedule", schedule, "2026-10-05T10:00:00Z", "--", amount)
    assert code == 2
    assert err.startswith("error: SECONDS")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            'timezone = "Mars/Base"\n[week]\nmon = [["09:00", "17:00"]]',
            "timezone: unknown time zone 'Mars/Base'",
        ),
        (
            'timezone = "UTC"\n[week]\nfri = [["09:00", "13:00"], ["12:00", "14:00"]]',
            "week.fri[1]: intervals overlap (09:00-13:00 and 12:00-14:00)",
        ),
        ('timezone = "UTC"\n[week]\nmon = [["9am", "17:00"]]', "week.mon[0]: malformed time '9am'"),
        (
            'timezone = "UTC"\n[week]\nmon = [["09:00", "17:00"]]\n[holidays]\ncountry = "XX"',
            "holidays.country: unknown country 'XX'",
        ),
        ('timezone = "UTC"\n[week]\nmon = []', "week: no open time in the week"),
        ("timezone = ", "not valid TOML"),
    ],
)
def test_it_reports_a_bad_schedule_on_one_line(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    code, out, err = hours(
        "between", "--schedule", path, "2026-10-05T10:00:00Z", "2026-10-05T11:00:00Z"
    )
    assert code == 2
    assert out == ""
    assert err.startswith(f"error: {path}: ")
    assert message in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_it_reports_an_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    code, _, err = hours("add", "--schedule", missing, "2026-10-05T10:00:00Z", "60")
    assert code == 2
    assert err == f"error: cannot read {missing}: No such file or directory\n"


def test_it_reports_instants_outside_the_supported_years(schedule: Path) -> None:
    code, _, err = hours(
        "between", "--schedule", schedule, "0999-01-01T00:00:00Z", "2026-01-01T00:00:00Z"
    )
    assert code == 2
    assert err.startswith("error: instant outside the supported years")


def test_it_refuses_a_deadline_after_the_last_supported_year(schedule: Path) -> None:
    code, out, err = hours("add", "--schedule", schedule, "2026-10-05T10:00:00Z", "99999999999999")
    assert (code, out) == (2, "")
    assert err == (
        f"error: SECONDS 99999999999999: the deadline would fall after the year {MAX_YEAR}\n"
    )


def test_it_reads_a_negative_amount_as_a_number_and_refuses_it(schedule: Path) -> None:
    code, _, err = hours("add", "--schedule", schedule, "2026-10-05T10:00:00Z", "-7200")
    assert code == 2
    assert err == "error: SECONDS '-7200' must be a number of seconds, 0 or more\n"


def test_it_names_an_unknown_option_of_add_on_one_line(schedule: Path) -> None:
    code, _, err = hours("add", "--schedule", schedule, "--soon", "2026-10-05T10:00:00Z", "60")
    assert (code, err) == (2, "error: no such option: --soon\n")
