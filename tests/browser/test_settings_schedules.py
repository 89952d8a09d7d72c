"""An admin changes a schedule's hours in the browser; once the recompute job that follows
has run, the deadline of a request on the CSM's Today has moved (issue 14, "Done when")."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from browser.site import Book, signed_in
from keepwell.store.db import make_engine
from keepwell.store.models import Request, Schedule

WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _on_a_schedule(database_url: str, request_ids: list[str]) -> tuple[str, str, date] | None:
    """The first of the requests whose clock runs on a stored schedule: (request, schedule,
    the day it opened in the schedule's zone)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            zones = dict(connection.execute(select(Schedule.schedule_id, Schedule.timezone)).all())
            rows = connection.execute(
                select(Request.id, Request.schedule_id, Request.opened_at).where(
                    Request.id.in_(request_ids)
                )
            ).all()
    finally:
        engine.dispose()
    found = {row.id: row for row in rows if row.schedule_id in zones}
    for request_id in request_ids:
        if row := found.get(request_id):
            opened = row.opened_at.astimezone(ZoneInfo(zones[row.schedule_id])).date()
            return request_id, row.schedule_id, opened
    return None


def _due(page: Any, request_id: str) -> str:
    return str(page.locator(f"#req-{request_id} .due time").get_attribute("datetime"))


def test_an_admin_changes_a_schedules_hours_and_the_deadline_on_today_moves(
    browser: Any, book: Book
) -> None:
    csm = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    admin = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    signed_in(csm, book.base_url, "csm")
    rows = csm.locator("ol.inbox > li.row").evaluate_all("nodes => nodes.map(n => n.id)")
    chosen = _on_a_schedule(book.database_url, [r.removeprefix("req-") for r in rows])
    assert chosen is not None, "no request on Today runs on a stored schedule"
    request_id, schedule_id, opened = chosen
    before = _due(csm, request_id)

    signed_in(admin, book.base_url, "admin")
    # The week the request opened: the form starts from its Monday, the version in force then.
    page = f"{book.base_url}/settings/schedules?schedule={schedule_id}&week={opened}"
    admin.goto(page)
    hours = {day: admin.get_by_label(day, exact=True).input_value() for day in WEEK}
    _save(admin, dict.fromkeys(WEEK, "06:00-07:00"))
    assert "06:00–07:00" in admin.locator("section[aria-labelledby=versions-h]").inner_text()

    csm.reload()
    after = _due(csm, request_id)
    assert after != before, f"request {request_id} is still due {before}"

    # The same date with the hours as they were: the version is replaced, the deadline back
    # (and the shared demo book as the other tests expect it).
    admin.goto(page)
    _save(admin, hours)
    csm.reload()
    assert _due(csm, request_id) == before
    csm.context.close()
    admin.context.close()


def _save(admin: Any, hours: dict[str, str]) -> None:
    for day, value in hours.items():
        admin.get_by_label(day, exact=True).fill(value)
    admin.get_by_role("button", name="Save the version").click()
    expect(admin.locator("#recompute")).to_contain_text("Recompute done", timeout=90_000)
