"""The pages of issue 13 §3 through the app: Today, the accounts list, the account page, and
the write forms for every role (issue 13 §2, "Done when")."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from book import load
from keepwell.domain.health import DEFAULT_WEIGHTS
from keepwell.services.users import deactivate, find_user
from keepwell.store.db import transaction
from keepwell.store.models import Activity, HealthRun, HealthSnapshot, Resolve
from people import NOW, csrf_of, sign_in
from writebook import EMAILS

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
FORMS = {
    "resolve": ("/requests/m-1/resolve", {"note": "done"}),
    "escalate": ("/requests/m-1/escalate", {"to": "u-kyle", "reason": "new", "novel": "on"}),
    "next_step": ("/accounts/acme/next-steps", {"text": "Send the plan", "due": "2026-11-27"}),
    "activity": ("/accounts/acme/activities", {"kind": "check_in", "text": "Called"}),
}
ALLOWED = {"admin": True, "manager": False, "csm": True, "other_csm": False, "viewer": False}


def signed_in(client: TestClient, who: str) -> str:
    """Sign in as `who`; the CSRF token of their session."""
    sign_in(client, EMAILS[who])
    return csrf_of(client.get("/accounts/acme").text)


def post(client: TestClient, path: str, fields: dict[str, str], **extra: str) -> int:
    return client.post(path, data={**fields, **extra}, follow_redirects=False).status_code


def count(engine: Engine, model: type) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("who", ALLOWED)
def test_each_role_may_use_the_write_forms_as_the_role_matrix_says(
    app_client: TestClient, form: str, who: str
) -> None:
    path, fields = FORMS[form]
    csrf = signed_in(app_client, who)
    status = post(app_client, path, fields, csrf_token=csrf, idempotency_key="k")
    assert status == (303 if ALLOWED[who] else 403)


@pytest.mark.parametrize("form", FORMS)
def test_a_form_without_a_session_is_sent_to_login(app_client: TestClient, form: str) -> None:
    path, fields = FORMS[form]
    response = app_client.post(path, data=fields, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


@pytest.mark.parametrize("form", FORMS)
def test_a_form_without_its_csrf_token_is_refused(app_client: TestClient, form: str) -> None:
    path, fields = FORMS[form]
    signed_in(app_client, "admin")
    assert post(app_client, path, fields) == 403
    assert post(app_client, path, fields, csrf_token="forged") == 403


def test_a_deactivated_user_is_signed_out_of_the_forms(
    app_client: TestClient, engine: Engine
) -> None:
    csrf = signed_in(app_client, "csm")
    with transaction(engine) as session:
        user = find_user(session, EMAILS["csm"])
        assert user is not None
        deactivate(session, user, NOW)
    response = app_client.post(
        "/accounts/acme/activities", data={"kind": "call", "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert count(engine, Activity) == 0


def test_resolving_from_today_takes_the_request_out_of_the_inbox(
    app_client: TestClient, engine: Engine
) -> None:
    signed_in(app_client, "csm")
    today = app_client.get("/").text
    assert 'id="req-m-1"' in today
    csrf = csrf_of(today)
    fields = {"note": "done", "csrf_token": csrf, "idempotency_key": "k"}
    htmx = app_client.post("/requests/m-1/resolve", data=fields, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and "Resolved" in htmx.text
    again = app_client.post("/requests/m-1/resolve", data=fields, follow_redirects=False)
    assert again.status_code == 303
    assert 'id="req-m-1"' not in app_client.get("/").text
    assert count(engine, Resolve) == 1


def test_a_form_submitted_twice_with_its_key_logs_one_activity(
    app_client: TestClient, engine: Engine
) -> None:
    csrf = signed_in(app_client, "csm")
    fields = {"kind": "call", "csrf_token": csrf, "idempotency_key": "drawn-once"}
    assert post(app_client, "/accounts/acme/activities", fields) == 303
    assert post(app_client, "/accounts/acme/activities", fields) == 303
    assert count(engine, Activity) == 1


def test_bad_form_input_is_refused_with_a_page_naming_the_field(app_client: TestClient) -> None:
    csrf = signed_in(app_client, "csm")
    fields = {"text": "Plan", "due": "next week", "csrf_token": csrf}
    response = app_client.post("/accounts/acme/next-steps", data=fields)
    assert response.status_code == 422 and "due:" in response.text


def _health(engine: Engine, account: str, scores: dict[date, tuple[float, str]]) -> None:
    with transaction(engine) as session:
        for day, (score, band) in scores.items():
            if session.get(HealthRun, day) is None:
                session.add(HealthRun(day=day, weights=dict(DEFAULT_WEIGHTS), accounts=1))
            session.add(HealthSnapshot(account_id=account, day=day, score=score, band=band))


def test_today_lists_the_inbox_and_every_attention_reason(
    app_client: TestClient, engine: Engine
) -> None:
    # acme: red and down 25 points in a week, no next step, no touch, renewal in 25 days;
    # initech: an overdue next step, touched this week, healthy.
    load(
        engine,
        {"type": "account", "id": "acme", "name": "Acme", "country": "US", "owner": "u-ana",
         "started": "2026-01-05", "mrr": 2500, "renewal_date": "2026-12-15"},
        {"type": "account", "id": "initech", "name": "Initech", "owner": "u-ana",
         "started": "2026-03-01"},
        {"type": "next_step", "account": "initech", "at": "2026-11-02T10:00:00Z", "by": "u-ana",
         "text": "Call back", "due": "2026-11-10"},
        {"type": "activity", "id": "a-1", "account": "initech", "at": "2026-11-17T10:00:00Z",
         "by": "u-ana", "kind": "check_in"},
    )  # fmt: skip
    _health(
        engine, "acme", {date(2026, 11, 13): (55.0, "yellow"), date(2026, 11, 20): (30.0, "red")}
    )
    _health(engine, "initech", {date(2026, 11, 20): (80.0, "green")})
    signed_in(app_client, "csm")
    page = app_client.get("/").text
    inbox, attention = page.split('id="attention-h"')
    assert "Acme" in inbox and "waiting for first response" in inbox
    acme = attention.split("Acme</a>:")[1].split("</li>")[0]
    for reason in ("health red", "health down 25 points in 7 days", "no next step",
                   "no proactive touch this week", "renewal on 2026-12-15"):  # fmt: skip
        assert reason in acme
    initech = attention.split("Initech</a>:")[1].split("<a ")[0]
    assert initech.strip() == "next step overdue since 2026-11-10."
    assert "Globex" not in page  # Ben's


def test_logging_a_check_in_takes_away_no_proactive_touch(app_client: TestClient) -> None:
    csrf = signed_in(app_client, "csm")
    assert "no proactive touch this week" in app_client.get("/").text
    fields = {"kind": "check_in", "csrf_token": csrf, "idempotency_key": "k"}
    assert post(app_client, "/accounts/acme/activities", fields) == 303
    assert "no proactive touch this week" not in app_client.get("/").text


def test_a_managers_today_shows_the_teams_breaches_by_csm(app_client: TestClient) -> None:
    signed_in(app_client, "manager")
    page = app_client.get("/").text
    assert "Your team" in page and ">Ana</h3>" in page and ">Ben</h3>" in page
    assert "Breached" in page  # m-1 waited two days for a first response
    assert "Priority inbox" not in page


def test_a_viewers_today_is_a_summary_without_an_inbox(app_client: TestClient) -> None:
    signed_in(app_client, "viewer")
    page = app_client.get("/").text
    assert "Active accounts" in page and "Priority inbox" not in page
    assert 'action="/requests/' not in page


def test_a_script_in_a_message_shows_as_text(app_client: TestClient) -> None:
    signed_in(app_client, "csm")
    for path in ("/", "/accounts/acme"):
        page = app_client.get(path).text
        assert ESCAPED in page and SCRIPT not in page, path


def test_the_account_page_shows_the_timeline_of_a_small_book(app_client: TestClient) -> None:
    csrf = signed_in(app_client, "csm")
    for path, fields in FORMS.values():
        post(app_client, path, fields, csrf_token=csrf, idempotency_key="k")
    page = app_client.get("/accounts/acme").text
    timeline = page.split('id="timeline-h"')[1].split('id="contacts-h"')[0]
    for entry in ("slack message from client", "Request m-1 opened", "Resolved thread t-1",
                  "Escalated thread t-1 to Kyle (novel)", "Check in", "Next step, due 2026-11-27",
                  "Send the plan", "Called"):  # fmt: skip
        assert entry in timeline
    # a client's message names its contact, not the contact's id
    assert "slack message from client</strong> · Joe" in timeline and "c-joe" not in timeline
    history = page.split('id="history-h"')[1]
    assert history.count("Ana") == 4  # who made each of the four writes
    assert "Owner</dt><dd>Ana" in page


def test_the_charts_are_svg_without_script(app_client: TestClient, engine: Engine) -> None:
    _health(
        engine, "acme", {date(2026, 11, 19): (60.0, "yellow"), date(2026, 11, 20): (58.0, "yellow")}
    )
    signed_in(app_client, "viewer")
    page = app_client.get("/accounts/acme").text
    assert (
        'src="/accounts/acme/charts/health.svg"' in page
        and '<th scope="row">2026-11-19</th>' in page
    )
    svg = app_client.get("/accounts/acme/charts/health.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content and b"<script" not in svg.content


def _many(engine: Engine, n: int) -> None:
    load(engine, *(
        {"type": "account", "id": f"acc-{i:03}", "name": f"Account {i:03}", "owner": "u-ana",
         "started": "2026-01-05", "country": "FR", "mrr": i}
        for i in range(n)
    ))  # fmt: skip


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("owner=u-ben", ["Globex"]),
        ("segment=smb", ["Globex"]),
        ("country=de", ["Globex"]),
        ("stage=onboarding", ["Globex"]),
        ("q=glob", ["Globex"]),
        ("q=joe", ["Acme"]),  # a contact's name
        ("q=hans%40globex", ["Globex"]),  # a contact's email
        ("q=globex.example", ["Globex"]),  # an email domain
        ("band=red", ["Acme"]),
    ],
)
def test_the_accounts_list_filters_and_searches(
    app_client: TestClient, engine: Engine, query: str, names: list[str]
) -> None:
    load(engine, {"type": "contact", "id": "c-hans", "account": "globex", "name": "Hans",
                  "email": "hans@globex.example"})  # fmt: skip
    _health(engine, "acme", {date(2026, 11, 20): (30.0, "red")})
    _health(engine, "globex", {date(2026, 11, 20): (90.0, "green")})
    signed_in(app_client, "viewer")
    page = app_client.get(f"/accounts?{query}").text
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    assert [name for name in ("Acme", "Globex") if f">{name}</a>" in rows] == names


def test_the_accounts_list_sorts_and_pages_with_links(
    app_client: TestClient, engine: Engine
) -> None:
    _many(engine, 60)  # 62 accounts in all: two pages of 50
    signed_in(app_client, "viewer")
    first = app_client.get("/accounts?country=FR&sort=mrr&order=desc").text
    assert "60 accounts, page 1 of 2" in first
    assert first.index("Account 059") < first.index("Account 058")
    assert 'href="/accounts?country=FR&amp;sort=mrr&amp;order=desc&amp;page=2"' in first
    second = app_client.get("/accounts?country=FR&sort=mrr&order=desc&page=2").text
    rows = second.split("<tbody>")[1]
    assert "Account 009" in rows and "Account 010" not in rows and "Previous page" in second


def test_an_unknown_account_is_a_page_saying_so(app_client: TestClient) -> None:
    signed_in(app_client, "viewer")
    response = app_client.get("/accounts/nope")
    assert response.status_code == 404 and "no account &#39;nope&#39;" in response.text
    assert 'href="/accounts"' in response.text


@pytest.mark.parametrize("form", FORMS)
def test_a_page_form_refused_for_its_csrf_token_gets_an_html_page_not_json(
    app_client: TestClient, form: str
) -> None:
    path, fields = FORMS[form]
    signed_in(app_client, "csm")
    response = app_client.post(path, data={**fields, "csrf_token": "forged"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert '<p class="alert" role="alert">csrf_token: missing' in response.text
    assert '<header class="bar">' in response.text  # the layout: a page, not a fragment


def test_the_api_refuses_a_missing_csrf_token_with_json_still(app_client: TestClient) -> None:
    signed_in(app_client, "csm")
    response = app_client.post("/api/accounts/acme/activities", json={"kind": "call"})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"


def test_htmx_gets_a_refusal_at_the_field_it_names_or_at_the_form(
    app_client: TestClient,
) -> None:
    csrf = signed_in(app_client, "csm")
    htmx = {"HX-Request": "true"}
    fields = {"text": "Plan", "due": "next week", "form_id": "next-step", "csrf_token": csrf}
    bad_day = app_client.post("/accounts/acme/next-steps", data=fields, headers=htmx)
    assert bad_day.status_code == 422
    assert bad_day.headers["hx-retarget"] == "#next-step-due-error"
    assert bad_day.headers["hx-reswap"] == "innerHTML"
    assert bad_day.text == '<span class="refused" role="alert">due: a date, YYYY-MM-DD</span>'
    forged = {**fields, "due": "2026-12-01", "csrf_token": "forged"}
    refused = app_client.post("/accounts/acme/next-steps", data=forged, headers=htmx)
    assert refused.status_code == 403 and refused.headers["hx-retarget"] == "#next-step-error"
    theirs = {"kind": "call", "form_id": "log-activity", "csrf_token": csrf}
    not_mine = app_client.post("/accounts/globex/activities", data=theirs, headers=htmx)
    assert not_mine.status_code == 403 and not_mine.headers["hx-retarget"] == "#log-activity-error"
    assert "may not" in not_mine.text


def test_the_mrr_chart_shows_an_account_without_changes_as_its_flat_mrr(
    app_client: TestClient,
) -> None:
    signed_in(app_client, "viewer")
    page = app_client.get("/accounts/globex").text
    assert 'src="/accounts/globex/charts/mrr.svg"' in page
    assert "No MRR changes since 2026-02-01: 900.00 EUR throughout." in page
    svg = app_client.get("/accounts/globex/charts/mrr.svg").content
    assert b"2026-02-01" in svg and NOW.date().isoformat().encode() in svg
