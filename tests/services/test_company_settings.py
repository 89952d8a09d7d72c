"""The rule settings an admin edits (issue 14 §4) through the service, on a real database:
the environment's values until one is saved, every change checked by the environment's own
rules and recorded, and the SLA clocks following a changed target once recomputed."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from book import BASICS, load, message
from fittedbook import churn_told_by_sentiment
from keepwell.config import Settings
from keepwell.domain.health import DEFAULT_WEIGHTS
from keepwell.domain.targets import DEFAULT_TARGETS, TargetsError, targets_to_mapping
from keepwell.jobs.recompute import run_job
from keepwell.services.audit import history
from keepwell.services.company_settings import (
    DEFAULT,
    ENVIRONMENT,
    HEALTH_WEIGHTS,
    SAVED,
    SLA_FIRST_RESPONSE,
    SLA_RESOLUTION,
    TARGETS,
    NothingToApply,
    SettingRefused,
    apply_fitted_weights,
    change_setting,
    change_settings,
    effective,
    reset_setting,
)
from keepwell.services.jobs import get_job
from keepwell.services.recompute import kinds_of
from keepwell.store.db import transaction
from keepwell.store.models import CompanySetting, Request

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
ENV = Settings.model_construct()  # the defaults, whatever this machine's environment says


def change(engine: Engine, key: str, value: Any, env: Settings = ENV, at: datetime = NOW) -> Any:
    with transaction(engine, writes=True) as session:
        return change_setting(session, env, key, value, by="u-admin", at=at)


def rules(engine: Engine, env: Settings = ENV) -> Any:
    with transaction(engine) as session:
        return effective(session, env)


def refused(engine: Engine, key: str, value: Any) -> SettingRefused:
    with pytest.raises(SettingRefused) as caught:
        change(engine, key, value)
    return caught.value


def retention(**bands: dict[str, float]) -> dict[str, Any]:
    default = targets_to_mapping(DEFAULT_TARGETS)["retention"]
    return {"retention": {**default, **bands}}


# -- the environment until something is saved


def test_it_keeps_the_environments_values_while_nothing_is_saved(engine: Engine) -> None:
    env = Settings(
        sla_first_response_seconds=1800,
        sla_resolution_business_days=2.5,
        health_weights={"engagement": 1, "billing": 3},
    )
    shown = rules(engine, env)
    assert (shown.sla.first_response_seconds, shown.sla.resolution_business_days) == (1800, 2.5)
    assert shown.weights["billing"] == 3 and shown.weights["sentiment"] == 0
    assert shown.targets == DEFAULT_TARGETS
    assert shown.source(SLA_FIRST_RESPONSE) == ENVIRONMENT
    assert shown.source(TARGETS) == DEFAULT


def test_it_reads_the_environments_targets_file(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text("[total]\ngreen = { min = 80 }\nyellow = { min = 60, below = 80 }\n"
                    "red = { below = 60 }\n")  # fmt: skip
    shown = rules(engine, Settings(targets_file=str(path)))
    assert shown.targets.band_of("total", 85) == "green"
    assert shown.source(TARGETS) == ENVIRONMENT


def test_a_bad_targets_file_names_its_variable_only_when_targets_are_read(
    engine: Engine, tmp_path: Path
) -> None:
    shown = rules(engine, Settings(targets_file=str(tmp_path / "missing.toml")))
    assert shown.sla.first_response_seconds == 3600  # an import does not need the file
    with pytest.raises(TargetsError, match="KEEPWELL_TARGETS_FILE"):
        _ = shown.targets


def test_saved_values_override_the_environment(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text("[total]\ngreen = { min = 80 }\nyellow = { min = 60, below = 80 }\n"
                    "red = { below = 60 }\n")  # fmt: skip
    env = Settings(
        sla_first_response_seconds=1800,
        targets_file=str(path),
        health_weights={"engagement": 1},
    )
    change(engine, SLA_FIRST_RESPONSE, 7200, env)
    change(engine, TARGETS, {}, env)  # every table left out: the defaults of PRODUCT.md 4
    change(engine, HEALTH_WEIGHTS, {"sentiment": 2, "billing": 2}, env)
    shown = rules(engine, env)
    assert shown.sla.first_response_seconds == 7200
    assert shown.sla.resolution_business_days == 1.0  # not saved: the environment's
    assert shown.targets.band_of("total", 85) == "yellow"
    assert shown.weights == {**dict.fromkeys(DEFAULT_WEIGHTS, 0.0), "sentiment": 2.0,
                             "billing": 2.0}  # fmt: skip
    assert shown.source(SLA_FIRST_RESPONSE) == SAVED
    assert shown.saved[SLA_FIRST_RESPONSE].by == "u-admin"


def test_reset_brings_back_the_environments_value(engine: Engine) -> None:
    change(engine, SLA_RESOLUTION, 3)
    with transaction(engine, writes=True) as session:
        reset = reset_setting(session, ENV, SLA_RESOLUTION, by="u-admin", at=LATER)
    (undone,) = reset.changes
    assert (undone.before, undone.after, reset.recompute) == (3, 1.0, ("sla",))
    assert rules(engine).sla.resolution_business_days == 1.0
    with transaction(engine) as session:
        entries = history(session, "settings:sla_resolution_business_days")
    assert [entry.action for entry in entries] == ["settings.change", "settings.reset"]
    assert entries[1].after == {"value": 1.0, "source": DEFAULT}


# -- validation: the environment's rules, a message naming the field


@pytest.mark.parametrize("value", [0, -60, 0.0, 12.5, "soon", True, None])
def test_it_refuses_a_first_response_target_that_is_not_a_positive_whole_number(
    engine: Engine, value: Any
) -> None:
    error = refused(engine, SLA_FIRST_RESPONSE, value)
    assert error.field == SLA_FIRST_RESPONSE


@pytest.mark.parametrize("value", [0, -1.5, float("nan"), float("inf")])
def test_it_refuses_a_resolution_target_that_is_not_above_zero(engine: Engine, value: Any) -> None:
    error = refused(engine, SLA_RESOLUTION, value)
    assert error.field == SLA_RESOLUTION
    assert "greater than 0" in error.message or "finite" in error.message


@pytest.mark.parametrize(
    ("weights", "field", "says"),
    [
        ({"engagement": -5}, "health_weights.engagement", "≥ 0"),
        ({"engagement": "lots"}, "health_weights.engagement", "valid number"),
        ({"happiness": 5}, "health_weights", "unknown measure 'happiness'"),
        ({"engagement": 0}, "health_weights", "every weight is 0"),
        ([20, 20], "health_weights", "expected an object"),
    ],
)
def test_it_refuses_bad_weights(engine: Engine, weights: Any, field: str, says: str) -> None:
    error = refused(engine, HEALTH_WEIGHTS, weights)
    assert error.field == field
    assert says in error.message


@pytest.mark.parametrize(
    ("targets", "field", "says"),
    [
        (retention(yellow={"min": 0.7, "max": 0.75}), "targets.retention",
         "values between 0.75 and 0.8 (yellow and green) are in no band"),
        (retention(yellow={"min": 0.7, "max": 0.85}), "targets.retention",
         "yellow and green overlap from 0.8 to 0.85"),
        (retention(green={"min": 0.8}), "targets.retention", "yellow and green overlap at 0.8"),
        (retention(green={"above": 0.8, "below": 0.8}), "targets.retention.green",
         "the band is empty"),
        (retention(green={"above": 80}), "targets.retention.green", "0.8, not 80"),
        ({"happiness": {}}, "targets.happiness", "unknown metric"),
    ],
)  # fmt: skip
def test_it_refuses_bands_with_gaps_and_overlaps(
    engine: Engine, targets: dict[str, Any], field: str, says: str
) -> None:
    error = refused(engine, TARGETS, targets)
    assert error.field == field
    assert says in error.message


def test_a_refused_change_saves_nothing_of_the_batch(engine: Engine) -> None:
    with pytest.raises(SettingRefused), transaction(engine, writes=True) as session:
        change_settings(
            session, ENV, {SLA_FIRST_RESPONSE: 1800, SLA_RESOLUTION: 0}, by="u-admin", at=NOW
        )
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(CompanySetting)) == 0
        assert history(session, "settings:sla_first_response_seconds") == []


# -- the record


def test_it_records_who_when_and_the_values_before_and_after(engine: Engine) -> None:
    change(engine, SLA_FIRST_RESPONSE, 1800)
    change(engine, SLA_FIRST_RESPONSE, 900, at=LATER)
    with transaction(engine) as session:
        first, second = history(session, "settings:sla_first_response_seconds")
    assert (first.by_id, first.at, first.action) == ("u-admin", NOW, "settings.change")
    assert first.before == {"value": 3600, "source": DEFAULT}
    assert first.after == {"value": 1800}
    assert (second.at, second.before, second.after) == (
        LATER, {"value": 1800, "source": SAVED}, {"value": 900}
    )  # fmt: skip


def test_the_value_already_in_force_is_no_change(engine: Engine) -> None:
    result = change(engine, SLA_FIRST_RESPONSE, 3600)
    assert (result.changed, result.recompute) == (False, ())
    with transaction(engine) as session:
        assert history(session, "settings:sla_first_response_seconds") == []


def test_a_change_records_the_recompute_it_needs_as_a_queued_job(engine: Engine) -> None:
    with transaction(engine, writes=True) as session:
        outcome = change_settings(
            session, ENV,
            {HEALTH_WEIGHTS: {"engagement": 1}, SLA_RESOLUTION: 2, TARGETS: {}},
            by="u-admin", at=NOW,
        )  # fmt: skip
    assert outcome.recompute == ("sla", "health")  # the targets were the defaults already
    assert outcome.job_id is not None
    with transaction(engine) as session:
        job = get_job(session, outcome.job_id)
    assert job is not None
    assert (job.name, job.state) == ("recompute", "queued")
    assert kinds_of(job.args) == ("sla", "health")


def test_a_change_that_changes_nothing_records_no_job(engine: Engine) -> None:
    assert change(engine, TARGETS, {}).job_id is None


# -- the SLA clocks follow a changed target


def test_a_changed_sla_target_moves_a_requests_deadline_once_its_job_ran(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-05T13:00:00Z"))
    assert due(engine) == datetime(2026, 10, 5, 14, 0, tzinfo=UTC)  # 1 business hour
    outcome = change(engine, SLA_FIRST_RESPONSE, 1800)
    assert outcome.job_id is not None
    assert due(engine) == datetime(2026, 10, 5, 14, 0, tzinfo=UTC)  # not until the job runs
    run_job(engine, outcome.job_id, ENV, retries_left=0)  # what a worker runs
    assert due(engine) == datetime(2026, 10, 5, 13, 30, tzinfo=UTC)


def due(engine: Engine) -> datetime | None:
    with transaction(engine) as session:
        return session.get_one(Request, "m-1").first_response_due


# -- the back-test's fitted weights


def test_applying_the_fitted_weights_saves_records_and_queues_health(engine: Engine) -> None:
    load(engine, *churn_told_by_sentiment())
    change(engine, HEALTH_WEIGHTS, {"engagement": 1})
    with transaction(engine, writes=True) as session:
        outcome = apply_fitted_weights(session, ENV, today=LATER.date(), by="u-admin", at=LATER)
    (applied,) = outcome.changes
    assert max(applied.after, key=applied.after.get) == "sentiment"
    assert outcome.recompute == ("health",) and outcome.job_id is not None
    assert rules(engine).weights == applied.after
    with transaction(engine) as session:
        entry = history(session, "settings:health_weights")[-1]
    assert (entry.action, entry.by_id) == ("settings.apply_fitted_weights", "u-admin")
    assert entry.before == {"value": {**dict.fromkeys(DEFAULT_WEIGHTS, 0.0), "engagement": 1.0},
                            "source": SAVED}  # fmt: skip
    assert entry.after["value"] == applied.after
    assert entry.after["backtest"]["out_of_sample"]["auc"] > 0.9


def test_no_fitted_weights_are_applied_when_the_back_test_offers_none(engine: Engine) -> None:
    load(engine, *BASICS)
    with (
        pytest.raises(NothingToApply, match="offers no fitted weights"),
        transaction(engine, writes=True) as session,
    ):
        apply_fitted_weights(session, ENV, today=NOW.date(), by="u-admin", at=NOW)
    assert rules(engine).saved == {}
