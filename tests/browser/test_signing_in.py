"""Signing in and out in a real browser, by mouse and by keyboard (issue 13 §1)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from browser.site import DEMO_PASSWORD, USERS, Book, signed_in


@pytest.mark.parametrize("role", ["csm", "manager"])
def test_a_demo_user_signs_in_through_the_form_and_sees_their_name(
    page: Any, book: Book, role: str
) -> None:
    user = signed_in(page, book.base_url, role)
    expect(page.locator("header .who .name")).to_have_text(user.name)
    expect(page.locator("header .who .role")).to_have_text(role)


def test_a_wrong_password_shows_the_error_and_stays_signed_out(page: Any, book: Book) -> None:
    page.goto(f"{book.base_url}/login")
    page.get_by_label("Email").fill(USERS["viewer"].email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    assert page.url == f"{book.base_url}/login"
    page.goto(f"{book.base_url}/")
    assert page.url == f"{book.base_url}/login"


def test_signing_out_returns_to_the_login_page_and_ends_the_session(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "csm")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{book.base_url}/login")
    page.goto(f"{book.base_url}/account/password")
    assert page.url == f"{book.base_url}/login"


def test_a_signed_out_visit_to_today_lands_on_the_login_page(page: Any, book: Book) -> None:
    page.goto(f"{book.base_url}/")
    assert page.url == f"{book.base_url}/login"
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def _tab_to(page: Any, selector: str, presses: int = 20) -> None:
    """Press Tab until `selector` has the focus, as someone without a mouse would."""
    target = page.locator(selector)
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("node => node === document.activeElement"):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_signing_in_and_out_works_from_the_keyboard_alone(page: Any, book: Book) -> None:
    user = USERS["manager"]
    page.goto(f"{book.base_url}/login")
    page.locator("body").focus()
    _tab_to(page, "#email")
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    assert page.locator("#password").evaluate("node => node === document.activeElement")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{book.base_url}/")
    expect(page.locator("header .who .name")).to_have_text(user.name)

    _tab_to(page, "header button:has-text('Sign out')")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{book.base_url}/login")


def test_the_skip_link_is_the_first_stop_of_the_keyboard_and_reaches_the_content(
    page: Any, book: Book
) -> None:
    signed_in(page, book.base_url, "csm")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
