"""A real server on the demo book, loaded once per test session, and Chromium.

On SQLite the server's database is a file of its own; on PostgreSQL (the suite's second run)
a database of its own beside the suite's, which the other tests empty after each test.
Without Chromium the browser tests skip on a developer's machine and FAIL in CI, where
.ci/system-packages installs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from browser.site import CHROMIUM, Book, chromium_available, demo_server, launch_chromium

POSTGRES_URL = os.environ.get("KEEPWELL_TEST_DATABASE_URL", "")


@pytest.fixture(scope="session")
def _browser_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('browser') / 'demo.db'}"
        return
    url = make_url(POSTGRES_URL)
    name = f"{url.database}_browser"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)

    def run(statement: str) -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL(statement).format(sql.Identifier(name)))

    run("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    run("CREATE DATABASE {}")
    yield url.set(database=name).render_as_string(hide_password=False)
    run("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@pytest.fixture(scope="session")
def book(_browser_database: str) -> Iterator[Book]:
    """`keepwell serve --demo` on the browser tests' database, for the whole session."""
    with demo_server(_browser_database) as running:
        yield running


@pytest.fixture(scope="session")
def base_url(book: Book) -> str:
    return book.base_url


# Per module, not per session: Playwright's sync API keeps an asyncio loop running in the
# main thread while it is open, and the suite's later tests call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not chromium_available():
        reason = f"Chromium is missing at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, book: Book) -> Iterator[Any]:
    """A fresh browser context (no cookies) and its page, for one test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
