from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from keepwell.domain.scorecard import (
    POINTS,
    RATED_METRICS,
    AccountDay,
    AccountFacts,
    AccountFlag,
    AccountWeek,
    Ask,
    Csm,
    NextStep,
    RatingPair,
    RequestFacts,
    Scorecard,
    ScorecardError,
    ScorecardInputs,
    Touch,
    Trigger,
    previous_month,
    review_triggers,
    score_csm,
    scorecards_json,
)
from keepwell.domain.targets import METRICS, parse_targets

MONTH = "2026-10"  # Thursday 1 to Saturday 31; Mondays 5, 12, 19, 26
AS_OF = datetime.fromisoformat("2026-11-05T12:00:00+00:00")
EVA, BEN = "u-eva", "u-ben"
LONG_AGO = "2026-01-01T00:00:00Z"
ALL_GREEN = dict.fromkeys(RATED_METRICS, "green")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def account(
    id: str,
    started: str = LONG_AGO,
    churned: str | None = None,
    owners: Sequence[tuple[str, str]] | None = None,
) -> AccountFacts:
    history = owners if owners is not None else [(started, EVA)]
    return AccountFacts(
        id,
        at(started),
        (at(churned),) if churned else (),
        tuple((at(since), owner) for since, owner in history),
    )


def request(
    id: str,
    hours: float = 0.5,
    days: float = 0.5,
    escalated: bool = False,
    opened: str = "2026-10-05T10:00:00Z",
    owner: str = EVA,
) -> RequestFacts:
    return RequestFacts(id, "acme", owner, at(opened), hours, days, escalated)


def score(
    *,
    csm: Csm | None = None,
    month: str = MONTH,
    as_of: datetime = AS_OF,
    previous: Sequence[Scorecard] = (),
    **book: Any,
) -> Scorecard:
    inputs = ScorecardInputs(csm or Csm(EVA, "UTC"), month, as_of, **book)
    return score_csm(inputs, previous=previous)


def metric(key: str, **book: Any) -> tuple[Any, ...]:
    result = score(**book).metrics[key]
    return result.value, result.band, result.points, result.n


def green_book() -> dict[str, Any]:
    """One account, one request, every metric green."""
    mondays = ("05", "12", "19", "26")
    return {
        "csm": Csm(EVA, "UTC", (date(2026, 10, 1),)),
        "accounts": (account("acme"),),
        "requests": (request("r-1"),),
        "touches": tuple(Touch("acme", at(f"2026-10-{d}T10:00:00Z")) for d in mondays),
        "asks": (Ask("acme", at("2026-10-01T10:00:00Z")),),
        "next_steps": (NextStep("acme", at("2026-09-30T10:00:00Z"), date(2026, 12, 31)),),
        "self_review": ALL_GREEN,
        "manager_review": ALL_GREEN,
    }


# Retention


def test_it_scores_retention_as_the_share_of_accounts_still_active_at_the_months_end() -> None:
    accounts = [account(f"a-{i}") for i in range(3)] + [
        account("gone", churned="2026-10-15T09:00:00Z")
    ]
    card = score(accounts=tuple(accounts))
    retention = card.metrics["retention"]
    assert (retention.value, retention.band, retention.points, retention.n) == (
        0.75,
        "yellow",
        10.0,
        4,
    )
    assert AccountFlag("gone", False) in retention.evidence.accounts
    assert AccountFlag("a-0", True) in retention.evidence.accounts


def test_an_account_that_churns_and_comes_back_within_the_month_is_retained() -> None:
    back = AccountFacts(
        "back", at(LONG_AGO), (at("2026-10-10T00:00:00Z"),), ((at(LONG_AGO), EVA),),
        (at("2026-10-20T00:00:00Z"),),
    )  # fmt: skip
    gone = account("gone", churned="2026-10-10T00:00:00Z")
    flags = score(accounts=(back, gone)).metrics["retention"].evidence.accounts
    assert flags == (AccountFlag("back", True), AccountFlag("gone", False))


@pytest.mark.parametrize(
    ("kept", "of", "band"),
    [(5, 5, "green"), (9, 11, "green"), (4, 5, "yellow"), (7, 10, "yellow"), (2, 3, "red")],
)
def test_it_bands_retention_above_80_green_and_70_to_80_yellow(
    kept: int, of: int, band: str
) -> None:
    accounts = [
        account(f"a-{i}", churned=None if i < kept else "2026-10-20T00:00:00Z") for i in range(of)
    ]
    assert metric("retention", accounts=tuple(accounts))[1] == band


