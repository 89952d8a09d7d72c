"""The array engine of health (domain.health_book) against the scalar definitions of
domain.health, account by account and moment by moment, on random books."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keepwell.domain import health, health_book
from keepwell.domain.health_book import NONE
from keepwell.domain.hours import to_micros
from keepwell.domain.nps import SurveyResponse
from keepwell.domain.revenue import MrrChange, RevenueAccount, activity_changes, is_active

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = 3_600_000_000
SPAN_HOURS = 24 * 200  # facts spread over 200 days


def instant(hours: int) -> datetime:
    return EPOCH + timedelta(hours=hours)


coarse_hours = st.integers(0, 20).map(lambda day: day * 240)  # ties at one instant are likely
# Instants anywhere in the span, or on the coarse grid, so that edges (a deadline or an
# exchange at the very moment of evaluation, two messages at one instant) come up often.
hours = st.one_of(st.integers(0, SPAN_HOURS), coarse_hours)
maybe_hours = st.one_of(st.none(), hours)


@st.composite
def books(draw: st.DrawFn) -> dict:
    accounts = draw(st.integers(1, 5))
    account = st.integers(0, accounts - 1)
    requests = draw(st.lists(st.tuples(account, hours, maybe_hours, st.booleans(), maybe_hours)))
    surveys = draw(
        st.lists(
            st.tuples(account, coarse_hours, st.sampled_from(("nps", "csat")), st.integers(0, 10))
        )
    )
    revenue = [
        RevenueAccount(
            id=str(i),
            currency="USD",
            started_at=instant(draw(hours)),
            mrr=Decimal(draw(st.integers(0, 3))),
            changes=tuple(
                MrrChange(instant(at), Decimal(mrr))
                for at, mrr in draw(st.lists(st.tuples(hours, st.integers(0, 3)), max_size=3))
            ),
            churns=tuple(instant(at) for at in draw(st.lists(hours, max_size=2))),
        )
        for i in range(accounts)
    ]
    messages = draw(
        st.lists(
            st.tuples(
                account,
                st.integers(0, 1),  # the thread's number within its account
                st.integers(0, 4).map(lambda day: day * 240),  # often several at one instant
                st.sampled_from(("inbound", "outbound", "internal")),
                st.booleans(),
            ),
            max_size=12,
        )
    )
    talks = draw(st.lists(st.tuples(account, hours, st.sampled_from(("call", "check_in", "ebr")))))
    contractions = draw(st.lists(st.tuples(account, hours), max_size=4))
    failed = draw(st.lists(st.tuples(account, hours), max_size=3))
    moments = sorted(draw(st.lists(hours, min_size=1, max_size=6)))
    weights = draw(
        st.sampled_from([dict(health.DEFAULT_WEIGHTS), {"engagement": 1.0, "billing": 3.0}])
    )
    return {
        "accounts": accounts,
        "requests": [(a, o, None if r is None else o + r, w, d) for a, o, r, w, d in requests],
        "surveys": [
            (a, at, kind, score if kind == "nps" else score % 5 + 1)
            for a, at, kind, score in surveys
        ],
        "revenue": revenue,
        "messages": messages,
        "talks": talks,
        "contractions": contractions,
        "failed": failed,
        "moments": moments,
        "weights": weights,
        "open_issues": [
            draw(st.lists(st.integers(0, 4), min_size=accounts, max_size=accounts)) for _ in moments
        ],
    }


def _events(rows: list[tuple[int, int]]) -> health_book.Events:
    return health_book.Events(
        np.array([a for a, _ in rows], dtype=np.int64),
        np.array([at * HOUR + to_micros(EPOCH) for _, at in rows], dtype=np.int64),
    )


def array_messages(book: dict) -> health_book.Messages:
    """The messages with their threads' first inbound and outbound instants, as the
    service's query gathers them (internal ones left out)."""
    base = to_micros(EPOCH)
    firsts: dict[tuple[int, int, str], int] = {}
    for a, thread, at, direction, _ in book["messages"]:
        key = (a, thread, direction)
        firsts[key] = min(firsts.get(key, at), at)
    kept = [m for m in book["messages"] if m[3] != "internal"]

    def first(a: int, thread: int, direction: str) -> int:
        at = firsts.get((a, thread, direction))
        return NONE if at is None else base + at * HOUR

    return health_book.Messages(
        account=np.array([m[0] for m in kept], dtype=np.int64),
        at=np.array([base + m[2] * HOUR for m in kept], dtype=np.int64),
        inbound=np.array([m[3] == "inbound" for m in kept], dtype=bool),
        automated=np.array([m[4] for m in kept], dtype=bool),
        first_inbound=np.array([first(m[0], m[1], "inbound") for m in kept], dtype=np.int64),
        first_outbound=np.array([first(m[0], m[1], "outbound") for m in kept], dtype=np.int64),
    )


