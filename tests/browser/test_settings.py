"""The settings pages in a real browser on the demo book (issue 14 §4): a change is saved, its
recompute runs as a background job of `keepwell serve`, and the page follows its progress
until it is done; bad bands get their message at the metric."""

from __future__ import annotations

import re
from typing import Any

from browser.site import Book, signed_in

DONE = re.compile("Recompute done")


def _save_first_response(page: Any, base_url: str, hours: str) -> None:
    page.goto(f"{base_url}/settings/sla")
    page.get_by_label("First response target").fill(hours)
    page.get_by_label("Unit").select_option("hours")
    page.get_by_role("button", name="Save and recompute the SLA clocks").click()
    page.wait_for_url(re.compile(r"/settings/sla\?.*job="))


def test_an_admin_changes_the_sla_target_and_watches_its_recompute_end(
    page: Any, book: Book
) -> None:
    signed_in(page, book.base_url, "admin")
    _save_first_response(page, book.base_url, "2")
    status = page.locator("#recompute")
    status.get_by_text(DONE).wait_for(timeout=120_000)  # polled by htmx, no reload
    assert page.get_by_label("First response target").input_value() == "2"
    changes = page.get_by_role("region", name="Changes of these settings").inner_text()
    assert "sla_first_response_seconds" in changes and "7200" in changes
    # back as it was, for the other tests on this book
    _save_first_response(page, book.base_url, "1")
    page.locator("#recompute").get_by_text(DONE).wait_for(timeout=120_000)


def test_bands_with_a_gap_get_their_message_at_the_metric(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "admin")
    page.goto(f"{book.base_url}/settings/targets")
    page.get_by_label("Client retention, yellow, upper end").fill("0.75")
    page.get_by_role("button", name="Save and recompute the scorecards").click()
    message = page.locator("#retention-error")
    assert "values between 0.75 and 0.8 (yellow and green) are in no band" in (message.inner_text())
    assert page.get_by_label("Client retention, yellow, upper end").input_value() == "0.75"