def test_it_counts_a_churn_at_the_first_instant_of_the_next_month_as_churned_in_the_month() -> None:
    accounts = (
        account("on-the-stroke", churned="2026-11-01T00:00:00Z"),
        account("a-moment-later", churned="2026-11-01T00:00:00.000001Z"),
    )
    flags = score(accounts=accounts).metrics["retention"].evidence.accounts
    assert flags == (AccountFlag("a-moment-later", True), AccountFlag("on-the-stroke", False))


def test_it_counts_for_retention_only_accounts_active_at_the_months_first_instant() -> None:
    accounts = (
        account("started-on-the-stroke", started="2026-10-01T00:00:00Z"),
        account("started-later", started="2026-10-01T00:00:01Z"),
        account("churned-on-the-stroke", churned="2026-10-01T00:00:00Z"),
    )
    flags = score(accounts=accounts).metrics["retention"].evidence.accounts
    assert flags == (AccountFlag("started-on-the-stroke", True),)


def test_it_does_not_know_a_churn_stamped_after_the_evaluation_moment() -> None:
    accounts = (account("acme", churned="2026-10-25T00:00:00Z"),)
    assert metric("retention", accounts=accounts, as_of=at("2026-10-20T00:00:00Z"))[0] == 1.0
    assert metric("retention", accounts=accounts)[0] == 0.0


def test_it_keeps_retention_with_the_owner_at_the_months_start_after_a_reassignment() -> None:
    moved = account(
        "acme",
        churned="2026-10-20T00:00:00Z",
        owners=[(LONG_AGO, EVA), ("2026-10-15T00:00:00Z", BEN)],
    )
    assert metric("retention", accounts=(moved,)) == (0.0, "red", 0.0, 1)
    assert metric("retention", accounts=(moved,), csm=Csm(BEN, "UTC"))[0] is None


# Response time, resolution time, independence


def test_it_scores_response_time_as_the_mean_business_hours_of_the_months_requests() -> None:
    requests = (
        request("r-1", hours=0.5),
        request("r-2", hours=1.5),
        request("r-3", hours=2.5),
        request("september", hours=9, opened="2026-09-30T23:59:59Z"),
        request("ben-s", hours=9, owner=BEN),
    )
    card = score(requests=requests)
    assert metric("response_time", requests=requests) == (1.5, "yellow", 10.0, 3)
    assert card.metrics["response_time"].evidence.request_ids == ("r-1", "r-2", "r-3")


def test_it_leaves_out_requests_opened_after_the_evaluation_moment() -> None:
    requests = (request("r-1", hours=3), request("r-2", hours=1, opened="2026-10-20T10:00:00Z"))
    as_of = at("2026-10-10T00:00:00Z")
    assert metric("response_time", requests=requests, as_of=as_of) == (3.0, "red", 0.0, 1)


@pytest.mark.parametrize(
    ("hours", "band"),
    [(0.999999, "green"), (1.0, "yellow"), (1.999999, "yellow"), (2.0, "red")],
)
def test_it_bands_response_time_below_1_h_green_and_from_2_h_red(hours: float, band: str) -> None:
    assert metric("response_time", requests=(request("r", hours=hours),))[1] == band


@pytest.mark.parametrize(
    ("days", "band", "points"),
    [(0.99, "green", 15.0), (1.0, "yellow", 7.5), (2.0, "red", 0.0)],
)
def test_it_bands_resolution_time_below_1_bd_green_and_from_2_bd_red(
    days: float, band: str, points: float
) -> None:
    requests = (request("r-1", days=days), request("r-2", days=days))
    assert metric("resolution_time", requests=requests) == (days, band, points, 2)


def test_it_counts_unanswered_and_unresolved_requests_with_the_figures_the_caller_gives() -> None:
    open_one = RequestFacts(
        "r-1", "acme", EVA, at("2026-10-05T10:00:00Z"), 6.0, 3.5, False, False, False
    )
    evidence = score(requests=(open_one,)).metrics["resolution_time"].evidence
    assert metric("resolution_time", requests=(open_one,))[0] == 3.5
    assert evidence.requests[0].answered is False and evidence.requests[0].resolved is False


@pytest.mark.parametrize(
    ("escalated", "band", "points"),
    [(0, "green", 15.0), (1, "yellow", 7.5), (2, "yellow", 7.5), (3, "red", 0.0)],
)
def test_it_bands_independence_above_90_green_and_80_to_90_yellow(
    escalated: int, band: str, points: float
) -> None:
    requests = tuple(request(f"r-{i}", escalated=i < escalated) for i in range(10))
    assert metric("independence", requests=requests) == ((10 - escalated) / 10, band, points, 10)


