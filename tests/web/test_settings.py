"""The admin's settings pages (issue 14 §4, §5): people, API tokens, jobs. Only an admin
opens or posts them; every form needs its CSRF token; errors are named at their field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from keepwell.config import get_settings
from keepwell.services import deliveries, jobs, slack
from keepwell.services.audit import history
from keepwell.store.db import transaction
from keepwell.store.models import Delivery, Destination, Message, User
from keepwell.web.jobs import get_jobs
from keepwell.web.pages.jobs import PER_PAGE
from people import NOW, PASSWORD, csrf_of, sign_in
from slackbook import body_of, drain, envelope, message
from writebook import EMAILS

PAGES = ["/settings", "/settings/users", "/settings/users/u-ana", "/settings/tokens",
         "/settings/jobs"]  # fmt: skip
FORMS = {
    "add user": ("/settings/users", {"email": "new@example.com", "name": "New", "role": "csm",
                                     "timezone": "UTC", "password": PASSWORD,
                                     "confirm_password": PASSWORD}),
    "change user": ("/settings/users/u-ana", {"role": "manager", "manager_id": ""}),
    "deactivate": ("/settings/users/u-ana/deactivate", {}),
    "reactivate": ("/settings/users/u-ana/reactivate", {}),
    "create token": ("/settings/tokens", {"user_id": "u-ana", "label": "ci"}),
    "revoke token": ("/settings/tokens/1/revoke", {}),
    "replay": ("/settings/jobs/deliveries/1/replay", {}),
    "enable": ("/settings/jobs/destinations/enable", {"channel": "slack", "address": "*"}),
}  # fmt: skip
NEW = {"email": "nina@example.com", "name": "Nina Park", "role": "csm", "manager_id": "u-kyle",
       "timezone": "Europe/Berlin", "password": "a good password",
       "confirm_password": "a good password"}  # fmt: skip


def admin(client: TestClient) -> str:
    sign_in(client, EMAILS["admin"])
    return csrf_of(client.get("/settings/users").text)


def post(client: TestClient, path: str, fields: dict[str, str], csrf: str | None) -> httpx.Response:
    data = {**fields, **({"csrf_token": csrf} if csrf else {})}
    return client.post(path, data=data, follow_redirects=False)


def error_at(html: str, field: str) -> str:
    """The message shown at a form field (its aria-describedby target)."""
    assert f'aria-describedby="{field}-error"' in html, f"no error at {field}"
    match = re.search(rf'<p id="{field}-error" class="field-error"[^>]*>([^<]*)</p>', html)
    assert match, f"no message for {field}"
    return match.group(1)


@pytest.mark.parametrize("who", ["manager", "csm", "viewer"])
def test_only_an_admin_opens_the_settings_pages(app_client: TestClient, who: str) -> None:
    sign_in(app_client, EMAILS[who])
    for path in PAGES:
        response = app_client.get(path)
        assert response.status_code == 403, path
        assert "may not open this page" in response.text
    assert 'href="/settings"' not in app_client.get("/").text


@pytest.mark.parametrize("who", ["manager", "csm", "viewer"])
@pytest.mark.parametrize("form", FORMS)
def test_only_an_admin_posts_the_settings_forms(
    app_client: TestClient, engine: Engine, who: str, form: str
) -> None:
    sign_in(app_client, EMAILS[who])
    csrf = csrf_of(app_client.get("/account/password").text)
    path, fields = FORMS[form]
    response = post(app_client, path, fields, csrf)
    assert response.status_code == 403
    with transaction(engine) as session:
        assert session.scalar(select(User).where(User.email == "new@example.com")) is None
        assert session.get_one(User, "u-ana").role == "csm"


def test_an_admin_opens_every_settings_page_and_finds_it_in_the_nav(
    app_client: TestClient,
) -> None:
    admin(app_client)
    for path in PAGES:
        assert app_client.get(path).status_code == 200, path
    index = app_client.get("/settings").text
    assert 'href="/settings"' in app_client.get("/").text
    for href in ("/settings/users", "/settings/tokens", "/settings/jobs"):
        assert f'href="{href}"' in index


@pytest.mark.parametrize("form", FORMS)
def test_a_settings_form_without_its_csrf_token_is_refused(
    app_client: TestClient, form: str
) -> None:
    admin(app_client)
    path, fields = FORMS[form]
    assert post(app_client, path, fields, None).status_code == 403
    assert post(app_client, path, fields, "forged").status_code == 403


def test_an_admin_adds_a_user_who_then_signs_in(app_client: TestClient, engine: Engine) -> None:
    csrf = admin(app_client)
    response = post(app_client, "/settings/users", NEW, csrf)
    assert response.status_code == 303
    page = app_client.get(response.headers["location"]).text
    assert "Nina Park is added" in page
    with transaction(engine) as session:
        nina = session.scalars(select(User).where(User.email == "nina@example.com")).one()
        assert (nina.role, nina.manager_id, nina.timezone) == ("csm", "u-kyle", "Europe/Berlin")
        (entry,) = history(session, f"user:{nina.id}")
        assert (entry.action, entry.by_id) == ("user.add", "u-admin")
    assert "user.add" in page  # the short history
    other = TestClient(app_client.app)
    sign_in(other, "nina@example.com", "a good password")
    assert "Nina Park" in other.get("/").text


@pytest.mark.parametrize(
    ("changes", "field", "said"),
    [
        ({"email": "not an email"}, "email", "Not an email address"),
        ({"email": "ANA@example.com"}, "email", "A user with ana@example.com exists already"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
        ({"manager_id": "u-ana"}, "manager_id", "Ana is a csm, not a manager or admin"),
        ({"name": "  "}, "name", "Must not be empty"),
        ({"role": "owner"}, "role", "Unknown role"),
        ({"password": "short", "confirm_password": "short"}, "password", "At least 8"),
        ({"confirm_password": "another password"}, "confirm_password", "The two passwords differ"),
    ],
)
def test_adding_a_user_names_the_field_in_error(
    app_client: TestClient, engine: Engine, changes: dict[str, str], field: str, said: str
) -> None:
    csrf = admin(app_client)
    response = post(app_client, "/settings/users", {**NEW, **changes}, csrf)
    assert response.status_code == 422
    assert said in error_at(response.text, field)
    assert "a good password" not in response.text
    with transaction(engine) as session:
        assert session.scalar(select(User).where(User.email == "nina@example.com")) is None


def test_an_admin_changes_a_role_and_manager_and_the_page_shows_the_change(
    app_client: TestClient, engine: Engine
) -> None:
    csrf = admin(app_client)
    response = post(app_client, "/settings/users/u-ben",
                    {"role": "manager", "manager_id": "u-admin"}, csrf)  # fmt: skip
    assert response.status_code == 303
    page = app_client.get("/settings/users/u-ben").text
    assert "role: csm → manager" in page and "manager_id: u-kyle → u-admin" in page
    with transaction(engine) as session:
        ben = session.get_one(User, "u-ben")
        assert (ben.role, ben.manager_id) == ("manager", "u-admin")
        (entry,) = [e for e in history(session, "user:u-ben") if e.action == "user.change"]
        assert entry.before and entry.before["role"] == "csm"


@pytest.mark.parametrize(
    ("path", "fields", "field", "said"),
    [
        ("/settings/users/u-ben", {"role": "csm", "manager_id": "u-ana"}, "manager_id",
         "Ana is a csm, not a manager or admin"),
        ("/settings/users/u-ben", {"role": "csm", "manager_id": "u-ben"}, "manager_id",
         "Nobody manages themself"),
        ("/settings/users/u-kyle", {"role": "csm", "manager_id": ""}, "role",
         "manages 2 people"),
        ("/settings/users/u-admin", {"role": "csm", "manager_id": ""}, "role",
         "You cannot change your own role"),
        ("/settings/users/u-admin/deactivate", {}, "active", "You cannot deactivate yourself"),
    ],
)  # fmt: skip
def test_a_refused_change_is_named_at_its_field(
    app_client: TestClient, path: str, fields: dict[str, str], field: str, said: str
) -> None:
    csrf = admin(app_client)
    response = post(app_client, path, fields, csrf)
    assert response.status_code == 422
    html = response.text
    if field == "active":
        assert re.search(rf'id="active-error"[^>]*>[^<]*{said}', html)
    else:
        assert said in error_at(html, field)


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in_until_reactivated(
    app_client: TestClient, engine: Engine
) -> None:
    ana = TestClient(app_client.app)
    sign_in(ana, EMAILS["csm"])
    assert ana.get("/", follow_redirects=False).status_code == 200
    csrf = admin(app_client)
    done = post(app_client, "/settings/users/u-ana/deactivate", {}, csrf)
    assert done.status_code == 303
    assert "deactivated" in app_client.get(done.headers["location"]).text
    gone = ana.get("/", follow_redirects=False)
    assert (gone.status_code, gone.headers["location"]) == (303, "/login")
    login = ana.post("/login", data={"email": EMAILS["csm"], "password": PASSWORD,
                                     "csrf_token": csrf_of(ana.get("/login").text)},
                     follow_redirects=False)  # fmt: skip
    assert "Wrong email or password." in login.text
    with transaction(engine) as session:  # their history stays
        assert session.get_one(User, "u-ana").active is False
    assert post(app_client, "/settings/users/u-ana/reactivate", {}, csrf).status_code == 303
    sign_in(ana, EMAILS["csm"])
    assert ana.get("/", follow_redirects=False).status_code == 200


def test_a_token_is_shown_once_and_works_as_a_bearer_on_the_api(app_client: TestClient) -> None:
    csrf = admin(app_client)
    created = post(app_client, "/settings/tokens", {"user_id": "u-ana", "label": "ci"}, csrf)
    html = created.text
    assert created.status_code == 200
    match = re.search(r'<code id="secret"[^>]*>(kw_[^<]+)</code>', html)
    assert match and "shown only this once" in html
    secret = match.group(1)
    api = TestClient(app_client.app)
    answer = api.get("/api/accounts", headers={"authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    listing = app_client.get("/settings/tokens").text
    assert secret not in listing and "ci" in listing and "token.create" in listing
    [token_id] = re.findall(r'action="/settings/tokens/(\d+)/revoke"', listing)
    assert post(app_client, f"/settings/tokens/{token_id}/revoke", {}, csrf).status_code == 303
    refused = api.get("/api/accounts", headers={"authorization": f"Bearer {secret}"})
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("fields", "field", "said"),
    [
        ({"user_id": "", "label": "x"}, "user_id", "Choose the user"),
        ({"user_id": "u-ana", "label": "x" * 201}, "label", "At most 200 characters"),
    ],
)
def test_a_refused_token_is_named_at_its_field(
    app_client: TestClient, fields: dict[str, str], field: str, said: str
) -> None:
    csrf = admin(app_client)
    response = post(app_client, "/settings/tokens", fields, csrf)
    assert response.status_code == 422
    assert said in error_at(response.text, field)
    assert "kw_" not in response.text


@pytest.fixture
def jobs_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("KEEPWELL_JOBS_PATH", str(tmp_path / "jobs.db"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_replaying_a_dead_delivery_applies_it(
    jobs_path: None, app_client: TestClient, engine: Engine
) -> None:
    slack.map_channel(engine, "C0ACME", "acme", NOW)
    event = message("1712346000.000100", "U0STRANGER", "Is the export fixed?", channel="C0ACME")
    body = body_of(envelope(event, "Ev0DEAD")).decode()
    stored = deliveries.receive(engine, "slack", "Ev0DEAD", body, NOW, scope="C0ACME")
    with transaction(engine) as session:
        dead = session.get_one(Delivery, stored.id)
        dead.state, dead.attempts, dead.error = "dead", 5, "RuntimeError: the database was away"
    csrf = admin(app_client)
    page = app_client.get("/settings/jobs").text
    assert "the database was away" in page and f"Replay delivery {stored.id}" in page
    response = post(app_client, f"/settings/jobs/deliveries/{stored.id}/replay", {}, csrf)
    assert response.status_code == 303
    assert drain(get_jobs(app_client.app).huey) >= 1  # type: ignore[arg-type]
    with transaction(engine) as session:
        assert session.get_one(Delivery, stored.id).state == "applied"
        said = session.get(Message, "slack:C0ACME:1712346000.000100")
        assert said is not None and said.account_id == "acme"
        (entry,) = history(session, f"delivery:{stored.id}")
        assert entry.before and entry.before["state"] == "dead"
    assert "the database was away" not in app_client.get("/settings/jobs").text


def test_the_jobs_page_lists_recent_jobs_with_their_state_duration_and_error_by_pages(
    app_client: TestClient, engine: Engine
) -> None:
    for n in range(PER_PAGE + 1):
        start = NOW + timedelta(minutes=n)
        jobs.record(engine, f"job-{n}", "health_recompute", None, jobs.RUNNING, start)
        jobs.record(engine, f"job-{n}", "health_recompute", None, jobs.DONE,
                    start + timedelta(seconds=2.5))  # fmt: skip
    jobs.record(engine, "boom", "poll_mail", None, jobs.RUNNING, NOW + timedelta(hours=2))
    jobs.record(engine, "boom", "poll_mail", None, jobs.FAILED, NOW + timedelta(hours=2, seconds=1),
                "ConnectionRefusedError: IMAP is down")  # fmt: skip
    admin(app_client)
    first = app_client.get("/settings/jobs").text
    assert "ConnectionRefusedError: IMAP is down" in first and "state-failed" in first
    assert "2.5 s" in first and "page 1 of 2" in first and 'href="/settings/jobs?page=2"' in first
    second = app_client.get("/settings/jobs?page=2").text
    assert second.count("health_recompute") == 2 and "IMAP is down" not in second


def test_the_jobs_page_lists_what_waits_and_enables_a_disabled_destination(
    app_client: TestClient, engine: Engine
) -> None:
    held = body_of(envelope(message("1712346000.000200", channel="C0HELD"), "Ev0HELD")).decode()
    deliveries.receive(engine, "slack", "Ev0HELD", held, NOW, scope="C0HELD")
    with transaction(engine) as session:
        session.query(Delivery).update({"state": "held"})
        session.add(Destination(channel="slack", address="*", disabled_at=NOW,
                                reason="invalid_auth: the bot token was revoked"))  # fmt: skip
    csrf = admin(app_client)
    page = app_client.get("/settings/jobs").text
    assert "C0HELD</code>: 1 event held" in page
    assert "invalid_auth: the bot token was revoked" in page
    response = post(app_client, "/settings/jobs/destinations/enable",
                    {"channel": "slack", "address": "*"}, csrf)  # fmt: skip
    assert response.status_code == 303
    with transaction(engine) as session:
        assert session.scalar(select(Destination)) is None
        (entry,) = history(session, "destination:slack:*")
        assert entry.by_id == "u-admin"
    again = post(app_client, "/settings/jobs/destinations/enable",
                 {"channel": "slack", "address": "*"}, csrf)  # fmt: skip
    assert again.status_code == 404


@pytest.mark.parametrize("path", PAGES)
def test_a_signed_out_visitor_of_a_settings_page_is_sent_to_login(
    app_client: TestClient, path: str
) -> None:
    response = app_client.get(path, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")
