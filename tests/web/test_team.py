"""The team pages and the reviews API (issue 14 §1): who may read which scorecard and which
reviews, who may write which review, and what a review does to self-awareness."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select

from keepwell.domain.scorecard import RATED_METRICS
from keepwell.store.db import transaction
from keepwell.store.models import AuditEntry, Review
from people import MakeToken, bearer, csrf_of, ensure_user, sign_in
from writebook import EMAILS

MONTH = "2026-10"
AS_OF = "2026-11-05T12:00:00Z"
ALL_GREEN = dict.fromkeys(RATED_METRICS, "green")
OTHER_MANAGER = "nora@example.com"  # a manager nobody reports to


def put_review(
    client: TestClient, token: str, csm: str = "u-ana", ratings: object = None, **extra: object
) -> Response:
    body = {"ratings": ALL_GREEN if ratings is None else ratings, **extra}
    return client.put(f"/api/reviews/{csm}/{MONTH}", json=body, headers=bearer(token))


def reviews(engine: Engine) -> list[tuple[str, str, str, dict[str, str]]]:
    with transaction(engine) as session:
        rows = session.scalars(select(Review).order_by(Review.reviewer_id)).all()
        return [(r.csm_id, r.month, r.reviewer_id, dict(r.ratings)) for r in rows]


def audit_entries(engine: Engine) -> list[tuple[str | None, str]]:
    with transaction(engine) as session:
        query = select(AuditEntry).where(AuditEntry.subject.like("review:%"))
        return [(e.by_id, e.action) for e in session.scalars(query.order_by(AuditEntry.id))]


# -- reading


def test_a_csm_cannot_read_another_csms_scorecard_or_reviews(
    app_client: TestClient, token_for: MakeToken
) -> None:
    sign_in(app_client, EMAILS["csm"])  # Ana
    assert app_client.get("/team/u-ben").status_code == 403
    assert app_client.get(f"/team/u-ben/{MONTH}/retention").status_code == 403
    assert app_client.get(f"/team/u-ben/{MONTH}/self_awareness").status_code == 403
    assert app_client.get("/team/u-ben/charts/totals.svg").status_code == 403
    headers = bearer(token_for("csm", email=EMAILS["csm"]))
    assert app_client.get(f"/api/reviews/u-ben/{MONTH}", headers=headers).status_code == 403
    other = app_client.get("/api/scorecards", params={"month": MONTH, "csm": "u-ben"},
                           headers=headers)  # fmt: skip
    assert other.status_code == 403


def test_a_csm_reads_their_own_page_and_is_sent_there_from_team(app_client: TestClient) -> None:
    sign_in(app_client, EMAILS["csm"])
    assert app_client.get(f"/team/u-ana?month={MONTH}").status_code == 200
    assert app_client.get(f"/team/u-ana/{MONTH}/retention?as_of={AS_OF}").status_code == 200
    answer = app_client.get("/team", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/team/u-ana")
    nav = app_client.get("/").text
    assert 'href="/team/u-ana">My scorecard' in nav and 'href="/team">Team' not in nav


def test_a_viewer_gets_403_on_every_scorecard(app_client: TestClient, token_for: MakeToken) -> None:
    sign_in(app_client, EMAILS["viewer"])
    for path in ("/team", "/team/u-ana", f"/team/u-ana/{MONTH}/retention"):
        assert app_client.get(path).status_code == 403, path
    assert 'href="/team"' not in app_client.get("/").text
    headers = bearer(token_for("viewer"))
    assert app_client.get("/api/scorecards", params={"month": MONTH},
                          headers=headers).status_code == 403  # fmt: skip
    assert app_client.get("/api/scorecards/u-ana/history", headers=headers).status_code == 403
    assert app_client.get(f"/api/reviews/u-ana/{MONTH}", headers=headers).status_code == 403
    assert put_review(app_client, token_for("viewer")).status_code == 403


def test_a_manager_sees_every_csm_on_team_and_opens_only_their_own_csms_pages(
    app_client: TestClient, engine: Engine
) -> None:
    ensure_user(engine, OTHER_MANAGER, "manager")
    sign_in(app_client, OTHER_MANAGER)
    team = app_client.get(f"/team?month={MONTH}&as_of={AS_OF}")
    assert team.status_code == 200
    assert set(re.findall(r'<tr data-csm="([^"]+)"', team.text)) == {"u-ana", "u-ben"}
    assert app_client.get(f"/team/u-ana/{MONTH}/retention?as_of={AS_OF}").status_code == 200
    assert app_client.get("/team/u-ana").status_code == 403
    assert app_client.get(f"/team/u-ana/{MONTH}/self_awareness").status_code == 403
    app_client.cookies.clear()
    sign_in(app_client, EMAILS["manager"])  # Kyle, whom Ana and Ben report to
    assert app_client.get(f"/team/u-ana?month={MONTH}").status_code == 200
    assert 'href="/team">Team' in app_client.get("/").text


def test_a_bad_month_is_named_at_the_month_field(app_client: TestClient) -> None:
    sign_in(app_client, EMAILS["manager"])
    answer = app_client.get("/team?month=2026-13")
    assert answer.status_code == 422
    assert 'id="month-error"' in answer.text and "2026-13" in answer.text


# -- writing


def test_a_csm_cannot_write_a_manager_review(
    app_client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    token = token_for("csm", email=EMAILS["csm"])
    assert put_review(app_client, token, "u-ben").status_code == 403
    sign_in(app_client, EMAILS["csm"])
    csrf = csrf_of(app_client.get("/team/u-ana").text)
    answer = app_client.post(
        f"/team/u-ana/{MONTH}/reviews",
        data={"csrf_token": csrf, "kind": "manager", "rating_retention": "red"},
    )
    assert answer.status_code == 403
    assert reviews(engine) == []


def test_a_manager_cannot_review_a_csm_outside_their_team(
    app_client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    token = token_for("manager", email=OTHER_MANAGER)
    answer = put_review(app_client, token)
    assert answer.status_code == 403
    assert reviews(engine) == []


def test_a_csm_writes_their_self_review_and_the_same_put_twice_leaves_one(
    app_client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    token = token_for("csm", email=EMAILS["csm"])
    first = put_review(app_client, token, comment="A good month")
    again = put_review(app_client, token, comment="A good month")
    assert first.status_code == again.status_code == 200
    assert again.json() == {
        "csm": "u-ana", "month": MONTH, "reviewer": "u-ana", "kind": "self",
        "ratings": ALL_GREEN, "comment": "A good month",
    }  # fmt: skip
    assert reviews(engine) == [("u-ana", MONTH, "u-ana", ALL_GREEN)]
    assert audit_entries(engine) == [("u-ana", "self_review")]


def test_a_bad_rating_is_a_422_naming_ratings(
    app_client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    token = token_for("csm", email=EMAILS["csm"])
    answer = put_review(app_client, token, ratings={"retention": "blue"})
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["body", "ratings"]
    assert "'blue' is not green, yellow or red" in error["msg"]
    unknown = put_review(app_client, token, ratings={"happiness": "green"})
    assert "unknown metric 'happiness'" in unknown.json()["detail"][0]["msg"]
    empty = put_review(app_client, token, ratings={})
    assert empty.json()["detail"][0]["loc"] == ["body", "ratings"]
    assert reviews(engine) == []


def test_a_bad_rating_on_the_page_is_shown_at_the_ratings(app_client: TestClient) -> None:
    sign_in(app_client, EMAILS["csm"])
    csrf = csrf_of(app_client.get("/team/u-ana").text)
    answer = app_client.post(
        f"/team/u-ana/{MONTH}/reviews",
        data={"csrf_token": csrf, "kind": "self", "rating_retention": "blue"},
    )
    assert answer.status_code == 422
    assert 'id="self-ratings-error"' in answer.text
    assert "retention: &#39;blue&#39; is not green, yellow or red" in answer.text


def test_both_reviews_make_self_awareness_and_each_sees_the_other_after_their_own(
    app_client: TestClient, token_for: MakeToken
) -> None:
    ana, kyle = token_for("csm", email=EMAILS["csm"]), token_for("manager", email=EMAILS["manager"])
    assert (
        put_review(app_client, kyle, ratings={**ALL_GREEN, "proactivity": "red"}).status_code == 200
    )
    hidden = app_client.get(f"/api/reviews/u-ana/{MONTH}", headers=bearer(ana)).json()
    assert hidden["manager_review"] is None  # Ana has not rated herself yet
    card = app_client.get("/api/scorecards", params={"month": MONTH, "as_of": AS_OF},
                          headers=bearer(ana)).json()["scorecards"][0]  # fmt: skip
    assert card["metrics"]["self_awareness"]["value"] is None
    assert put_review(app_client, ana).status_code == 200
    both = app_client.get(f"/api/reviews/u-ana/{MONTH}", headers=bearer(ana)).json()
    assert both["manager_review"]["reviewer"] == "u-kyle"
    card = app_client.get("/api/scorecards", params={"month": MONTH, "as_of": AS_OF},
                          headers=bearer(ana)).json()["scorecards"][0]  # fmt: skip
    alignment = float(1 - Fraction(10, 94))  # proactivity 10 points apart, of 94 rated
    assert card["metrics"]["self_awareness"] == {
        "value": alignment, "band": "green", "points": 6.0, "max": 6, "n": 7
    }  # fmt: skip
    sign_in(app_client, EMAILS["csm"])
    page = app_client.get(f"/team/u-ana?month={MONTH}&as_of={AS_OF}").text
    assert f'class="self-awareness" data-value=\'{alignment!r}\' data-band="green"' in page


def test_an_admin_writes_the_manager_review_in_the_managers_place(
    app_client: TestClient, token_for: MakeToken, engine: Engine
) -> None:
    answer = put_review(app_client, token_for("admin"))
    assert answer.status_code == 200
    assert answer.json()["kind"] == "manager"
    assert reviews(engine) == [("u-ana", MONTH, "u-kyle", ALL_GREEN)]
    ((by, action),) = audit_entries(engine)
    assert action == "manager_review" and by != "u-kyle"


def test_a_review_of_someone_who_is_no_csm_is_404(
    app_client: TestClient, token_for: MakeToken
) -> None:
    assert put_review(app_client, token_for("admin"), "u-kyle").status_code == 404


@pytest.mark.parametrize("who", ["csm", "manager"])
def test_the_review_form_writes_through_the_page(
    app_client: TestClient, engine: Engine, who: str
) -> None:
    sign_in(app_client, EMAILS[who])
    csrf = csrf_of(app_client.get(f"/team/u-ana?month={MONTH}").text)
    kind = "self" if who == "csm" else "manager"
    answer = app_client.post(
        f"/team/u-ana/{MONTH}/reviews",
        data={"csrf_token": csrf, "kind": kind, "rating_retention": "yellow", "comment": "<b>"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/team/u-ana?month={MONTH}#reviews"
    reviewer = "u-ana" if who == "csm" else "u-kyle"
    assert reviews(engine) == [("u-ana", MONTH, reviewer, {"retention": "yellow"})]
    page = app_client.get(f"/team/u-ana?month={MONTH}").text
    assert "&lt;b&gt;" in page and "<b>" not in page


def test_the_twelve_months_chart_is_an_svg_of_the_pages_own_figures(
    app_client: TestClient,
) -> None:
    sign_in(app_client, EMAILS["manager"])
    page = app_client.get(f"/team/u-ana?month={MONTH}&as_of={AS_OF}").text
    source = re.search(r'<img src="(/team/u-ana/charts/totals\.svg\?[^"]+)"', page)
    assert source is not None
    chart = app_client.get(source.group(1).replace("&amp;", "&"))
    assert chart.status_code == 200
    assert chart.headers["content-type"] == "image/svg+xml"
    assert b"<script" not in chart.content
    assert f"{MONTH} ".encode() in chart.content  # each month labelled with its band
    months = re.findall(r'<tr data-month="([^"]+)">', page)
    assert months[0] == MONTH and len(months) <= 12