def test_it_shows_request_metrics_as_na_without_requests() -> None:
    card = score(requests=(request("ben-s", owner=BEN),))
    for key in ("response_time", "resolution_time", "independence"):
        assert card.metrics[key].to_json() == {
            "value": None,
            "band": None,
            "points": None,
            "max": POINTS[key],
            "n": 0,
        }


# Proactivity


def touches(*stamps: str, account_id: str = "acme") -> tuple[Touch, ...]:
    return tuple(Touch(account_id, at(stamp)) for stamp in stamps)


def test_it_scores_proactivity_as_the_mean_weekly_share_of_touched_accounts() -> None:
    book: dict[str, Any] = {
        "accounts": (account("acme"), account("bolt")),
        "touches": touches("2026-10-05T10:00:00Z", "2026-10-12T10:00:00Z", "2026-10-26T10:00:00Z")
        + touches("2026-10-06T10:00:00Z", "2026-10-30T10:00:00Z", account_id="bolt"),
    }
    card = score(**book)
    assert metric("proactivity", **book) == (0.625, "red", 0.0, 4)
    evidence = card.metrics["proactivity"].evidence
    assert evidence.weeks == tuple(date(2026, 10, d) for d in (5, 12, 19, 26))
    assert AccountWeek("bolt", date(2026, 10, 12), False) in evidence.account_weeks
    assert len(evidence.account_weeks) == 8


def test_it_counts_the_week_whose_monday_is_in_the_month_up_to_its_sunday_in_the_next() -> None:
    stamps = ("2026-10-12T10:00:00Z", "2026-10-19T10:00:00Z", "2026-11-01T23:59:59Z")
    assert metric("proactivity", accounts=(account("acme"),), touches=touches(*stamps))[0] == 0.75


def test_it_leaves_the_week_whose_monday_is_in_the_month_before_to_that_month() -> None:
    # Monday 28 September to Sunday 4 October is September's week.
    book: dict[str, Any] = {
        "accounts": (account("acme"),),
        "touches": touches("2026-10-01T10:00:00Z"),
    }
    assert metric("proactivity", **book) == (0.0, "red", 0.0, 4)
    september = score(month="2026-09", **book).metrics["proactivity"]
    assert september.evidence.weeks[-1] == date(2026, 9, 28)
    assert AccountWeek("acme", date(2026, 9, 28), True) in september.evidence.account_weeks


@pytest.mark.parametrize(
    ("touched", "band"), [(8, "yellow"), (7, "yellow"), (9, "green"), (6, "red")]
)
def test_it_bands_proactivity_above_80_green_and_70_to_80_yellow(touched: int, band: str) -> None:
    accounts = tuple(account(f"a-{i}") for i in range(10))
    weekly = [f"2026-10-{d}T10:00:00Z" for d in ("05", "12", "19", "26")]
    book_touches = tuple(t for i in range(touched) for t in touches(*weekly, account_id=f"a-{i}"))
    assert metric("proactivity", accounts=accounts, touches=book_touches)[:2] == (
        touched / 10,
        band,
    )


def test_it_scores_only_weeks_that_have_started_by_the_evaluation_moment() -> None:
    book: dict[str, Any] = {
        "accounts": (account("acme"),),
        "touches": touches("2026-10-05T10:00:00Z", "2026-10-13T10:00:00Z"),
    }
    as_of = at("2026-10-12T00:00:00Z")  # the week of the 12th has just begun
    card = score(as_of=as_of, **book)
    assert metric("proactivity", as_of=as_of, **book) == (0.5, "red", 0.0, 2)
    assert card.metrics["proactivity"].evidence.weeks == (date(2026, 10, 5), date(2026, 10, 12))


def test_it_counts_an_account_for_the_weeks_it_was_active_and_owned_at_their_start() -> None:
    moved = account("moved", owners=[(LONG_AGO, EVA), ("2026-10-14T00:00:00Z", BEN)])
    book: dict[str, Any] = {
        "accounts": (moved, account("new", started="2026-10-12T00:00:01Z")),
        "touches": touches("2026-10-20T10:00:00Z", account_id="moved"),
    }
    eva = score(**book).metrics["proactivity"].evidence.account_weeks
    assert [(w.account_id, w.week_start.day) for w in eva] == [
        ("moved", 5),
        ("moved", 12),
        ("new", 19),
        ("new", 26),
    ]
    assert metric("proactivity", csm=Csm(BEN, "UTC"), **book) == (0.5, "red", 0.0, 2)


