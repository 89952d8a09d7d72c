"""An admin adds a user in a real browser, who can then sign in (issue 14, Done when); the
add form works from the keyboard alone."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from browser.site import Book, signed_in
from browser.test_every_page import AXE, BLOCKING

PASSWORD = "a new person's password"


def _sign_out(page: Any, base_url: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base_url}/login")


def _sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")


def test_an_admin_adds_a_user_who_can_then_sign_in(page: Any, book: Book) -> None:
    email = f"nina.{uuid.uuid4().hex[:8]}@example.com"
    signed_in(page, book.base_url, "admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="People").click()
    form = page.locator("form[action='/settings/users']")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Name").fill("Nina Park")
    form.get_by_label("Role").select_option("csm")
    form.get_by_label("Manager").select_option(label="Maya Goldberg")
    form.get_by_label("Time zone").fill("Europe/Berlin")
    form.get_by_label("Initial password", exact=False).first.fill(PASSWORD)
    form.get_by_label("Initial password, again").fill(PASSWORD)
    form.get_by_role("button", name="Add person").click()
    expect(page.get_by_role("status")).to_contain_text("Nina Park is added")
    people = page.get_by_role("region", name="People table")
    expect(people.get_by_role("row", name=email)).to_contain_text("Maya Goldberg")

    _sign_out(page, book.base_url)
    _sign_in(page, book.base_url, email, PASSWORD)
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    expect(page.locator("header .who .name")).to_have_text("Nina Park")
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)


def test_the_add_form_says_the_error_at_its_field_and_works_from_the_keyboard(
    page: Any, book: Book
) -> None:
    signed_in(page, book.base_url, "admin")
    page.goto(f"{book.base_url}/settings/users")
    page.locator("#email").focus()
    page.keyboard.type("sam.okafor@example.com")  # the admin's own: taken
    for value in ("Someone Else", None, None, None, PASSWORD, PASSWORD):
        page.keyboard.press("Tab")
        if value is not None:
            page.keyboard.type(value)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Add person"
    page.keyboard.press("Enter")
    error = page.locator("#email-error")
    expect(error).to_contain_text("exists already")
    expect(page.locator("#email")).to_have_attribute("aria-describedby", "email-error")
    expect(page.locator("#name")).to_have_value("Someone Else")


def _blocking(page: Any) -> list[str]:
    violations = AXE.run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in BLOCKING]


def test_a_field_error_and_a_new_token_pass_axe(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "admin")
    page.goto(f"{book.base_url}/settings/users")
    page.locator("#timezone").fill("Mars/Olympus")
    page.locator("#email").fill("someone@example.com")
    page.locator("#name").fill("Someone")
    page.locator("#password").fill(PASSWORD)
    page.locator("#confirm_password").fill(PASSWORD)
    page.get_by_role("button", name="Add person").click()
    expect(page.locator("#timezone-error")).to_contain_text("Unknown time zone")
    assert _blocking(page) == []
    page.goto(f"{book.base_url}/settings/tokens")
    page.get_by_label("Owner").select_option(label="Chloe Nguyen (csm)")
    page.get_by_label("Label").fill("browser test")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#secret")).to_contain_text("kw_")
    assert _blocking(page) == []
