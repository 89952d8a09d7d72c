from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select

from book import ACCOUNT, BASICS, CONTACT, CSM, MANAGER, SCHEDULE, load, message
from keepwell.services.health import (
    FutureDay,
    OverrideRefused,
    account_health,
    add_override,
    backtest_report,
    days_to_score,
    recompute_health,
    recompute_health_days,
)
from keepwell.store.db import transaction
from keepwell.store.models import HealthOverride, HealthSnapshot

# The day after the snapshot of 2026-10-08 (its end is 2026-10-09 00:00 UTC), mid-morning.
NEXT_MORNING = datetime(2026, 10, 9, 9, tzinfo=UTC)

SURVEY = {"type": "survey", "id": "s-1", "account": "acme", "contact": "c-joe",
          "at": "2026-10-01T12:00:00Z", "kind": "nps", "score": 3}  # fmt: skip


def test_it_keeps_a_daily_snapshot_with_every_measure(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        SURVEY,
        message("m-1", "t-1", "2026-10-05T13:00:00Z"),  # Mon 09:00 NY, never answered
        message("m-2", "t-2", "2026-10-05T14:00:00Z"),
        message("m-3", "t-2", "2026-10-05T14:10:00Z", "outbound"),  # answered in 10 min
    )
    with transaction(engine) as session:
        summary = recompute_health(session, date(2026, 10, 8))
        (snapshot,) = session.scalars(select(HealthSnapshot)).all()
        shown = account_health(session, "acme", NEXT_MORNING)
    assert summary.accounts == 1
    assert snapshot.responsiveness == 50.0  # one of two within the SLA
    assert snapshot.engagement == 100.0  # a two-way exchange 3 days ago
    assert snapshot.sentiment == 0.0  # a detractor
    assert snapshot.open_issues == pytest.approx(100 / 3)  # two open > 1 bd
    assert snapshot.billing == 100.0
    assert snapshot.onboarding is None  # no data: left out, weights renormalised
    assert snapshot.band == "yellow"
    measures = shown["measures"]
    assert measures["onboarding"] == {
        "value": None, "weight": 10.0, "share": None, "points": None, "lost": None
    }  # fmt: skip
    assert measures["sentiment"]["share"] == pytest.approx(20 / 90)
    assert sum(m["points"] or 0 for m in measures.values()) == pytest.approx(snapshot.score)


def test_it_replaces_a_days_snapshot_when_run_again(engine: Engine) -> None:
    load(engine, *BASICS)
    with transaction(engine) as session:
        recompute_health(session, date(2026, 10, 8))
        recompute_health(session, date(2026, 10, 8))
        assert len(session.scalars(select(HealthSnapshot)).all()) == 1


def test_it_shows_an_override_beside_the_computed_band(engine: Engine) -> None:
    load(engine, *BASICS, SURVEY)
    now = datetime(2026, 10, 8, 9, tzinfo=UTC)
    with transaction(engine) as session:
        add_override(
            session, "acme", "green", "Renewal signed", date(2026, 11, 1), by="u-kyle", now=now
        )
        recompute_health(session, date(2026, 10, 8))
        shown = account_health(session, "acme", NEXT_MORNING)
    assert shown["band"] == "green"
    assert shown["computed_band"] != "green"
    assert shown["override"]["reason"] == "Renewal signed"


def test_it_refuses_an_override_that_expired_already(engine: Engine) -> None:
    load(engine, *BASICS)
    now = datetime(2026, 10, 8, 9, tzinfo=UTC)
    with transaction(engine) as session, pytest.raises(OverrideRefused, match="not after today"):
        add_override(session, "acme", "red", "x", date(2026, 10, 1), by="u-kyle", now=now)


def test_it_gives_the_30_day_trend(engine: Engine) -> None:
    load(engine, *BASICS, SURVEY)
    with transaction(engine) as session:
        recompute_health(session, date(2026, 9, 8))
        recompute_health(session, date(2026, 10, 8))
        shown = account_health(session, "acme", NEXT_MORNING)
    # 2026-09-08: engagement 0 (20), open issues 100 (15), billing 100 (15): 3000 / 50 = 60.
    # 2026-10-08: the detractor adds sentiment 0 (20): 3000 / 70 = 42.857…; trend −17.142…
    assert shown["score"] == pytest.approx(3000 / 70, abs=1e-12)
    assert shown["trend_30d"] == pytest.approx(3000 / 70 - 60, abs=1e-12)