def test_it_skips_weeks_without_accounts_and_is_na_without_any() -> None:
    book: dict[str, Any] = {"accounts": (account("new", started="2026-10-19T00:00:00Z"),)}
    assert metric("proactivity", **book) == (0.0, "red", 0.0, 2)
    assert metric("proactivity")[0] is None


# Testimonials


def asks(*pairs: tuple[str, str]) -> tuple[Ask, ...]:
    return tuple(Ask(account_id, at(stamp)) for account_id, stamp in pairs)


@pytest.mark.parametrize(
    ("asked", "band", "points"), [(4, "green", 7.0), (3, "yellow", 3.5), (2, "red", 0.0)]
)
def test_it_bands_testimonials_from_80_green_and_from_60_yellow(
    asked: int, band: str, points: float
) -> None:
    accounts = tuple(account(f"a-{i}") for i in range(5))
    book_asks = asks(*((f"a-{i}", "2026-10-10T10:00:00Z") for i in range(asked)))
    assert metric("testimonials", accounts=accounts, asks=book_asks) == (asked / 5, band, points, 5)


def test_it_counts_asks_in_the_180_days_up_to_the_months_end_both_ends_included() -> None:
    book: dict[str, Any] = {
        "accounts": tuple(account(i) for i in ("at-end", "at-start", "too-early", "too-late")),
        "asks": asks(
            ("at-end", "2026-11-01T00:00:00Z"),
            ("at-start", "2026-05-05T00:00:00Z"),
            ("too-early", "2026-05-04T23:59:59Z"),
            ("too-late", "2026-11-01T00:00:01Z"),
        ),
    }
    flags = score(**book).metrics["testimonials"].evidence.accounts
    assert flags == (
        AccountFlag("at-end", True),
        AccountFlag("at-start", True),
        AccountFlag("too-early", False),
        AccountFlag("too-late", False),
    )


def test_it_asks_testimonials_only_of_accounts_active_90_days_and_still_active_at_the_end() -> None:
    accounts = (
        account("ninety-days", started="2026-08-03T00:00:00Z"),
        account("a-second-short", started="2026-08-03T00:00:01Z"),
        account("churned-at-the-end", churned="2026-11-01T00:00:00Z"),
        account("churned-later", churned="2026-11-01T00:00:01Z"),
    )
    flags = score(accounts=accounts).metrics["testimonials"].evidence.accounts
    assert [flag.account_id for flag in flags] == ["churned-later", "ninety-days"]


def test_a_reactivated_account_is_asked_for_testimonials_90_days_after_its_return() -> None:
    def returned(id: str, on: str) -> AccountFacts:
        owners = ((at(LONG_AGO), EVA),)
        return AccountFacts(id, at(LONG_AGO), (at("2026-06-01T00:00:00Z"),), owners, (at(on),))

    accounts = (
        returned("back-90-days", "2026-08-03T00:00:00Z"),
        returned("back-89", "2026-08-04T00:00:00Z"),
    )
    flags = score(accounts=accounts).metrics["testimonials"].evidence.accounts
    assert [flag.account_id for flag in flags] == ["back-90-days"]


def test_it_counts_testimonials_for_the_owner_at_the_months_end() -> None:
    moved = account("acme", owners=[(LONG_AGO, EVA), ("2026-10-20T00:00:00Z", BEN)])
    book: dict[str, Any] = {"accounts": (moved,), "asks": asks(("acme", "2026-09-01T00:00:00Z"))}
    assert metric("testimonials", **book)[0] is None
    assert metric("testimonials", csm=Csm(BEN, "UTC"), **book) == (1.0, "green", 7.0, 1)


def test_it_does_not_use_an_ask_recorded_after_the_evaluation_moment() -> None:
    book: dict[str, Any] = {
        "accounts": (account("acme"),),
        "asks": asks(("acme", "2026-10-31T10:00:00Z")),
    }
    assert metric("testimonials", as_of=at("2026-10-31T09:00:00Z"), **book)[0] == 0.0
    assert metric("testimonials", **book)[0] == 1.0


# CRM hygiene


def steps(*triples: tuple[str, str, str]) -> tuple[NextStep, ...]:
    return tuple(NextStep(i, at(s), date.fromisoformat(due)) for i, s, due in triples)


def workdays(*days: int) -> Csm:
    return Csm(EVA, "UTC", tuple(date(2026, 10, d) for d in days))


