"""The team pages in a real browser (issue 14, "Done when"): a manager follows a red figure
to the requests behind it; a CSM and their manager review a month, by mouse and keyboard,
and the CSM's self-awareness appears."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import expect

from browser.site import Book, signed_in

REQUEST_METRICS = ("response_time", "resolution_time", "independence")
# The review both sides write: they differ on proactivity alone (10 of 94 points apart).
SELF_RATINGS = {
    "Client retention": "green", "Response time": "green", "Resolution time": "green",
    "Resolution success": "green", "Proactivity": "green", "Feedback & testimonials": "yellow",
    "CRM hygiene": "yellow",
}  # fmt: skip
MANAGER_RATINGS = {**SELF_RATINGS, "Proactivity": "red"}


def test_a_manager_follows_a_red_figure_to_the_requests_behind_it(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    page.wait_for_url(f"{book.base_url}/team")
    red = ", ".join(f'td[data-metric="{m}"][data-band="red"]' for m in REQUEST_METRICS)
    cell = page.locator(red).first
    expect(cell.locator(".band")).to_have_text("red")  # the band in words, not colour alone
    metric, count = cell.get_attribute("data-metric"), int(cell.get_attribute("data-n"))
    cell.get_by_role("link").click()
    page.wait_for_url(f"**/{metric}?as_of=*")
    requests = page.locator('table[data-kind="requests"] tbody tr')
    expect(requests).to_have_count(count)
    expect(page.locator(".evidence-figure .band")).to_have_text("red")
    first = requests.first
    first.get_by_role("link").first.click()
    page.wait_for_url(f"{book.base_url}/accounts/*")


def _review(page: Any, form: str, ratings: dict[str, str], comment: str) -> None:
    """Fill a review form from the keyboard: each rating typed into its focused list (a
    letter picks the option it starts: g, y, r), the form sent with Enter."""
    review = page.locator(form)
    for label, rating in ratings.items():
        field = review.get_by_label(label, exact=True)
        field.focus()
        page.keyboard.press(rating[0])
        expect(field).to_have_value(rating)
    review.get_by_label("Comment").fill(comment)
    review.get_by_role("button").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**#reviews")


def test_a_csm_and_their_manager_review_the_month_and_self_awareness_appears(
    browser: Any, book: Book
) -> None:
    month = datetime.now(UTC).strftime("%Y-%m")  # the demo has reviews of closed months only
    mine = f"{book.base_url}/team/{book.csm_id}?month={month}"
    csm, manager = (browser.new_context(viewport={"width": 1280, "height": 800}) for _ in "ab")
    try:
        page = csm.new_page()
        signed_in(page, book.base_url, "csm")
        page.get_by_role("link", name="My scorecard").click()
        page.wait_for_url(f"{book.base_url}/team/{book.csm_id}")
        page.get_by_label("Month", exact=True).fill(month)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(mine)
        awareness = page.locator(".self-awareness")
        expect(awareness).to_contain_text("n/a")
        _review(page, "#self-review", SELF_RATINGS, "Proactive every week <b>really</b>")
        expect(awareness).to_contain_text("n/a")  # the manager has not written theirs

        boss = manager.new_page()
        signed_in(boss, book.base_url, "manager")
        boss.goto(mine)
        expect(boss.locator("#self-review")).to_have_count(0)  # no form for the CSM's review
        _review(boss, "#manager-review", MANAGER_RATINGS, "Two weeks without a touch")
        expect(boss.locator(".self-awareness")).to_contain_text("89.4 %")

        page.reload()
        expect(awareness).to_contain_text("89.4 %")
        expect(awareness.locator(".band")).to_have_text("green")
        expect(page.locator(".ratings")).to_contain_text("Proactive every week <b>really</b>")
        awareness.get_by_role("link").click()
        expect(page.locator('table[data-kind="ratings"] tbody tr')).to_have_count(7)
    finally:
        csm.close()
        manager.close()