def test_the_backtest_scores_each_quarter_start_against_that_quarters_churn(
    engine: Engine,
) -> None:
    beta = {**BASICS[3], "id": "beta", "name": "Beta"}
    load(
        engine,
        *BASICS,
        beta,
        {"type": "contact", "id": "c-bea", "account": "beta", "name": "Bea"},
        {**SURVEY, "id": "s-a", "at": "2026-06-01T12:00:00Z", "score": 10},
        {**SURVEY, "id": "s-b", "account": "beta", "contact": "c-bea",
         "at": "2026-06-01T12:00:00Z", "score": 2},
        {"type": "churn", "account": "beta", "at": "2026-08-15T12:00:00Z"},
    )  # fmt: skip
    with transaction(engine) as session:
        report = backtest_report(session, date(2026, 11, 23))
    current = report["current"]
    assert current["samples"] == 4  # two accounts at the starts of Q2 and Q3
    assert current["churned"] == 1  # beta, in Q3, scored low at its start
    assert current["auc"] == 1.0
    # Q2: no survey yet, both 60 (engagement 0, billing and open issues 100): yellow;
    # Q3: acme a promoter 71.4 green, beta a detractor 42.9 yellow
    assert current["bands"]["green"] == {"accounts": 1, "churned": 0, "rate": 0.0}
    assert current["bands"]["yellow"] == {"accounts": 3, "churned": 1, "rate": 1 / 3}


def test_an_answer_after_the_sla_counts_against_responsiveness(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        message("m-1", "t-1", "2026-10-05T13:00:00Z"),  # Mon 09:00 NY
        message("m-2", "t-1", "2026-10-05T15:30:00Z", "outbound"),  # 2.5 h: breached
        message("m-3", "t-2", "2026-10-05T14:00:00Z"),
        message("m-4", "t-2", "2026-10-05T14:10:00Z", "outbound"),  # 10 min: within
    )
    with transaction(engine) as session:
        recompute_health(session, date(2026, 10, 8))
        (snapshot,) = session.scalars(select(HealthSnapshot)).all()
    assert snapshot.responsiveness == 50.0


def snapshot_of(engine: Engine, day: date) -> HealthSnapshot:
    with transaction(engine) as session:
        recompute_health(session, day)
        (snapshot,) = session.scalars(select(HealthSnapshot)).all()
        session.expunge(snapshot)
    return snapshot


def test_a_client_reply_to_outreach_engages_and_opens_a_request(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        message("o-1", "t-9", "2026-10-06T14:00:00Z", "outbound"),  # our check-in: outreach
        message("r-1", "t-9", "2026-10-07T14:00:00Z"),  # Wed 10:00 NY: the client replies
    )
    snapshot = snapshot_of(engine, date(2026, 10, 8))
    # The reply is an inbound after an outbound in its thread: an exchange 34 h old → 100.
    assert snapshot.engagement == 100
    # It also opens a request, unanswered, its 1-hour deadline (11:00 NY) long passed: a
    # miss, the only decided request → 0.
    assert snapshot.responsiveness == 0


def test_a_deleted_reply_is_no_exchange(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        message("o-1", "t-9", "2026-10-06T14:00:00Z", "outbound"),  # our check-in: outreach
        message("r-1", "t-9", "2026-10-07T14:00:00Z", deleted=True),  # deleted at the source
    )
    snapshot = snapshot_of(engine, date(2026, 10, 8))
    # A deleted message counts as neither a request nor a response, nor as a reply: the
    # outreach alone is no exchange, and there never was one → 0 (PRODUCT.md 5).
    assert snapshot.engagement == 0


def test_a_meeting_is_a_two_way_exchange(engine: Engine) -> None:
    meeting = {"type": "activity", "id": "act-1", "account": "acme", "by": "u-ana",
               "at": "2026-09-20T15:00:00Z", "kind": "meeting"}  # fmt: skip
    load(engine, *BASICS, meeting)
    snapshot = snapshot_of(engine, date(2026, 10, 8))
    # Scored at 2026-10-09 00:00 UTC: the meeting is 18 d 9 h = 441 h old; linear between
    # 7 d (168 h) and 30 d (720 h): 100 × (720 − 441) / (720 − 168) = 50.543…
    assert snapshot.engagement == pytest.approx(100 * 279 / 552, abs=1e-12)


def test_three_requests_open_over_a_business_day_and_one_under_make_open_issues_zero(
    engine: Engine,
) -> None:
    long_open = [message(f"m-{i}", f"t-{i}", "2026-10-05T13:00:00Z") for i in (1, 2, 3)]
    short = message("m-4", "t-4", "2026-10-08T18:00:00Z")  # Thu 14:00 NY
    load(engine, *BASICS, *long_open[:2], short)
    # At Thu 20:00 NY the Monday 09:00 requests have been open 4 business days (> 1); the
    # Thursday one 3 business hours (< 1 day of 8 h). Two count: 100 / 3.
    assert snapshot_of(engine, date(2026, 10, 8)).open_issues == 100 / 3
    load(engine, long_open[2])  # three count: 0
    assert snapshot_of(engine, date(2026, 10, 8)).open_issues == 0


