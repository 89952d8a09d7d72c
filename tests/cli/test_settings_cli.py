"""`keepwell settings`: the rule settings through the same service as the pages (issue 14 §4)."""

from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from book import BASICS, load, message
from keepwell.cli.app import app
from keepwell.config import get_settings
from keepwell.services.audit import history
from keepwell.services.jobs import get_job, list_jobs
from keepwell.store.db import transaction
from keepwell.store.models import Request

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    monkeypatch.setenv("KEEPWELL_JOBS_PATH", str(tmp_path / "jobs.db"))
    for name in ("SLA_FIRST_RESPONSE_SECONDS", "SLA_RESOLUTION_BUSINESS_DAYS", "TARGETS_FILE",
                 "HEALTH_WEIGHTS"):  # fmt: skip
        monkeypatch.delenv(f"KEEPWELL_{name}", raising=False)
    get_settings.cache_clear()


def shown() -> dict[str, dict[str, object]]:
    result = runner.invoke(app, ["settings", "show", "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)  # type: ignore[no-any-return]


def test_it_shows_the_environments_values_while_nothing_is_saved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEEPWELL_SLA_RESOLUTION_BUSINESS_DAYS", "2")
    get_settings.cache_clear()
    settings = shown()
    assert settings["sla_first_response_seconds"]["value"] == 3600
    assert settings["sla_first_response_seconds"]["source"] == "default"
    assert settings["sla_resolution_business_days"]["value"] == 2.0
    assert settings["sla_resolution_business_days"]["source"] == "environment"
    assert settings["targets"]["value"]["total"]["green"] == {"min": 90}  # type: ignore[index]
    table = runner.invoke(app, ["settings", "show"]).stdout
    assert "KEEPWELL_SLA_RESOLUTION_BUSINESS_DAYS" in table


def test_set_saves_records_and_recomputes_the_sla_clocks(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-05T13:00:00Z"))
    result = runner.invoke(app, ["settings", "set", "sla_first_response_seconds", "1800"])
    assert result.exit_code == 0, result.output
    assert "sla_first_response_seconds: 3600 → 1800" in result.stdout
    assert "recomputed sla" in result.stdout
    assert shown()["sla_first_response_seconds"]["source"] == "saved"
    with transaction(engine) as session:
        request = session.get_one(Request, "m-1")
        assert request.first_response_due.isoformat() == "2026-10-05T13:30:00+00:00"
        (entry,) = history(session, "settings:sla_first_response_seconds")
    assert (entry.by_id, entry.after) == (None, {"value": 1800})
    (job,) = list_jobs(engine)
    assert (job.name, job.state) == ("recompute", "done")


def test_set_can_leave_the_recompute_queued(engine: Engine) -> None:
    result = runner.invoke(app, ["settings", "set", "health_weights", '{"engagement": 1}',
                                 "--queue"])  # fmt: skip
    assert result.exit_code == 0, result.output
    job_id = result.stdout.split("job ")[-1].strip()
    with transaction(engine) as session:
        job = get_job(session, job_id)
    assert job is not None and job.state == "queued"


def test_set_reads_the_targets_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text("[total]\ngreen = { min = 80 }\nyellow = { min = 60, below = 80 }\n"
                    "red = { below = 60 }\n")  # fmt: skip
    result = runner.invoke(app, ["settings", "set", "targets", str(path)])
    assert result.exit_code == 0, result.output
    assert shown()["targets"]["value"]["total"]["green"] == {"min": 80}  # type: ignore[index]


def test_reset_brings_back_the_environments_value() -> None:
    runner.invoke(app, ["settings", "set", "sla_resolution_business_days", "3"])
    result = runner.invoke(app, ["settings", "reset", "sla_resolution_business_days"])
    assert result.exit_code == 0, result.output
    assert "sla_resolution_business_days: 3.0 → 1.0" in result.stdout
    assert shown()["sla_resolution_business_days"]["source"] == "default"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["sla_first_response_seconds", "0"],
         "error: sla_first_response_seconds: input should be greater than 0, got 0"),
        (["sla_first_response_seconds", "-60"],
         "error: sla_first_response_seconds: input should be greater than 0, got -60"),
        (["sla_resolution_business_days", "soon"],
         "error: sla_resolution_business_days: input should be a valid number, unable to parse"
         " string as a number, got 'soon'"),
        (["health_weights", '{"engagement": -1}'],
         "error: health_weights: engagement: weight -1.0 must be finite and ≥ 0"),
        (["targets", '{"retention": {"green": {"above": 0.8}, "yellow": {"min": 0.7, '
          '"max": 0.75}, "red": {"below": 0.7}}}'],
         "error: targets: retention: values between 0.75 and 0.8 (yellow and green) are in no"
         " band"),
        (["colour", "blue"], "error: colour: unknown setting (one of sla_first_response_seconds,"
         " sla_resolution_business_days, targets, health_weights)"),
    ],
)  # fmt: skip
def test_it_refuses_a_bad_value_in_one_line(arguments: list[str], message: str) -> None:
    result = runner.invoke(app, ["settings", "set", *arguments])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == message
    assert all(row["source"] != "saved" for row in shown().values())