def test_it_scores_crm_hygiene_over_working_days_and_active_accounts() -> None:
    book: dict[str, Any] = {
        "csm": workdays(1, 2),
        "accounts": (account("acme"), account("bolt")),
        "next_steps": steps(("acme", "2026-09-20T10:00:00Z", "2026-10-01")),
    }
    rows = score(**book).metrics["crm_hygiene"].evidence.account_days
    assert rows == (
        AccountDay("acme", date(2026, 10, 1), date(2026, 10, 1), True),
        AccountDay("bolt", date(2026, 10, 1), None, False),
        AccountDay("acme", date(2026, 10, 2), date(2026, 10, 1), False),
        AccountDay("bolt", date(2026, 10, 2), None, False),
    )
    assert metric("crm_hygiene", **book) == (0.25, "red", 0.0, 4)


def test_a_next_step_set_later_in_the_day_counts_for_that_day() -> None:
    book: dict[str, Any] = {
        "csm": workdays(1),
        "accounts": (account("acme"),),
        "next_steps": steps(("acme", "2026-10-01T23:59:59Z", "2026-10-09")),
    }
    assert metric("crm_hygiene", **book) == (1.0, "green", 7.0, 1)


def test_a_next_step_set_at_the_next_midnight_counts_from_the_next_day() -> None:
    book: dict[str, Any] = {
        "csm": workdays(1, 2),
        "accounts": (account("acme"),),
        "next_steps": steps(("acme", "2026-10-02T00:00:00Z", "2026-10-09")),
    }
    assert metric("crm_hygiene", **book)[0] == 0.5


def test_the_latest_next_step_of_the_day_wins() -> None:
    book: dict[str, Any] = {
        "csm": workdays(1, 2),
        "accounts": (account("acme"),),
        "next_steps": steps(
            ("acme", "2026-09-20T10:00:00Z", "2026-12-31"),
            ("acme", "2026-10-01T16:00:00Z", "2026-09-30"),  # set overdue: the day fails
            ("acme", "2026-10-02T09:00:00Z", "2026-10-02"),
        ),
    }
    rows = score(**book).metrics["crm_hygiene"].evidence.account_days
    assert [(row.due, row.ok) for row in rows] == [
        (date(2026, 9, 30), False),
        (date(2026, 10, 2), True),
    ]


def test_it_counts_an_account_on_the_days_it_is_active_and_owned_at_their_start() -> None:
    book: dict[str, Any] = {
        "csm": workdays(1, 2, 5),
        "accounts": (
            account("churns-at-midnight", churned="2026-10-02T00:00:00Z"),
            account("churns-in-the-day", churned="2026-10-02T10:00:00Z"),
            account("starts-in-the-day", started="2026-10-01T10:00:00Z"),
            account("moved", owners=[(LONG_AGO, EVA), ("2026-10-05T00:00:00Z", BEN)]),
        ),
    }
    rows = score(**book).metrics["crm_hygiene"].evidence.account_days
    assert [(row.day.day, row.account_id) for row in rows] == [
        (1, "churns-at-midnight"),
        (1, "churns-in-the-day"),
        (1, "moved"),
        (2, "churns-in-the-day"),
        (2, "moved"),
        (2, "starts-in-the-day"),
        (5, "starts-in-the-day"),
    ]


def test_it_scores_only_working_days_of_the_month_that_have_started() -> None:
    csm = Csm(
        EVA, "UTC", (date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 1), date(2026, 10, 2))
    )
    card = score(csm=csm, accounts=(account("acme"),), as_of=at("2026-10-01T12:00:00Z"))
    rows = card.metrics["crm_hygiene"].evidence.account_days
    assert [row.day for row in rows] == [date(2026, 10, 1)]


@pytest.mark.parametrize(
    ("ok", "band"), [(19, "green"), (18, "yellow"), (16, "yellow"), (15, "red")]
)
def test_it_bands_crm_hygiene_from_95_green_and_from_80_yellow(ok: int, band: str) -> None:
    book: dict[str, Any] = {
        "csm": workdays(1),
        "accounts": tuple(account(f"a-{i:02}") for i in range(20)),
        "next_steps": steps(
            *((f"a-{i:02}", "2026-09-01T00:00:00Z", "2026-10-01") for i in range(ok))
        ),
    }
    assert metric("crm_hygiene", **book)[:2] == (ok / 20, band)


def test_it_shows_crm_hygiene_as_na_without_working_days() -> None:
    assert metric("crm_hygiene", accounts=(account("acme"),)) == (None, None, None, 0)


