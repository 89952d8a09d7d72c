"""The rule settings pages (issue 14 §4) through the app: admins only, CSRF on every form,
a message at the field for bad input, every change recorded and followed by its recompute as
a background job whose progress the page shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from book import load
from fittedbook import churn_told_by_sentiment
from keepwell.config import get_settings
from keepwell.services.audit import history
from keepwell.services.company_settings import change_setting, effective
from keepwell.store.db import transaction
from keepwell.store.models import Request
from keepwell.web.jobs import get_jobs
from people import NOW, csrf_of, sign_in
from slackbook import drain
from writebook import EMAILS

PAGES = ("/settings/sla", "/settings/targets", "/settings/health")
GOOD = {
    "/settings/sla": {"first_response": "30", "first_response_unit": "minutes",
                      "resolution_days": "2"},
    "/settings/targets": {},  # filled from the page: the form as drawn
    "/settings/health": {"responsiveness": "30", "engagement": "20", "sentiment": "20",
                         "open_issues": "10", "billing": "10", "onboarding": "10"},
    "/settings/health/apply-fitted": {},
}  # fmt: skip


@pytest.fixture(autouse=True)
def jobs_beside(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The app's job queue in this test's folder, never the working folder."""
    monkeypatch.setenv("KEEPWELL_JOBS_PATH", str(tmp_path / "jobs.db"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def signed_in(client: TestClient, who: str = "admin") -> str:
    """Sign in as `who`; the CSRF token of their session."""
    sign_in(client, EMAILS[who])
    return csrf_of(client.get("/account/password").text)


def form_of(html: str, action: str) -> dict[str, str]:
    """The fields of the form posting to `action` as the page drew them (selected options)."""
    start = html.index(f'action="{action}"')
    body = html[start : html.index("</form>", start)]
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', body))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        fields[name] = chosen.group(1) if chosen else ""
    return fields


# -- who may


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("who", ["manager", "csm", "viewer"])
def test_only_an_admin_opens_the_settings_pages(
    app_client: TestClient, path: str, who: str
) -> None:
    signed_in(app_client, who)
    response = app_client.get(path)
    assert response.status_code == 403
    assert "Only an admin" in response.text


@pytest.mark.parametrize("path", [*GOOD, "/settings/health/backtest"])
def test_a_non_admin_cannot_post_or_read_a_setting(app_client: TestClient, path: str) -> None:
    csrf = signed_in(app_client, "manager")
    if path.endswith("backtest"):
        assert app_client.get(path).status_code == 403
        return
    response = app_client.post(path, data={**GOOD[path], "csrf_token": csrf})
    assert response.status_code == 403


@pytest.mark.parametrize("path", GOOD)
def test_a_form_without_its_csrf_token_is_refused(app_client: TestClient, path: str) -> None:
    signed_in(app_client, "admin")
    assert app_client.post(path, data=GOOD[path]).status_code == 403
    assert app_client.post(path, data={**GOOD[path], "csrf_token": "forged"}).status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_a_signed_out_visitor_is_sent_to_login(app_client: TestClient, path: str) -> None:
    response = app_client.get(path, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


@pytest.mark.parametrize(("who", "shown"), [("admin", True), ("manager", False)])
def test_the_nav_shows_settings_to_admins_only(
    app_client: TestClient, who: str, shown: bool
) -> None:
    signed_in(app_client, who)
    assert ('href="/settings"' in app_client.get("/").text) is shown


# -- SLA targets


def test_it_shows_the_environments_targets_as_the_default(app_client: TestClient) -> None:
    signed_in(app_client)
    form = form_of(app_client.get("/settings/sla").text, "/settings/sla")
    assert (form["first_response"], form["first_response_unit"]) == ("1", "hours")
    assert form["resolution_days"] == "1"


def test_a_changed_sla_target_is_saved_recorded_and_moves_a_deadline_after_its_job(
    app_client: TestClient, engine: Engine
) -> None:
    csrf = signed_in(app_client)
    before = due(engine, "m-1")
    response = app_client.post(
        "/settings/sla", data={**GOOD["/settings/sla"], "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    job_id = re.search(r"job=(\w+)", response.headers["location"]).group(1)  # type: ignore[union-attr]
    page = app_client.get(response.headers["location"]).text
    assert "Saved." in page and "Recompute queued" in page
    assert f'hx-get="/settings/recompute/{job_id}"' in page  # polled until it ends
    with transaction(engine) as session:
        assert effective(session, get_settings()).sla.first_response_seconds == 1800
        (entry,) = history(session, "settings:sla_first_response_seconds")
    assert (entry.by_id, entry.before, entry.after) == (
        "u-admin", {"value": 3600, "source": "default"}, {"value": 1800}
    )  # fmt: skip
    assert due(engine, "m-1") == before  # the clocks wait for the job
    drain(get_jobs(app_client.app).huey)  # type: ignore[arg-type]
    assert due(engine, "m-1") == datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
    fragment = app_client.get(f"/settings/recompute/{job_id}").text
    assert "Recompute done" in fragment and "hx-get" not in fragment


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"first_response": "0"}, "first_response", "greater than 0"),
        ({"first_response": "-5"}, "first_response", "greater than 0"),
        ({"first_response": "soon"}, "first_response", "is not a number"),
        ({"first_response": "0.001"}, "first_response", "whole number of seconds"),
        ({"resolution_days": "0"}, "resolution_days", "greater than 0"),
        ({"resolution_days": ""}, "resolution_days", "Enter a number"),
    ],
)
def test_a_bad_sla_target_gets_a_message_at_its_field(
    app_client: TestClient, engine: Engine, fields: dict[str, str], field: str, says: str
) -> None:
    csrf = signed_in(app_client)
    data = {**GOOD["/settings/sla"], **fields, "csrf_token": csrf}
    response = app_client.post("/settings/sla", data=data)
    assert response.status_code == 422
    message = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', response.text)
    assert message is not None and says in message.group(1)
    assert 'aria-invalid="true"' in response.text
    with transaction(engine) as session:
        assert not effective(session, get_settings()).saved  # nothing saved


# -- scorecard targets


def test_the_targets_form_as_drawn_saves_nothing(app_client: TestClient) -> None:
    csrf = signed_in(app_client)
    form = form_of(app_client.get("/settings/targets").text, "/settings/targets")
    assert form["retention.green.low_kind"] == "above" and form["retention.green.low"] == "0.8"
    response = app_client.post("/settings/targets", data={**form, "csrf_token": csrf},
                               follow_redirects=False)  # fmt: skip
    assert response.headers["location"] == "/settings/targets?saved=0"


def test_changed_bands_are_saved_and_queue_the_scorecards(
    app_client: TestClient, engine: Engine
) -> None:
    csrf = signed_in(app_client)
    form = form_of(app_client.get("/settings/targets").text, "/settings/targets")
    form |= {"total.green.low": "85", "total.yellow.high": "85"}
    response = app_client.post("/settings/targets", data={**form, "csrf_token": csrf},
                               follow_redirects=False)  # fmt: skip
    assert response.status_code == 303 and "job=" in response.headers["location"]
    with transaction(engine) as session:
        assert effective(session, get_settings()).targets.band_of("total", 87) == "green"
        (entry,) = history(session, "settings:targets")
    assert entry.before["value"]["total"]["green"] == {"min": 90}
    assert entry.after["value"]["total"]["green"] == {"min": 85}


@pytest.mark.parametrize(
    ("changes", "where", "says"),
    [
        ({"retention.yellow.high": "0.75"}, "retention",
         "values between 0.75 and 0.8 (yellow and green) are in no band"),
        ({"retention.yellow.high": "0.85"}, "retention", "yellow and green overlap"),
        ({"total.green.low_kind": "min", "total.yellow.high_kind": "max"}, "total",
         "yellow and green overlap at 90"),
        ({"response_time.green.high": ""}, "response_time-green", "Give the upper end"),
        ({"crm_hygiene.red.high": "lots"}, "crm_hygiene-red", "is not a number"),
        ({"retention.green.low": "80"}, "retention-green", "0.8, not 80"),
    ],
)  # fmt: skip
def test_bands_with_a_gap_or_an_overlap_get_a_message_at_their_metric(
    app_client: TestClient, engine: Engine, changes: dict[str, str], where: str, says: str
) -> None:
    csrf = signed_in(app_client)
    form = form_of(app_client.get("/settings/targets").text, "/settings/targets") | changes
    response = app_client.post("/settings/targets", data={**form, "csrf_token": csrf})
    assert response.status_code == 422
    message = re.search(rf'<p class="field-error" id="{where}-error">([^<]*)</p>', response.text)
    assert message is not None and says in message.group(1).replace("&#39;", "'")
    assert form_of(response.text, "/settings/targets") == {**form}  # the form as it was sent
    with transaction(engine) as session:
        assert history(session, "settings:targets") == []


# -- health weights


def test_changed_weights_are_saved_and_queue_the_health_recompute(
    app_client: TestClient, engine: Engine
) -> None:
    csrf = signed_in(app_client)
    response = app_client.post(
        "/settings/health", data={**GOOD["/settings/health"], "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    with transaction(engine) as session:
        assert effective(session, get_settings()).weights["responsiveness"] == 30
    page = app_client.get(response.headers["location"]).text
    assert "Recompute queued" in page
    drain(get_jobs(app_client.app).huey)  # type: ignore[arg-type]
    assert "Recompute done" in app_client.get(response.headers["location"]).text


@pytest.mark.parametrize(
    ("changes", "where", "says"),
    [
        ({"billing": "-3"}, "w-billing", "must be finite and ≥ 0"),
        ({"billing": "many"}, "w-billing", "is not a number"),
    ],
)
def test_a_bad_weight_gets_a_message_at_its_field(
    app_client: TestClient, changes: dict[str, str], where: str, says: str
) -> None:
    csrf = signed_in(app_client)
    data = {**GOOD["/settings/health"], **changes, "csrf_token": csrf}
    response = app_client.post("/settings/health", data=data)
    assert response.status_code == 422
    message = re.search(rf'<p class="field-error" id="{where}-error">([^<]*)</p>', response.text)
    assert message is not None and says in message.group(1)


def test_weights_all_zero_are_refused_for_the_whole_form(app_client: TestClient) -> None:
    csrf = signed_in(app_client)
    zeros = dict.fromkeys(GOOD["/settings/health"], "0")
    response = app_client.post("/settings/health", data={**zeros, "csrf_token": csrf})
    assert response.status_code == 422
    assert 'id="weights-error">Every weight is 0' in response.text


def test_the_back_test_says_why_no_fitted_weights_are_offered(app_client: TestClient) -> None:
    signed_in(app_client)
    fragment = app_client.get("/settings/health/backtest", headers={"hx-request": "true"}).text
    assert "Churn rate per band" in fragment
    assert "Apply fitted weights" not in fragment  # a two-account book has no churn to fit
    assert "<html" not in fragment


def test_applying_fitted_weights_that_are_not_offered_changes_nothing(
    app_client: TestClient, engine: Engine
) -> None:
    csrf = signed_in(app_client)
    response = app_client.post("/settings/health/apply-fitted", data={"csrf_token": csrf})
    assert response.status_code == 409
    assert "offers no fitted weights" in response.text
    with transaction(engine) as session:
        assert history(session, "settings:health_weights") == []


def test_a_job_that_is_not_a_recompute_is_not_shown(app_client: TestClient) -> None:
    signed_in(app_client)
    assert app_client.get("/settings/recompute/nope").status_code == 404


def test_client_text_in_the_history_is_escaped(app_client: TestClient, engine: Engine) -> None:
    csrf = signed_in(app_client)
    app_client.post("/settings/sla", data={**GOOD["/settings/sla"], "csrf_token": csrf})
    page = app_client.get("/settings/sla").text
    assert "<script>" not in page.split("<main", 1)[1]


def due(engine: Engine, request_id: str) -> datetime | None:
    with transaction(engine) as session:
        return session.get_one(Request, request_id).first_response_due


def test_an_admin_applies_the_fitted_weights_the_back_test_offers(
    app_client: TestClient, engine: Engine
) -> None:
    load(engine, *churn_told_by_sentiment())
    with transaction(engine, writes=True) as session:
        change_setting(session, get_settings(), "health_weights", {"engagement": 1},
                       by="u-admin", at=NOW)  # fmt: skip
    csrf = signed_in(app_client)
    fragment = app_client.get("/settings/health/backtest", headers={"hx-request": "true"}).text
    assert "Offered:" in fragment
    assert form_of(fragment, "/settings/health/apply-fitted") == {"csrf_token": csrf}
    response = app_client.post("/settings/health/apply-fitted", data={"csrf_token": csrf},
                               follow_redirects=False)  # fmt: skip
    assert response.status_code == 303 and "job=" in response.headers["location"]
    with transaction(engine) as session:
        weights = effective(session, get_settings()).weights
        entry = history(session, "settings:health_weights")[-1]
    assert max(weights, key=weights.__getitem__) == "sentiment"
    assert (entry.action, entry.by_id) == ("settings.apply_fitted_weights", "u-admin")
    page = app_client.get(response.headers["location"]).text
    assert "fitted weights applied" in page and "Recompute queued" in page


def test_an_unreadable_targets_file_is_said_and_the_form_offers_the_defaults(
    app_client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KEEPWELL_TARGETS_FILE", str(tmp_path / "missing.toml"))
    get_settings.cache_clear()
    signed_in(app_client)
    response = app_client.get("/settings/targets")
    assert response.status_code == 200
    assert (
        "KEEPWELL_TARGETS_FILE" in response.text and "The form shows the defaults" in response.text
    )
    assert form_of(response.text, "/settings/targets")["total.green.low"] == "90"