def test_an_account_that_never_had_an_mrr_has_no_billing_measure(engine: Engine) -> None:
    load(engine, SCHEDULE, MANAGER, CSM, {**ACCOUNT, "mrr": 0}, CONTACT)
    snapshot = snapshot_of(engine, date(2026, 10, 8))
    assert snapshot.billing is None
    # Engagement 0 (20) and open issues 100 (15) alone: 1500 / 35 = 42.857…
    assert snapshot.score == pytest.approx(1500 / 35, abs=1e-12)


def test_a_churned_account_is_not_scored(engine: Engine) -> None:
    load(engine, *BASICS, {"type": "churn", "account": "acme", "at": "2026-10-01T12:00:00Z"})
    with transaction(engine) as session:
        summary = recompute_health(session, date(2026, 10, 8))
        assert session.scalar(select(func.count()).select_from(HealthSnapshot)) == 0
    assert summary.accounts == 0


def test_a_recompute_rewrites_the_days_it_covers(engine: Engine) -> None:
    load(engine, *BASICS)
    with transaction(engine) as session:
        recompute_health_days(session, [date(2026, 10, 7), date(2026, 10, 8)])
    # A churn recorded since, dated between the two days: the later day is rewritten
    # without the account, the earlier one keeps it.
    load(engine, {"type": "churn", "account": "acme", "at": "2026-10-08T12:00:00Z"})
    with transaction(engine) as session:
        recompute_health_days(session, [date(2026, 10, 7), date(2026, 10, 8)])
        days = session.scalars(select(HealthSnapshot.day)).all()
    assert days == [date(2026, 10, 7)]


def test_an_override_added_after_the_last_recompute_shows_at_once(engine: Engine) -> None:
    load(engine, *BASICS)
    with transaction(engine) as session:
        recompute_health(session, date(2026, 10, 8))
        add_override(session, "acme", "red", "Champion left", date(2026, 11, 1),
                     by="u-kyle", now=NEXT_MORNING)  # fmt: skip
        shown = account_health(session, "acme", NEXT_MORNING)
    assert (shown["band"], shown["override"]["reason"]) == ("red", "Champion left")


def test_an_expired_override_is_gone_at_once(engine: Engine) -> None:
    load(engine, *BASICS)
    with transaction(engine) as session:
        add_override(session, "acme", "red", "Champion left", date(2026, 10, 9),
                     by="u-kyle", now=datetime(2026, 10, 1, tzinfo=UTC))  # fmt: skip
        recompute_health(session, date(2026, 10, 7))  # the last run: before it expired
        shown = account_health(session, "acme", NEXT_MORNING)  # 2026-10-09: expired
    assert shown["override"] is None
    assert shown["band"] == shown["computed_band"]


def test_an_override_needs_a_manager_or_an_admin(engine: Engine) -> None:
    load(engine, *BASICS)
    with transaction(engine) as session:
        with pytest.raises(OverrideRefused, match="csm") as caught:
            add_override(session, "acme", "red", "x", date(2026, 11, 1),
                         by="u-ana", now=NEXT_MORNING)  # fmt: skip
        assert caught.value.field == "by"
        with pytest.raises(OverrideRefused, match="no user"):
            add_override(session, "acme", "red", "x", date(2026, 11, 1),
                         by="u-nobody", now=NEXT_MORNING)  # fmt: skip


def test_an_override_of_a_churned_account_is_refused(engine: Engine) -> None:
    load(engine, *BASICS, {"type": "churn", "account": "acme", "at": "2026-10-01T12:00:00Z"})
    with transaction(engine) as session, pytest.raises(OverrideRefused, match="churned"):
        add_override(session, "acme", "red", "x", date(2026, 11, 1),
                     by="u-kyle", now=NEXT_MORNING)  # fmt: skip


def test_the_same_override_twice_adds_one_row(engine: Engine) -> None:
    load(engine, *BASICS)
    with transaction(engine) as session:
        args = ("acme", "red", "Champion left", date(2026, 11, 1))
        _, first = add_override(session, *args, by="u-kyle", now=NEXT_MORNING)
        _, second = add_override(session, *args, by="u-kyle", now=NEXT_MORNING)
        rows = session.scalar(select(func.count()).select_from(HealthOverride))
    assert (first, second, rows) == (True, False, 1)


def test_it_refuses_to_score_a_day_after_today() -> None:
    now = datetime(2026, 10, 9, 23, tzinfo=UTC)  # already 10 October in Kyiv
    assert days_to_score(date(2026, 10, 10), 2, now, "Europe/Kyiv") == [
        date(2026, 10, 9),
        date(2026, 10, 10),
    ]
    with pytest.raises(FutureDay, match="2026-10-10 is after today"):
        days_to_score(date(2026, 10, 10), 1, now, "UTC")