# Self-awareness


def reviews(own: Mapping[str, str], manager: Mapping[str, str]) -> dict[str, Any]:
    return {"self_review": own, "manager_review": manager}


@pytest.mark.parametrize(
    ("own_retention", "value", "band"),
    [("green", 1.0, "green"), ("yellow", 0.8, "green"), ("red", 0.6, "yellow")],
)
def test_it_scores_self_awareness_as_the_alignment_of_the_two_reviews(
    own_retention: str, value: float, band: str
) -> None:
    manager = {"retention": "green", "response_time": "green", "proactivity": "yellow"}
    own = {**manager, "retention": own_retention}
    assert metric("self_awareness", **reviews(own, manager)) == (
        value,
        band,
        6.0 if band == "green" else 3.0,
        3,
    )


def test_it_scores_self_awareness_red_below_60() -> None:
    manager = {"retention": "green", "response_time": "green", "proactivity": "yellow"}
    own = {"retention": "red", "response_time": "yellow", "proactivity": "yellow"}
    assert metric("self_awareness", **reviews(own, manager)) == (0.4, "red", 0.0, 3)


def test_it_leaves_out_metrics_rated_by_one_reviewer_only() -> None:
    own = {"retention": "green", "testimonials": "green"}
    manager = {"retention": "green", "crm_hygiene": "red"}
    evidence = score(**reviews(own, manager)).metrics["self_awareness"].evidence
    assert metric("self_awareness", **reviews(own, manager)) == (1.0, "green", 6.0, 1)
    assert evidence.ratings == (RatingPair("retention", "green", "green"),)


def test_it_shows_self_awareness_as_na_without_both_reviews() -> None:
    assert metric("self_awareness", self_review=ALL_GREEN) == (None, None, None, 0)
    no_overlap = reviews({"retention": "green"}, {"testimonials": "green"})
    assert metric("self_awareness", **no_overlap) == (None, None, None, 0)


def test_it_refuses_ratings_that_are_not_a_band_of_a_rated_metric() -> None:
    with pytest.raises(ScorecardError, match="amber"):
        score(**reviews({"retention": "amber"}, ALL_GREEN))
    with pytest.raises(ScorecardError, match="self_awareness"):
        score(**reviews({"self_awareness": "green"}, ALL_GREEN))


# Total


def test_it_earns_full_points_with_every_metric_green() -> None:
    card = score(**green_book())
    assert {key: m.band for key, m in card.metrics.items()} == dict.fromkeys(METRICS, "green")
    assert (card.total, card.earned, card.possible, card.scaled, card.band) == (
        100.0,
        100.0,
        100.0,
        False,
        "green",
    )


def half_points_book() -> dict[str, Any]:
    """The green book with independence and proactivity yellow: 87.5 points."""
    book = green_book()
    book["requests"] = tuple(request(f"r-{i}", escalated=i < 2) for i in range(10))  # 80 %
    book["accounts"] += (account("bolt", started="2026-10-19T00:00:00Z"),)  # never touched
    book["self_review"] = {**ALL_GREEN, "retention": "yellow"}  # 1 − 10/94: still green
    return book


def test_it_keeps_half_points_in_the_total() -> None:
    card = score(**half_points_book())
    assert card.metrics["proactivity"].value == 0.75  # 1, 1, ½, ½
    assert card.metrics["self_awareness"].band == "green"
    assert (card.metrics["independence"].points, card.metrics["proactivity"].points) == (7.5, 5.0)
    assert (card.earned, card.possible, card.total, card.scaled) == (87.5, 100.0, 87.5, False)
    assert card.band == "yellow"


def test_it_bands_the_total_from_the_targets() -> None:
    bands = {"green": {"min": 85}, "yellow": {"min": 50, "below": 85}, "red": {"below": 50}}
    book = half_points_book()
    inputs = ScorecardInputs(book.pop("csm"), MONTH, AS_OF, **book)
    assert score_csm(inputs, parse_targets({"total": bands})).band == "green"


