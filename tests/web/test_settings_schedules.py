"""`/settings/schedules` (issue 14 §4): an admin reads the schedules and their versions,
previews a week, adds a version validated at the field; saving is audited and followed by a
recompute job whose progress the page shows. Anyone else: 403."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from book import SCHEDULE, lines
from keepwell.config import get_settings
from keepwell.services.audit import history
from keepwell.services.importing import import_lines
from keepwell.services.jobs import get_job
from keepwell.store.db import transaction
from keepwell.store.models import Schedule
from people import csrf_of, sign_in
from writebook import EMAILS

PAGE = "/settings/schedules"
POST = "/settings/schedules/ny-9-17/versions"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture(autouse=True)
def _own_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app's queue in a file of this test's own (nothing consumes it here)."""
    monkeypatch.setenv("KEEPWELL_JOBS_PATH", str(tmp_path / "jobs.db"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _form(**changes: str) -> dict[str, str]:
    fields = {f"week_{d}": "09:00-17:00" for d in WEEKDAYS[:5]}
    fields.update(week_sat="", week_sun="", effective="2026-11-02", days="")
    fields.update(timezone="America/New_York", holidays_country="US")
    fields.update(holidays_subdivision="", holidays_dates="")
    return {**fields, **changes}


def _admin(client: TestClient) -> str:
    sign_in(client, EMAILS["admin"])
    return csrf_of(client.get(PAGE).text)


def _versions(engine: Engine) -> dict[str, dict[str, object]]:
    with transaction(engine) as session:
        rows = session.execute(select(Schedule.effective, Schedule.spec))
        return {effective.isoformat(): spec for effective, spec in rows}


def test_an_admin_sees_each_schedule_its_versions_and_a_week(app_client: TestClient) -> None:
    _admin(app_client)
    page = app_client.get(PAGE, params={"week": "2026-11-26"})  # Thanksgiving week
    assert page.status_code == 200
    assert "ny-9-17: versions" in page.text
    assert "from the start" in page.text and "America/New_York" in page.text
    assert "The week of 23 November 2026" in page.text
    assert "public holiday" in page.text  # Thursday 26 November
    assert 'src="/settings/schedules/ny-9-17/week.svg?week=2026-11-23"' in page.text


def test_the_week_chart_is_svg_without_script(app_client: TestClient) -> None:
    _admin(app_client)
    chart = app_client.get("/settings/schedules/ny-9-17/week.svg", params={"week": "2026-11-23"})
    assert chart.status_code == 200
    assert chart.headers["content-type"] == "image/svg+xml"
    assert b"<script" not in chart.content and b"Mon 23 Nov" in chart.content


@pytest.mark.parametrize("who", ["manager", "csm", "viewer"])
def test_anyone_but_an_admin_is_refused_the_page_the_chart_and_the_form(
    app_client: TestClient, engine: Engine, who: str
) -> None:
    sign_in(app_client, EMAILS[who])
    assert app_client.get(PAGE).status_code == 403
    assert app_client.get("/settings/schedules/ny-9-17/week.svg").status_code == 403
    csrf = csrf_of(app_client.get("/").text)
    before = _versions(engine)
    answer = app_client.post(POST, data={**_form(), "csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 403
    assert _versions(engine) == before


def test_the_form_needs_its_csrf_token(app_client: TestClient) -> None:
    _admin(app_client)
    answer = app_client.post(POST, data={**_form(), "csrf_token": "forged"})
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"week_fri": "09:00-13:00, 12:00-18:00"}, "week_fri", "intervals overlap"),
        ({"week_mon": "17:00-09:00"}, "week_mon", "is not before end"),
        ({"week_tue": "9 to 5"}, "week_tue", "write each interval as HH:MM-HH:MM"),
        ({"holidays_country": "XX"}, "holidays_country", "unknown country"),
        ({"holidays_subdivision": "ZZ"}, "holidays_subdivision", "unknown subdivision"),
        ({"holidays_dates": "2026-13-01"}, "holidays_dates", "not a date"),
        ({"effective": "next monday"}, "effective", "not a date"),
        ({"effective": ""}, "effective", "required"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        ({"days": "2026-12-24 13:00-09:00"}, "days", "is not before end"),
        ({f"week_{d}": "" for d in WEEKDAYS}, "week", "no open time"),
    ],
)
def test_a_bad_version_gets_a_message_at_its_field_and_is_not_saved(
    app_client: TestClient, engine: Engine, changes: dict[str, str], field: str, message: str
) -> None:
    csrf = _admin(app_client)
    before = _versions(engine)
    answer = app_client.post(POST, data={**_form(**changes), "csrf_token": csrf})
    assert answer.status_code == 422
    error = f'<p class="field-error" id="e-{field}">'
    assert error in answer.text, answer.text
    assert message in answer.text.split(error, 1)[1].split("</p>", 1)[0]
    assert _versions(engine) == before


def test_saving_a_version_stores_it_as_the_import_would_audits_it_and_queues_the_recompute(
    app_client: TestClient, engine: Engine
) -> None:
    csrf = _admin(app_client)
    fields = _form(week_fri="09:00-13:00, 14:00-18:00", holidays_subdivision="ny",
                   holidays_dates="2026-12-31", days="2026-12-24 09:00-13:00")  # fmt: skip
    answer = app_client.post(POST, data={**fields, "csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    job_id = answer.headers["location"].split("job=")[1].split("#")[0]
    stored = _versions(engine)["2026-11-02"]
    line = {**SCHEDULE, **stored, "id": "ny-9-17"}
    assert stored["week"]["fri"] == [["09:00", "13:00"], ["14:00", "18:00"]]  # type: ignore[index]
    assert stored["holidays"] == {"country": "US", "subdivision": "NY", "dates": ["2026-12-31"]}
    with transaction(engine) as session:
        # The same line imported changes nothing: it was stored as the import stores it.
        summary = import_lines(session, lines(line))
        assert summary.types["schedule"].unchanged == 1
        (entry,) = history(session, "schedule:ny-9-17")
        job = get_job(session, job_id)
    assert (entry.action, entry.before, entry.after) == ("schedule.version", None, stored)
    assert entry.by_id is not None
    assert job is not None and (job.name, job.state) == ("recompute", "queued")
    assert orjson.loads(job.args or "")["kinds"] == ["sla", "health", "scorecards"]
    page = app_client.get(answer.headers["location"])
    assert f'hx-get="/settings/recompute/{job_id}"' in page.text
    assert "Recompute queued" in page.text
    fragment = app_client.get(f"/settings/recompute/{job_id}")
    assert fragment.status_code == 200 and 'id="recompute"' in fragment.text


def test_a_version_on_a_date_that_has_one_replaces_it(
    app_client: TestClient, engine: Engine
) -> None:
    csrf = _admin(app_client)
    for hours in ("09:00-17:00", "08:00-16:00"):
        answer = app_client.post(POST, data={**_form(week_mon=hours), "csrf_token": csrf})
        assert answer.status_code == 200  # followed the redirect
    stored = _versions(engine)
    assert len(stored) == 2 and stored["2026-11-02"]["week"]["mon"] == [["08:00", "16:00"]]  # type: ignore[index]
    with transaction(engine) as session:
        last = history(session, "schedule:ny-9-17")[-1]
    assert last.before is not None and last.before["week"]["mon"] == [["09:00", "17:00"]]


def test_an_unknown_schedule_is_a_404(app_client: TestClient) -> None:
    csrf = _admin(app_client)
    answer = app_client.post(
        "/settings/schedules/nope/versions", data={**_form(), "csrf_token": csrf}
    )
    assert answer.status_code == 404


def test_a_preview_shows_the_week_as_it_would_be_and_saves_nothing(
    app_client: TestClient, engine: Engine
) -> None:
    csrf = _admin(app_client)
    before = _versions(engine)
    fields = _form(week_mon="10:00-12:00", effective="2026-11-23", preview_week="2026-11-25")
    preview = app_client.post(
        "/settings/schedules/ny-9-17/preview", data={**fields, "csrf_token": csrf}
    )
    assert preview.status_code == 200
    assert "a preview" in preview.text and "nothing is saved yet" in preview.text
    week = preview.text.split('id="week-h"', 1)[1].split("</table>", 1)[0]
    assert "Mon 23 Nov</th><td>10:00–12:00" in week
    assert 'value="10:00-12:00"' in preview.text  # the form keeps what was typed
    src = preview.text.split('src="/settings/schedules/ny-9-17/week.svg?', 1)[1].split('"')[0]
    chart = app_client.get("/settings/schedules/ny-9-17/week.svg?" + src.replace("&amp;", "&"))
    assert chart.status_code == 200 and b"(preview)" in chart.content
    assert _versions(engine) == before


def test_a_preview_of_a_bad_version_shows_the_message_at_the_field(
    app_client: TestClient,
) -> None:
    csrf = _admin(app_client)
    fields = _form(week_wed="12:00-11:00")
    preview = app_client.post(
        "/settings/schedules/ny-9-17/preview", data={**fields, "csrf_token": csrf}
    )
    assert preview.status_code == 422
    assert '<p class="field-error" id="e-week_wed">' in preview.text
