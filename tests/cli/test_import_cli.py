from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from book import BASICS, lines, message
from keepwell.cli.app import app
from keepwell.config import get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    get_settings.cache_clear()


def write(tmp_path: Path, *records: dict, extra: list[bytes] | None = None) -> Path:
    path = tmp_path / "book.jsonl"
    path.write_bytes(b"\n".join([*lines(*records), *(extra or [])]) + b"\n")
    return path


def stats() -> dict[str, int]:
    result = runner.invoke(app, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def test_it_imports_a_file_and_prints_a_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(write(tmp_path, *BASICS))])
    assert result.exit_code == 0, result.output
    assert "account" in result.stdout
    assert stats()["account"] == 1


def test_it_prints_the_summary_as_json(tmp_path: Path) -> None:
    path = write(tmp_path, *BASICS, message("m-1", "t-1", "2026-10-01T14:03:00Z"))
    result = runner.invoke(app, ["import", str(path), "--json"])
    summary = orjson.loads(result.stdout)
    assert summary["types"]["message"] == {"added": 1, "updated": 0, "unchanged": 0}
    assert summary["requests_rebuilt"] == 1


def test_it_reports_nothing_changed_on_a_second_import(tmp_path: Path) -> None:
    path = write(tmp_path, *BASICS)
    runner.invoke(app, ["import", str(path)])
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0
    assert "nothing changed" in result.stdout


def test_it_names_every_bad_line_and_imports_nothing(tmp_path: Path) -> None:
    bad = [b'{"type":"contact","id":"c-2"}', b"not json"]
    result = runner.invoke(app, ["import", str(write(tmp_path, *BASICS, extra=bad))])
    assert result.exit_code == 1
    assert "line 6, field 'account': required" in result.stderr
    assert "line 7: not valid JSON" in result.stderr
    assert "2 invalid line(s)" in result.stderr
    assert sum(stats().values()) == 0


def test_it_imports_the_good_lines_with_skip_invalid(tmp_path: Path) -> None:
    path = write(tmp_path, *BASICS, extra=[b'{"type":"contact","id":"c-2"}'])
    result = runner.invoke(app, ["import", str(path), "--skip-invalid"])
    assert result.exit_code == 0
    assert "skipped line 6, field 'account': required" in result.stderr
    assert stats()["contact"] == 1


def test_it_fails_clearly_on_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_it_escapes_markup_in_error_output(tmp_path: Path) -> None:
    path = write(tmp_path, extra=[b'{"type":"[bold]x[/bold]"}'])
    result = runner.invoke(app, ["import", str(path)])
    assert "[bold]x[/bold]" in result.stderr


def test_it_prints_a_months_revenue_as_json(tmp_path: Path) -> None:
    runner.invoke(app, ["import", str(write(tmp_path, *BASICS))])
    result = runner.invoke(app, ["revenue", "--month", "2026-10", "--json"])
    assert result.exit_code == 0, result.output
    figures = orjson.loads(result.stdout)
    assert figures["mrr_start"] == 2500
    assert figures["nrr"] == 1.0
    assert "by" not in figures


def test_it_rejects_a_malformed_month(tmp_path: Path) -> None:
    result = runner.invoke(app, ["nps", "--month", "October"])
    assert result.exit_code == 2
    assert "expected YYYY-MM" in result.stderr


def test_it_prints_a_csms_inbox(tmp_path: Path) -> None:
    path = write(tmp_path, *BASICS, message("m-1", "t-1", "2026-10-05T13:50:00Z"))
    runner.invoke(app, ["import", str(path)])
    result = runner.invoke(
        app, ["inbox", "--csm", "u-ana", "--as-of", "2026-10-05T14:00:00Z", "--json"]
    )
    assert result.exit_code == 0, result.output
    (item,) = orjson.loads(result.stdout)
    assert (item["request_id"], item["time_left"]) == ("m-1", "50 min left")


def test_it_recomputes_every_clock() -> None:
    result = runner.invoke(app, ["sla", "recompute"])
    assert result.exit_code == 0
    assert "0 requests" in result.stdout