def test_it_scales_the_total_when_a_metric_is_na() -> None:
    # The example of PRODUCT.md 4: retention 0.75 of 12 accounts, no reviews: 72 of 94.
    ids = [f"a-{i:02}" for i in range(12)]
    accounts = [account(i, churned="2026-10-20T00:00:00Z" if i >= "a-09" else None) for i in ids]
    weekly = [(i, d) for d in ("05", "12", "19") for i in ids[:9]] + [(i, "26") for i in ids[:6]]
    book: dict[str, Any] = {
        "csm": Csm(EVA, "UTC", (date(2026, 10, 1),)),
        "accounts": tuple(accounts),
        "requests": (request("r-1"),),
        "touches": tuple(Touch(i, at(f"2026-10-{d}T10:00:00Z")) for i, d in weekly),
        "next_steps": tuple(
            NextStep(i, at("2026-09-01T00:00:00Z"), date(2026, 12, 1)) for i in ids
        ),
    }
    card = score(**book)
    assert card.metrics["proactivity"].value == pytest.approx((3 * 9 / 12 + 6 / 9) / 4)
    assert (card.metrics["proactivity"].band, card.metrics["testimonials"].band) == (
        "yellow",
        "red",
    )
    assert card.to_json() == {
        "csm": EVA,
        "total": 76.59574468085107,
        "earned": 72.0,
        "possible": 94.0,
        "scaled": True,
        "band": "yellow",
        "metrics": card.to_json()["metrics"],
        "triggers": [],
    }
    metrics = card.to_json()["metrics"]
    assert metrics["retention"] == {
        "value": 0.75,
        "band": "yellow",
        "points": 10.0,
        "max": 20,
        "n": 12,
    }
    assert metrics["self_awareness"] == {
        "value": None,
        "band": None,
        "points": None,
        "max": 6,
        "n": 0,
    }


def test_it_has_no_total_when_every_metric_is_na() -> None:
    card = score()
    assert (card.total, card.band, card.earned, card.possible, card.scaled) == (
        None,
        None,
        0.0,
        0.0,
        True,
    )
    assert list(card.to_json()["metrics"]) == list(METRICS)


def test_it_prints_the_document_of_the_scorecard_command() -> None:
    card = score(**green_book())
    document = scorecards_json(MONTH, at("2026-11-05T13:00:00+01:00"), [card])
    assert document["month"] == MONTH
    assert document["as_of"] == "2026-11-05T12:00:00+00:00"
    assert document["scorecards"] == [card.to_json()]


# Time zones


def test_it_takes_the_month_of_a_csm_in_auckland_in_their_own_time() -> None:
    auckland = Csm(EVA, "Pacific/Auckland")  # October: 2026-09-30T11:00Z to 2026-10-31T11:00Z
    requests = (
        request("first-instant", opened="2026-09-30T11:00:00Z"),
        request("still-september", opened="2026-09-30T10:59:59Z"),
        request("last-second", opened="2026-10-31T10:59:59Z"),
        request("already-november", opened="2026-10-31T11:00:00Z"),
    )
    accounts = (
        account("churns-on-the-stroke", churned="2026-10-31T11:00:00Z"),
        account("churns-after", churned="2026-10-31T11:00:01Z"),
    )
    card = score(csm=auckland, requests=requests, accounts=accounts)
    assert card.metrics["response_time"].evidence.request_ids == ("first-instant", "last-second")
    assert card.metrics["retention"].evidence.accounts == (
        AccountFlag("churns-after", True),
        AccountFlag("churns-on-the-stroke", False),
    )


def test_it_takes_weeks_and_days_of_a_csm_in_los_angeles_in_their_own_time() -> None:
    la = Csm(EVA, "America/Los_Angeles", (date(2026, 10, 1),))
    book: dict[str, Any] = {
        "csm": la,
        "requests": (request("sept-30-local", opened="2026-10-01T06:59:59Z"),),
        "accounts": (account("acme"),),
        # Week of 26 October runs to Monday 2 November 00:00 PST (08:00Z): DST ended on the 1st.
        "touches": touches("2026-11-02T07:30:00Z", "2026-10-05T06:30:00Z"),
        "next_steps": steps(("acme", "2026-10-02T06:59:59Z", "2026-10-01")),  # 1 Oct 23:59 PDT
    }
    card = score(**book)
    assert card.metrics["response_time"].n == 0
    assert [w.touched for w in card.metrics["proactivity"].evidence.account_weeks] == [
        False,  # 5 October: the touch came at 23:30 on Sunday the 4th
        False,
        False,
        True,
    ]
    assert card.metrics["crm_hygiene"].value == 1.0


# Triggers


def retention_book(churned: Mapping[str, int]) -> dict[str, Any]:
    """Ten accounts; `churned` maps "YYYY-MM" to how many churn on its 15th."""
    accounts, i = [], 0
    for month, count in churned.items():
        for _ in range(count):
            accounts.append(account(f"a-{i}", churned=f"{month}-15T00:00:00Z"))
            i += 1
    accounts += [account(f"a-{j}") for j in range(i, 10)]
    return {"accounts": tuple(accounts)}


