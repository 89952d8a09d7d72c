"""Every page (site.PAGES): axe-core finds no serious or critical violation, and a phone's
390 px show it without sideways scrolling (issue 13, Done when; §3 "readable at 390 px")."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from browser.site import PAGES, Book, Page, signed_in

AXE = Axe()
BLOCKING = {"serious", "critical"}


def _describe(violation: dict[str, Any]) -> str:
    where = "; ".join(node["target"][0] for node in violation["nodes"][:3])
    return f"{violation['impact']}: {violation['id']} ({violation['help']}) at {where}"


@pytest.mark.parametrize("target", PAGES, ids=[p.name for p in PAGES])
def test_the_page_has_no_serious_or_critical_accessibility_violation(
    page: Any, book: Book, target: Page
) -> None:
    if target.role is not None:
        signed_in(page, book.base_url, target.role)
    answer = page.goto(target.url(book.base_url, book))
    assert answer is not None and answer.status == 200, target.path
    violations = AXE.run(page).response["violations"]
    blocking = [_describe(v) for v in violations if v["impact"] in BLOCKING]
    assert blocking == [], "\n".join(blocking)


# What sticks out past the viewport's right edge (the page would scroll sideways); a wide
# table inside a region that scrolls sideways on its own is fine.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const insideScrollingRegion = node => {
    for (let up = node.parentElement; up && up !== document.body; up = up.parentElement) {
      const style = getComputedStyle(up).overflowX;
      if (style === "auto" || style === "scroll") return true;
    }
    return false;
  };
  return [...document.querySelectorAll("body *")]
    .filter(node => node.getBoundingClientRect().right > width + 1
      && !node.closest(".skip") && !insideScrollingRegion(node))
    .map(node => node.tagName.toLowerCase() + (node.id ? "#" + node.id : "")
      + (node.className && typeof node.className === "string" ? "." + node.className : ""));
}"""


@pytest.mark.parametrize("target", PAGES, ids=[p.name for p in PAGES])
def test_the_page_fits_a_390_px_phone_screen_without_sideways_scrolling(
    browser: Any, book: Book, target: Page
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        if target.role is not None:
            signed_in(phone, book.base_url, target.role)
        phone.goto(target.url(book.base_url, book))
        assert phone.evaluate(OVERFLOWING) == []
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
