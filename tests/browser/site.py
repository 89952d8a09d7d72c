"""What the browser tests and `scripts/screenshots` share: the pages (one list), the demo
team's sign-ins, a real `keepwell serve` on a demo database, and Chromium.

PAGES is THE list of pages: the accessibility test and the screenshots go over it. A new
page adds itself here, with the role that opens it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keepwell.domain.months import last_closed_month

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright cannot download its own build here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DEMO_PASSWORD = "keepwell-demo"


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str


# One demo user per role (README "Signing in").
USERS = {
    "admin": DemoUser("sam.okafor@example.com", "Sam Okafor"),
    "manager": DemoUser("maya.goldberg@example.com", "Maya Goldberg"),
    "csm": DemoUser("chloe.nguyen@example.com", "Chloe Nguyen"),
    "viewer": DemoUser("vera.lindqvist@example.com", "Vera Lindqvist"),
}


@dataclass(frozen=True)
class Page:
    """A page to check and to photograph. `path` may name `{account}`: an account the CSM
    (Chloe) owns in the demo book; `{csm}`: Chloe's user id; `{month}`: the last closed month
    (the team pages' default). `role` None: opened signed out."""

    name: str
    path: str
    role: str | None

    def url(self, base: str, book: Book) -> str:
        month = last_closed_month(datetime.now(UTC), "UTC")
        return base + self.path.format(account=book.account_id, csm=book.csm_id, month=month)


# Every page of the app, each with the role that opens it. A new page adds itself here, e.g.
# Page("accounts", "/accounts", "csm") and Page("account", "/accounts/{account}", "csm").
PAGES = (
    Page("login", "/login", None),
    Page("today-csm", "/", "csm"),
    Page("today-manager", "/", "manager"),
    Page("password", "/account/password", "csm"),
    Page("accounts", "/accounts", "csm"),
    Page("account", "/accounts/{account}", "csm"),
    Page("team", "/team", "manager"),
    Page("team-csm", "/team/{csm}", "csm"),
    Page("team-csm-manager", "/team/{csm}", "manager"),
    Page("team-requests", "/team/{csm}/{month}/response_time", "manager"),
    Page("team-accounts", "/team/{csm}/{month}/retention", "manager"),
    Page("team-weeks", "/team/{csm}/{month}/proactivity", "manager"),
    Page("team-days", "/team/{csm}/{month}/crm_hygiene", "manager"),
    Page("team-reviews", "/team/{csm}/{month}/self_awareness", "csm"),
    Page("health-viewer", "/health", "viewer"),
    Page("health-admin", "/health", "admin"),
    Page("revenue", "/revenue", "viewer"),
    Page("revenue-responses", "/revenue/responses", "manager"),
    Page("settings-sla", "/settings/sla", "admin"),
    Page("settings-targets", "/settings/targets", "admin"),
    Page("settings-health", "/settings/health", "admin"),
    Page("settings-backtest", "/settings/health/backtest", "admin"),
    Page("settings-schedules", "/settings/schedules", "admin"),
    Page("settings", "/settings", "admin"),
    Page("settings-users", "/settings/users", "admin"),
    Page("settings-user", "/settings/users/u-chloe", "admin"),
    Page("settings-tokens", "/settings/tokens", "admin"),
    Page("settings-jobs", "/settings/jobs", "admin"),
)


@dataclass(frozen=True)
class Book:
    """The running demo server: where it answers, and ids in its book."""

    base_url: str
    database_url: str
    account_id: str  # an account owned now by the demo CSM (USERS["csm"])
    csm_id: str = ""  # the demo CSM's user id


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def signed_in(page: Any, base_url: str, role: str) -> DemoUser:
    """Sign in through the real form as the demo user of `role`; on `/` when done."""
    user = USERS[role]
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
    return user


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def demo_server(database_url: str, *, workers: int = 1) -> Iterator[Book]:
    """`keepwell serve --demo` on `database_url` (the demo is loaded when it is empty), as a
    subprocess on a free port; stopped on exit."""
    port = free_port()
    keepwell = Path(sys.executable).with_name("keepwell")
    env = {**os.environ, "KEEPWELL_DATABASE_URL": database_url, "KEEPWELL_ENVIRONMENT": "test"}
    with tempfile.TemporaryFile() as log:
        command = [str(keepwell), "serve", "--demo", "--port", str(port)]
        command += ["--workers", str(workers)]
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_healthy(base_url, process, log)
            account = _an_account_of(database_url, "csm")
            yield Book(base_url, database_url, account, _user_id(database_url, "csm"))
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], log: Any) -> None:
    deadline = time.monotonic() + 300  # the demo load takes seconds, longer on a busy CI
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    log.seek(0)
    output = log.read().decode(errors="replace")
    raise RuntimeError(f"keepwell serve did not answer /healthz; its output:\n{output}")


def _user_id(database_url: str, role: str) -> str:
    from sqlalchemy import select

    from keepwell.store.db import make_engine
    from keepwell.store.models import User

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            found = connection.scalar(select(User.id).where(User.email == USERS[role].email))
    finally:
        engine.dispose()
    if found is None:
        raise RuntimeError(f"the demo book has no user {USERS[role].email}")
    return str(found)


def _an_account_of(database_url: str, role: str) -> str:
    from sqlalchemy import select

    from keepwell.store.db import make_engine
    from keepwell.store.models import Account, User

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            owner = select(User.id).where(User.email == USERS[role].email).scalar_subquery()
            query = select(Account.id).where(Account.owner_id == owner).order_by(Account.id)
            account = connection.scalar(query.limit(1))
    finally:
        engine.dispose()
    if account is None:
        raise RuntimeError(f"the demo book has no account owned by {USERS[role].email}")
    return str(account)