def test_it_triggers_a_review_on_retention_below_70_two_months_in_a_row() -> None:
    book = retention_book({"2026-09": 4, "2026-10": 2})  # 6 of 10, then 4 of 6
    september = score(month="2026-09", **book)
    october = score(previous=[september], **book)
    assert october.triggers == (Trigger("retention", "< 70 % two months in a row"),)
    assert score(**book).triggers == ()


def test_it_does_not_trigger_on_retention_of_exactly_70() -> None:
    book = retention_book({"2026-09": 3, "2026-10": 3})  # 7 of 10, then 4 of 7
    september = score(month="2026-09", **book)
    assert september.metrics["retention"].value == 0.7
    assert score(previous=[september], **book).triggers == ()


def test_it_triggers_a_review_on_response_time_red_in_any_month() -> None:
    card = score(requests=(request("r-1", hours=2.0),))
    assert [t.to_json() for t in card.triggers] == [
        {"metric": "response_time", "rule": "red in any month"}
    ]


def test_it_triggers_a_review_on_resolution_time_red_two_months_in_a_row() -> None:
    requests = (request("sep", days=3, opened="2026-09-10T10:00:00Z"), request("oct", days=2))
    september = score(month="2026-09", requests=requests)
    october = score(previous=[september], requests=requests)
    assert october.triggers == (Trigger("resolution_time", "red two months in a row"),)


def test_a_month_with_the_metric_na_breaks_the_run() -> None:
    requests = (request("aug", days=3, opened="2026-08-10T10:00:00Z"), request("oct", days=3))
    september = score(month="2026-09", requests=requests)
    assert september.metrics["resolution_time"].value is None
    assert score(previous=[september], requests=requests).triggers == ()


def test_it_compares_with_the_same_csms_previous_month_only() -> None:
    requests = (request("sep", days=3, opened="2026-09-10T10:00:00Z"), request("oct", days=3))
    august = score(month="2026-08", requests=requests, as_of=AS_OF)
    someone_else = score(month="2026-09", csm=Csm(BEN, "UTC"), requests=requests)
    assert score(previous=[august, someone_else], requests=requests).triggers == ()


def test_it_refuses_a_previous_month_computed_at_another_moment() -> None:
    september = score(month="2026-09", as_of=AS_OF - timedelta(days=1))
    with pytest.raises(ScorecardError, match="one moment"):
        score(previous=[september])


def test_review_triggers_can_be_recomputed_from_two_cards() -> None:
    requests = (request("sep", days=3, opened="2026-09-10T10:00:00Z"), request("oct", days=3))
    september, october = score(month="2026-09", requests=requests), score(requests=requests)
    assert review_triggers(october, [september]) == (
        Trigger("resolution_time", "red two months in a row"),
    )


# Inputs


def test_it_refuses_naive_instants_and_unknown_zones() -> None:
    with pytest.raises(ScorecardError, match="naive"):
        Touch("acme", datetime(2026, 10, 1, 10))
    with pytest.raises(ScorecardError, match="Mars/Olympus"):
        Csm(EVA, "Mars/Olympus")


def test_it_refuses_negative_business_time() -> None:
    with pytest.raises(ScorecardError, match="response_hours"):
        request("r", hours=-1)


def test_it_refuses_a_month_that_has_not_started_by_the_evaluation_moment() -> None:
    with pytest.raises(ScorecardError, match="before 2026-10 starts"):
        score(as_of=at("2026-09-30T23:59:59Z"))
    with pytest.raises(ScorecardError, match="YYYY-MM"):
        score(month="2026-13")


def test_it_names_the_previous_month() -> None:
    assert (previous_month("2026-01"), previous_month("2026-10")) == ("2025-12", "2026-09")


def test_it_keeps_the_evidence_apart_from_the_scorecard_json() -> None:
    card = score(**green_book())
    assert "evidence" not in card.to_json()["metrics"]["crm_hygiene"]
    assert card.metrics["crm_hygiene"].evidence.to_json()["account_days"] == [
        {"account": "acme", "day": "2026-10-01", "due": "2026-12-31", "ok": True}
    ]
    assert card.metrics["independence"].evidence.to_json()["requests"] == ["r-1"]
    assert card.metrics["self_awareness"].evidence.to_json()["ratings"][0] == {
        "metric": "retention",
        "self": "green",
        "manager": "green",
    }