def test_the_scorecard_month_defaults_to_the_last_closed_one(tmp_path: Path) -> None:
    runner.invoke(app, ["import", str(write(tmp_path, *BASICS))])
    result = runner.invoke(app, ["scorecard", "--as-of", "2026-11-01T00:00:00Z", "--json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["month"] == "2026-10"  # the month before November's


def test_it_prints_the_scorecards_in_the_documented_shape(tmp_path: Path) -> None:
    runner.invoke(app, ["import", str(write(tmp_path, *BASICS))])
    result = runner.invoke(
        app, ["scorecard", "--month", "2026-10", "--as-of", "2026-11-05T12:00:00Z", "--json"]
    )
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.stdout)
    assert document["month"] == "2026-10"
    assert document["as_of"] == "2026-11-05T12:00:00+00:00"
    (card,) = document["scorecards"]
    assert set(card) == {
        "csm",
        "total",
        "earned",
        "possible",
        "scaled",
        "band",
        "metrics",
        "triggers",
    }
    assert card["metrics"]["retention"] == {
        "value": 1.0, "band": "green", "points": 20.0, "max": 20, "n": 1
    }  # fmt: skip


def test_it_names_each_band_in_words_in_the_scorecard_table(tmp_path: Path) -> None:
    runner.invoke(app, ["import", str(write(tmp_path, *BASICS))])
    asked = ["scorecard", "--month", "2026-10", "--as-of", "2026-11-05T12:00:00Z"]
    (card,) = orjson.loads(runner.invoke(app, [*asked, "--json"]).stdout)["scorecards"]
    result = runner.invoke(app, asked)
    assert result.exit_code == 0, result.output
    shown = [line.replace("│", " ").split() for line in result.stdout.splitlines()]
    (row,) = [i for i, words in enumerate(shown) if words[:1] == ["u-ana"]]
    # Under each value its band: the total's, then those of the metrics that have a value.
    bands = [card["band"]] + [m["band"] for m in card["metrics"].values() if m["value"] is not None]
    assert shown[row + 1] == bands
    assert "green" in bands
    # A metric without data says so in words too.
    assert shown[row].count("n/a") == sum(m["value"] is None for m in card["metrics"].values())


def test_it_loads_a_schedule_from_toml_and_versions_it(tmp_path: Path) -> None:
    toml = tmp_path / "half.toml"
    toml.write_text('timezone = "Europe/Kyiv"\n[week]\nmon = [["09:00", "13:00"]]\n')
    first = runner.invoke(app, ["schedule", str(toml), "--id", "kyiv-20h"])
    again = runner.invoke(app, ["schedule", str(toml), "--id", "kyiv-20h"])
    later = runner.invoke(
        app, ["schedule", str(toml), "--id", "kyiv-20h", "--effective", "2026-12-01"]
    )
    assert (first.exit_code, again.exit_code, later.exit_code) == (0, 0, 0)
    assert "added" in first.stdout and "unchanged" in again.stdout and "added" in later.stdout
    assert stats()["schedule"] == 2


def test_it_names_what_is_wrong_in_a_toml_schedule(tmp_path: Path) -> None:
    toml = tmp_path / "bad.toml"
    toml.write_text('timezone = "Mars/Base"\n[week]\nmon = [["09:00", "13:00"]]\n')
    result = runner.invoke(app, ["schedule", str(toml), "--id", "x"])
    assert result.exit_code == 2
    assert "timezone" in result.stderr and "Mars/Base" in result.stderr


def test_it_prints_a_long_error_on_one_line_without_reading_markup(tmp_path: Path) -> None:
    missing = tmp_path / ("[red]" + "x" * 120 + ".jsonl")
    result = runner.invoke(app, ["import", str(missing)])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "[red]" + "x" * 120 in line


def test_it_prints_a_refused_files_errors_as_json(tmp_path: Path) -> None:
    path = write(tmp_path, *BASICS, extra=[b'{"type":"contact","id":"c-2"}'])
    result = runner.invoke(app, ["import", str(path), "--json"])
    assert result.exit_code == 1
    refusal = orjson.loads(result.stdout)
    assert refusal["errors"] == [{"line": 6, "field": "account", "error": "required"}]
    assert refusal["more"] == 0
    assert "nothing was imported" in refusal["error"]


def test_it_lists_the_first_hundred_errors_and_counts_the_rest(tmp_path: Path) -> None:
    bad = [b'{"type":"contact","id":"c-%d"}' % i for i in range(250)]
    result = runner.invoke(app, ["import", str(write(tmp_path, *BASICS, extra=bad))])
    assert result.exit_code == 1
    listed = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert len(listed) == 100
    assert listed[-1].startswith("line 105,")
    assert "… and 150 more errors" in result.stderr
    assert "250 invalid line(s)" in result.stderr


def test_it_lists_as_many_errors_in_json_as_on_screen(tmp_path: Path) -> None:
    bad = [b'{"type":"contact","id":"c-%d"}' % i for i in range(250)]
    result = runner.invoke(app, ["import", str(write(tmp_path, *BASICS, extra=bad)), "--json"])
    refusal = orjson.loads(result.stdout)
    assert (len(refusal["errors"]), refusal["more"]) == (100, 150)


def test_it_counts_invalid_lines_apart_from_their_errors(tmp_path: Path) -> None:
    moved = message("m-2", "t-1", "2026-10-01T15:00:00Z", account="nowhere")  # two errors
    path = write(tmp_path, *BASICS, message("m-1", "t-1", "2026-10-01T14:03:00Z"), moved)
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 1
    assert "1 invalid line(s)" in result.stderr
    assert "(2 errors)" in result.stderr


def test_it_says_a_directory_is_a_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path} is a directory" in result.stderr


def test_it_says_once_with_the_first_line_that_a_file_is_not_utf8(tmp_path: Path) -> None:
    latin1 = [
        '{"type":"contact","id":"c-%d","account":"acme","name":"Zoë"}'.encode("latin-1") % i
        for i in range(2, 40)
    ]
    result = runner.invoke(app, ["import", str(write(tmp_path, *BASICS, extra=latin1))])
    assert result.exit_code == 1
    assert "line 6: not UTF-8 text" in result.stderr
    assert result.stderr.count("not UTF-8") == 1
    assert sum(stats().values()) == 0


def test_it_says_an_empty_file_holds_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"\n\n")
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 1
    assert f"{path} holds no records" in result.stderr
