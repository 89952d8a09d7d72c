"""Signing in and out of the pages, CSRF, the throttle and the security headers (issue 13
§1, §4), through the real app."""

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from keepwell.services.users import deactivate, find_user
from keepwell.store.db import transaction
from keepwell.store.models import User
from keepwell.web.app import create_app
from people import NOW, PASSWORD, csrf_of, ensure_user, sign_in

EMAIL = "ana@example.com"


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    ensure_user(engine, EMAIL, "csm", "u-ana")
    with TestClient(create_app(engine)) as client:
        yield client


def post_login(client: TestClient, password: str, csrf: str | None = None) -> httpx.Response:
    token = csrf if csrf is not None else csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": EMAIL, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_a_signed_out_visitor_is_sent_to_login(client: TestClient) -> None:
    for path in ("/", "/account/password"):
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/app.css").status_code == 200


def test_it_signs_in_to_the_start_page_with_the_users_name_and_role(client: TestClient) -> None:
    response = post_login(client, PASSWORD)
    assert (response.status_code, response.headers["location"]) == (303, "/")
    cookie = response.headers["set-cookie"]
    assert "keepwell_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; HTTPS sets it
    page = client.get("/")
    assert page.status_code == 200
    assert "Ana" in page.text and "csm" in page.text and 'href="/docs"' in page.text


def test_the_session_cookie_is_secure_over_https(engine: Engine) -> None:
    ensure_user(engine, EMAIL, "csm", "u-ana")
    with TestClient(create_app(engine), base_url="https://keepwell.test") as client:
        response = post_login(client, PASSWORD)
    assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_password_shows_the_form_again_with_an_error(client: TestClient) -> None:
    response = post_login(client, "not the password")
    assert response.status_code == 200
    assert "Wrong email or password" in response.text
    assert "keepwell_session" not in response.headers.get("set-cookie", "")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_sixth_try_is_throttled_even_with_the_right_password(client: TestClient) -> None:
    for _ in range(5):
        assert post_login(client, "not the password").status_code == 200
    response = post_login(client, PASSWORD)
    assert response.status_code == 429
    assert "Try again after" in response.text
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    assert client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("csrf", ["", "forged-token"])
def test_a_login_without_a_valid_csrf_token_is_refused(client: TestClient, csrf: str) -> None:
    client.get("/login")
    assert post_login(client, PASSWORD, csrf=csrf).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_login_form_from_another_browser_is_refused(client: TestClient, engine: Engine) -> None:
    with TestClient(create_app(engine)) as other:
        foreign = csrf_of(other.get("/login").text)
    client.get("/login")
    assert post_login(client, PASSWORD, csrf=foreign).status_code == 403


def test_sign_out_ends_the_session_even_for_a_copied_cookie(client: TestClient) -> None:
    sign_in(client, EMAIL)
    copied = dict(client.cookies)
    token = csrf_of(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    client.cookies.update(copied)
    assert client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("data", [{}, {"csrf_token": "forged"}])
def test_a_signed_in_form_without_its_csrf_token_is_refused(
    client: TestClient, data: dict[str, str]
) -> None:
    sign_in(client, EMAIL)
    assert client.post("/logout", data=data).status_code == 403
    assert client.get("/").status_code == 200  # still signed in


def test_a_csrf_token_of_another_session_is_refused(client: TestClient, engine: Engine) -> None:
    sign_in(client, EMAIL)
    with TestClient(create_app(engine)) as other:
        sign_in(other, EMAIL)
        theirs = csrf_of(other.get("/").text)
    assert client.post("/logout", data={"csrf_token": theirs}).status_code == 403


def test_it_changes_the_password_when_the_old_one_is_given(client: TestClient) -> None:
    sign_in(client, EMAIL)
    token = csrf_of(client.get("/account/password").text)
    form = {
        "csrf_token": token,
        "new_password": "a new password",
        "confirm_password": "a new password",
    }
    wrong = client.post("/account/password", data={**form, "old_password": "a guess!"})
    assert wrong.status_code == 422 and "not your current password" in wrong.text
    right = client.post("/account/password", data={**form, "old_password": PASSWORD})
    assert right.status_code == 200 and "Your password is changed" in right.text
    client.cookies.clear()
    assert post_login(client, "a new password").status_code == 303


def test_deactivation_signs_a_browser_out_at_once(client: TestClient, engine: Engine) -> None:
    sign_in(client, EMAIL)
    assert client.get("/").status_code == 200
    with transaction(engine) as session:
        user = find_user(session, EMAIL)
        assert user is not None
        deactivate(session, user, NOW)
    assert client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/login", "/", "/api/accounts", "/healthz", "/docs"])
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    sign_in(client, EMAIL)
    headers = client.get(path).headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


def test_the_pages_have_no_inline_script(client: TestClient) -> None:
    sign_in(client, EMAIL)
    for path in ("/", "/account/password"):
        assert "<script>" not in client.get(path).text
    client.cookies.clear()
    assert "<script>" not in client.get("/login").text


def test_no_answer_shows_a_password_hash(client: TestClient, engine: Engine) -> None:
    with transaction(engine) as session:
        hashes = session.scalars(select(User.password_hash)).all()
    sign_in(client, EMAIL)
    paths = ("/", "/account/password", "/api/users", "/api/users/u-ana", "/openapi.json")
    pages = [client.get(path).text for path in paths]
    for hashed in hashes:
        assert hashed and all(hashed not in page for page in pages)
    assert all("argon2" not in page for page in pages)