def array_facts(book: dict) -> health_book.BookFacts:
    requests = book["requests"]
    base = to_micros(EPOCH)

    def micros(hours: int | None) -> int:
        return NONE if hours is None else base + hours * HOUR

    activity = [
        (int(a.id), to_micros(at), float(on))
        for a in book["revenue"]
        for at, on in activity_changes(a)
    ]
    surveys = [
        (a, base + at * HOUR, health.survey_value(SurveyResponse(str(a), instant(at), kind, score)))
        for a, at, kind, score in book["surveys"]
    ]
    return health_book.BookFacts(
        accounts=book["accounts"],
        requests=health_book.Requests(
            account=np.array([r[0] for r in requests], dtype=np.int64),
            opened=np.array([micros(r[1]) for r in requests], dtype=np.int64),
            answered=np.array([micros(r[2]) for r in requests], dtype=np.int64),
            within_sla=np.array([r[3] for r in requests], dtype=bool),
            due=np.array([micros(r[4]) for r in requests], dtype=np.int64),
        ),
        activity=health_book.Events(
            np.array([a for a, _, _ in activity], dtype=np.int64),
            np.array([at for _, at, _ in activity], dtype=np.int64),
            np.array([v for _, _, v in activity], dtype=np.float64),
        ),
        surveys=health_book.Events(
            np.array([a for a, _, _ in surveys], dtype=np.int64),
            np.array([at for _, at, _ in surveys], dtype=np.int64),
            np.array([v for _, _, v in surveys], dtype=np.float64),
        ),
        messages=array_messages(book),
        talks=_events(
            [(a, at) for a, at, kind in book["talks"] if kind in health.EXCHANGE_ACTIVITIES]
        ),
        contractions=_events(book["contractions"]),
        failed_payments=_events(book["failed"]),
        first_paid=np.array(
            [micros_or_none(health.first_paid_at(a)) for a in book["revenue"]], dtype=np.int64
        ),
    )


def micros_or_none(at: datetime | None) -> int:
    return NONE if at is None else to_micros(at)


def scalar_inputs(
    book: dict, account: int, as_of: datetime, open_issues: int
) -> health.HealthInputs:
    """Everything recorded about one account up to `as_of`, raw: the scalar functions
    decide what counts."""
    outcomes = tuple(
        health.RequestOutcome(
            instant(opened),
            None if answered is None else instant(answered),
            within,
            None if due is None else instant(due),
        )
        for a, opened, answered, within, due in book["requests"]
        if a == account and instant(opened) <= as_of
    )
    messages = tuple(
        health.ThreadMessage(str(thread), instant(at), direction, automated)
        for a, thread, at, direction, automated in book["messages"]
        if a == account and instant(at) <= as_of
    )
    talks = tuple((instant(at), kind) for a, at, kind in book["talks"] if a == account)
    surveys = tuple(
        SurveyResponse(str(a), instant(at), kind, score)
        for a, at, kind, score in book["surveys"]
        if a == account and instant(at) <= as_of
    )
    return health.HealthInputs(
        as_of=as_of,
        requests=outcomes,
        messages=messages,
        activities=talks,
        surveys=surveys,
        open_issues=open_issues,
        billing=health.BillingFacts(
            health.first_paid_at(book["revenue"][account]),
            failed_payments=tuple(instant(at) for a, at in book["failed"] if a == account),
            contractions=tuple(instant(at) for a, at in book["contractions"] if a == account),
        ),
    )


def same(array_value: float, scalar_value: float | None) -> bool:
    if scalar_value is None:
        return bool(np.isnan(array_value))
    return float(array_value) == scalar_value  # exactly: the same floats, not close ones


@given(books())
def test_every_measure_and_score_equals_the_scalar_definition(book: dict) -> None:
    facts = array_facts(book)
    moments = [to_micros(instant(h)) for h in book["moments"]]
    counts = iter(np.array(c, dtype=np.int64) for c in book["open_issues"])
    days = list(health_book.days(facts, moments, counts, book["weights"]))
    for day, hour, open_issues in zip(days, book["moments"], book["open_issues"], strict=True):
        as_of = instant(hour)
        for account in range(book["accounts"]):
            inputs = scalar_inputs(book, account, as_of, open_issues[account])
            values = health.measure_values(inputs)
            for measure in health.MEASURES:
                assert same(day.values[measure][account], values[measure]), (measure, account)
            score, _ = health.score_measures(values, book["weights"])
            assert same(day.score[account], score)
            band = health.band_of(score) if score is not None else None
            assert day.bands()[account] == band
            revenue = book["revenue"][account]
            assert bool(day.active[account]) == is_active(revenue, as_of)


def test_moments_must_increase() -> None:
    facts = health_book.BookFacts(accounts=1)
    with pytest.raises(health.HealthError, match="increasing"):
        list(health_book.days(facts, [10 * HOUR, 5 * HOUR]))


def test_an_account_without_exchanges_or_mrr_scores_on_engagement_alone() -> None:
    (day,) = health_book.days(health_book.BookFacts(accounts=2), [HOUR])
    assert day.values["engagement"].tolist() == [0.0, 0.0]
    assert np.isnan(day.values["responsiveness"]).all()
    assert np.isnan(day.values["billing"]).all()  # never an MRR: no billing data
    # engagement 0 (never an exchange: never "no data") is the only measure with data
    assert day.score.tolist() == [0.0, 0.0]
