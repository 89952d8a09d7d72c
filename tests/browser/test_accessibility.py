"""axe-core finds no serious or critical violation on any page (issue 13, Done when)."""

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
