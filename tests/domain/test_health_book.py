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


hours = st.integers(0, SPAN_HOURS)
maybe_hours = st.one_of(st.none(), hours)
coarse_hours = st.integers(0, 20).map(lambda day: day * 240)  # ties at one instant are likely


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
        contractions=_events(book["contractions"]),
        failed_payments=_events(book["failed"]),
    )


def scalar_inputs(
    book: dict, account: int, as_of: datetime, open_issues: int
) -> health.HealthInputs:
    """What the service gathers for one account, by the rules it documents."""
    outcomes = []
    answers = []
    for a, opened, answered, within, due in book["requests"]:
        if a != account:
            continue
        if answered is not None and instant(answered) <= as_of:
            answers.append(instant(answered))
        if instant(opened) > as_of:
            continue
        if answered is not None and instant(answered) <= as_of:
            outcomes.append(health.SlaOutcome(instant(opened), within))
        elif due is not None and instant(due) <= as_of:
            outcomes.append(health.SlaOutcome(instant(opened), False))
    surveys = tuple(
        SurveyResponse(str(a), instant(at), kind, score)
        for a, at, kind, score in book["surveys"]
        if a == account and instant(at) <= as_of
    )
    return health.HealthInputs(
        as_of=as_of,
        requests=tuple(outcomes),
        last_two_way_at=max(answers, default=None),
        surveys=surveys,
        open_issues=open_issues,
        billing=health.BillingFacts(
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


def test_a_missing_response_counts_as_never_engaged() -> None:
    (day,) = health_book.days(health_book.BookFacts(accounts=2), [HOUR])
    assert day.values["engagement"].tolist() == [0.0, 0.0]
    assert np.isnan(day.values["responsiveness"]).all()
    # engagement 0 and billing 100 are the only measures with data
    assert day.score.tolist() == pytest.approx([100 * 15 / 35] * 2)
