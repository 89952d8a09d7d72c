import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from keepwell.domain.health import (
    BILLING,
    DEFAULT_WEIGHTS,
    ENGAGEMENT,
    MEASURES,
    RESPONSIVENESS,
    BillingFacts,
    FitError,
    HealthInputs,
    MeasureSample,
    Override,
    RequestOutcome,
    ScoreSample,
    ThreadMessage,
    Usage,
    WeightsError,
    assess,
    backtest,
    backtest_by_quarter,
    band_of,
    billing,
    engagement,
    first_paid_at,
    fit_weights,
    last_exchange_at,
    onboarding,
    open_issues,
    responsiveness,
    roc_auc,
    score_measures,
    sentiment,
    trend,
    validate_weights,
    weights_auc,
)
from keepwell.domain.nps import SurveyResponse
from keepwell.domain.revenue import MrrChange, RevenueAccount

AS_OF = datetime.fromisoformat("2026-10-31T12:00:00+00:00")


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def survey(kind: str, score: int, days_ago: float = 1) -> SurveyResponse:
    return SurveyResponse("acme", ago(days_ago), kind, score)


# Responsiveness


def answered(opened_days_ago: float, within: bool) -> RequestOutcome:
    """A request answered an hour after it opened, within the SLA or not."""
    opened = ago(opened_days_ago)
    return RequestOutcome(opened, opened + timedelta(hours=1), within, opened + timedelta(hours=2))


def test_it_scores_responsiveness_as_the_share_answered_within_the_sla() -> None:
    requests = [answered(1, True), answered(2, True), answered(3, False)]
    assert responsiveness(requests, AS_OF) == pytest.approx(200 / 3)


def test_it_counts_requests_of_exactly_thirty_days_ago_and_not_older() -> None:
    requests = [answered(30, True), answered(30.0001, False)]
    assert responsiveness(requests, AS_OF) == 100


def test_it_has_no_responsiveness_without_recent_requests() -> None:
    assert responsiveness([answered(40, True)], AS_OF) is None


# Engagement


def test_it_gives_full_engagement_up_to_seven_days() -> None:
    assert engagement(ago(7), AS_OF) == 100
    assert engagement(ago(7.01), AS_OF) < 100


def test_it_gives_no_engagement_from_thirty_days() -> None:
    assert engagement(ago(30), AS_OF) == 0
    assert engagement(ago(29.99), AS_OF) > 0
    assert engagement(None, AS_OF) == 0


def test_it_scales_engagement_linearly_between() -> None:
    assert engagement(ago(18.5), AS_OF) == pytest.approx(50)


def test_it_refuses_an_exchange_after_the_evaluation_moment() -> None:
    with pytest.raises(ValueError, match="after as_of"):
        engagement(AS_OF + timedelta(seconds=1), AS_OF)


# Sentiment


def test_it_values_nps_promoters_passives_and_detractors() -> None:
    assert [sentiment([survey("nps", s)], AS_OF) for s in (10, 9, 8, 7, 6, 0)] == [
        100,
        100,
        60,
        60,
        0,
        0,
    ]


def test_it_values_csat_the_same_way() -> None:
    assert [sentiment([survey("csat", s)], AS_OF) for s in (5, 4, 3, 2, 1)] == [100, 100, 60, 0, 0]


def test_it_takes_the_latest_response_of_the_last_180_days() -> None:
    responses = [survey("nps", 0, days_ago=10), survey("nps", 10, days_ago=2)]
    assert sentiment(responses, AS_OF) == 100
    assert sentiment([survey("nps", 10, days_ago=180)], AS_OF) == 100
    assert sentiment([survey("nps", 10, days_ago=180.001)], AS_OF) is None


# Open issues


def test_it_scores_open_issues_linearly_down_to_zero_at_three() -> None:
    values = [open_issues(n) for n in (0, 1, 2, 3, 7)]
    assert values == pytest.approx([100, 200 / 3, 100 / 3, 0, 0])
    assert open_issues(None) is None


# Billing


PAYING = ago(400)  # the MRR was above zero long before


def test_it_zeroes_billing_on_a_failed_payment_in_thirty_days() -> None:
    facts = BillingFacts(PAYING, failed_payments=(ago(30),), contractions=(ago(5),))
    assert billing(facts, AS_OF) == 0


def test_it_halves_billing_on_a_contraction_in_ninety_days() -> None:
    facts = BillingFacts(PAYING, failed_payments=(ago(31),), contractions=(ago(90),))
    assert billing(facts, AS_OF) == 50
    assert billing(BillingFacts(PAYING, contractions=(ago(91),)), AS_OF) == 100


def test_it_has_no_billing_measure_without_billing_data() -> None:
    assert billing(None, AS_OF) is None


# Onboarding / adoption


def test_it_scores_onboarding_by_milestones_on_time_then_by_usage() -> None:
    assert onboarding([True, True, False, True]) == 75
    assert onboarding((), Usage(actual=30, target=40)) == 75
    assert onboarding((), Usage(actual=90, target=40)) == 100
    assert onboarding([False], Usage(actual=40, target=40)) == 0
    assert onboarding() is None


# Weights, score and band


def test_it_weighs_all_measures_by_default() -> None:
    assert sum(DEFAULT_WEIGHTS.values()) == 100
    score, parts = score_measures(dict.fromkeys(MEASURES, 100.0))
    assert score == pytest.approx(100)
    assert [p.share for p in parts] == pytest.approx([0.2, 0.2, 0.2, 0.15, 0.15, 0.1])


def test_it_renormalises_the_weights_over_the_measures_with_data() -> None:
    values = {RESPONSIVENESS: 100.0, ENGAGEMENT: 50.0, BILLING: None}
    score, parts = score_measures(values)
    assert score == pytest.approx(75)
    by_measure = {p.measure: p for p in parts}
    assert by_measure[RESPONSIVENESS].share == pytest.approx(0.5)
    assert by_measure[ENGAGEMENT].points == pytest.approx(25)
    assert by_measure[ENGAGEMENT].lost == pytest.approx(25)
    assert by_measure[BILLING].points is None


def test_it_has_no_score_when_no_measure_has_data() -> None:
    assert score_measures({})[0] is None
    assert assess(HealthInputs(AS_OF), {BILLING: 1}).band is None


def test_it_bands_at_seventy_and_forty() -> None:
    assert [band_of(s) for s in (100, 70, 69.999, 40, 39.999, 0)] == [
        "green",
        "green",
        "yellow",
        "yellow",
        "red",
        "red",
    ]


def test_it_validates_configured_weights() -> None:
    assert validate_weights({ENGAGEMENT: 1})[BILLING] == 0
    with pytest.raises(WeightsError, match="all are zero"):
        validate_weights(dict.fromkeys(MEASURES, 0))
    with pytest.raises(WeightsError, match="billing") as caught:
        validate_weights({BILLING: -1})
    assert caught.value.measure == BILLING
    with pytest.raises(WeightsError, match="mood"):
        validate_weights({"mood": 5})
    with pytest.raises(WeightsError, match="finite"):
        validate_weights({BILLING: float("nan")})


def test_it_scores_with_configured_weights() -> None:
    values = {RESPONSIVENESS: 100.0, ENGAGEMENT: 0.0}
    score, _ = score_measures(values, {RESPONSIVENESS: 3, ENGAGEMENT: 1})
    assert score == pytest.approx(75)


def test_it_assesses_an_account_from_plain_inputs() -> None:
    inputs = HealthInputs(
        AS_OF,
        requests=(answered(1, False),),
        activities=((ago(40), "meeting"),),
        surveys=(survey("nps", 3),),
        open_issues=4,
        billing=BillingFacts(PAYING, failed_payments=(ago(2),)),
    )
    health = assess(inputs)
    assert health.score == 0
    assert health.band == "red"
    assert health.to_json()["measures"]["onboarding"]["value"] is None
    json.dumps(health.to_json())


# Overrides


def test_it_applies_an_override_until_its_expiry_and_keeps_the_computed_band() -> None:
    inputs = HealthInputs(AS_OF, activities=((ago(1), "call"),))
    override = Override("yellow", "Champion left", expires_at=AS_OF + timedelta(seconds=1))
    health = assess(inputs, override=override)
    assert (health.band, health.computed_band, health.score) == ("yellow", "green", 100)
    assert health.to_json()["override"]["reason"] == "Champion left"


def test_it_drops_an_override_at_its_expiry() -> None:
    inputs = HealthInputs(AS_OF, activities=((ago(1), "call"),))
    override = Override("red", "Renewal at risk", expires_at=AS_OF)
    health = assess(inputs, override=override)
    assert (health.band, health.override) == ("green", None)


def test_it_ends_an_override_with_an_expiry_date_at_that_days_start_in_the_zone() -> None:
    override = Override.until("red", "Renewal at risk", date(2026, 11, 2), "Europe/Kyiv")
    assert override.expires_at == datetime.fromisoformat("2026-11-01T22:00:00+00:00")
    assert override.applies(datetime.fromisoformat("2026-11-01T21:59:59+00:00"))
    assert not override.applies(datetime.fromisoformat("2026-11-01T22:00:00+00:00"))


def test_it_refuses_an_override_without_a_reason_or_with_an_unknown_band() -> None:
    with pytest.raises(ValueError, match="reason"):
        Override("red", " ", AS_OF)
    with pytest.raises(ValueError, match="band"):
        Override("amber", "why", AS_OF)


# Trend


def test_it_trends_as_the_score_now_minus_thirty_days_ago() -> None:
    today = date(2026, 10, 31)
    history = {today: 55.0, today - timedelta(days=30): 80.0, today - timedelta(days=10): 60.0}
    assert trend(history, today) == pytest.approx(-25)


def test_it_bridges_a_missed_day_with_the_latest_earlier_score() -> None:
    today = date(2026, 10, 31)
    history = {today - timedelta(days=1): 70.0, today - timedelta(days=32): 50.0}
    assert trend(history, today) == pytest.approx(20)


def test_it_has_no_trend_without_a_score_thirty_days_back() -> None:
    today = date(2026, 10, 31)
    assert trend({today: 70.0, today - timedelta(days=29): 60.0}, today) is None


# Back-test


def test_it_computes_the_auc_of_low_scores_predicting_churn() -> None:
    # Churned accounts scored 10 and 30, kept ones 20 and 40: 3 of 4 pairs ordered right.
    assert roc_auc([10, 20, 30, 40], [True, False, True, False]) == pytest.approx(0.75)
    assert roc_auc([10, 20, 80, 90], [True, True, False, False]) == 1.0
    assert roc_auc([50, 50], [True, False]) == 0.5
    assert roc_auc([10, 20], [False, False]) is None


def test_it_reports_churn_per_band() -> None:
    samples = [
        ScoreSample("2026-Q2", 20, True),
        ScoreSample("2026-Q2", 30, False),
        ScoreSample("2026-Q2", 50, True),
        ScoreSample("2026-Q3", 90, False),
        ScoreSample("2026-Q3", 95, False, band="red"),  # overridden
    ]
    result = backtest(samples)
    assert result.bands["red"].rate == pytest.approx(1 / 3)
    assert result.bands["yellow"].rate == 1.0
    assert result.bands["green"].rate == 0.0
    assert (result.samples, result.churned) == (5, 2)
    json.dumps(result.to_json())


def synthetic_history(seed: int = 7) -> list[MeasureSample]:
    """Churn is decided by engagement alone; the other measures are noise, some missing."""
    rng = random.Random(seed)
    samples = []
    for quarter in ("2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"):
        for _ in range(60):
            engaged = rng.uniform(0, 100)
            values: dict[str, float | None] = {m: rng.uniform(0, 100) for m in MEASURES}
            values[ENGAGEMENT] = engaged
            values[BILLING] = None if rng.random() < 0.3 else values[BILLING]
            churned = engaged < 35
            samples.append(MeasureSample(quarter, values, churned))
    return samples


def test_it_fits_the_largest_weight_to_the_measure_that_decides_churn() -> None:
    fitted = fit_weights(synthetic_history())
    assert max(fitted.weights, key=lambda m: fitted.weights[m]) == ENGAGEMENT
    assert sum(fitted.weights.values()) == pytest.approx(100)
    assert all(w >= 0 for w in fitted.weights.values())
    # Walked forward: each later quarter scored with weights fitted on the earlier ones.
    assert fitted.quarters_tested == ("2026-Q1", "2026-Q2", "2026-Q3")
    assert fitted.auc is not None and fitted.auc > 0.9
    json.dumps(fitted.to_json())


def test_it_offers_fitted_weights_that_beat_the_current_ones_out_of_sample() -> None:
    samples = synthetic_history(seed=11)
    fitted = fit_weights(samples)
    # Engagement alone decides churn; the defaults give it a fifth of the weight.
    assert fitted.current.high is not None and fitted.auc is not None
    assert fitted.auc > fitted.current.high
    assert fitted.fitted_on[1] >= 20
    assert fitted.offer.offered, fitted.offer.why
    assert weights_auc(samples) == pytest.approx(weights_auc(samples, DEFAULT_WEIGHTS))


def test_it_does_not_offer_weights_with_fewer_than_20_churned_account_quarters() -> None:
    # The same clear signal, but only 16 churned account-quarters behind it.
    samples = [
        MeasureSample(q, {ENGAGEMENT: float(v)}, v < 20, f"a-{v}")
        for q in ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4")
        for v in range(0, 100, 5)
    ]
    fitted = fit_weights(samples, {ENGAGEMENT: 1, BILLING: 1})
    assert fitted.fitted_on == (80, 16)
    assert not fitted.offer.offered
    assert "only 16 churned account-quarters" in fitted.offer.why


def test_random_scores_give_an_interval_around_chance_and_no_offer() -> None:
    # Churn and every measure drawn at random: nothing to predict. The AUC's interval
    # holds 0.5, and weights fitted on noise are not offered although 20+ churned.
    rng = random.Random(3)
    samples = [
        MeasureSample(
            quarter, {m: rng.uniform(0, 100) for m in MEASURES}, rng.random() < 0.3, f"a-{i}"
        )
        for quarter in ("2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3")
        for i in range(100)
    ]
    fitted = fit_weights(samples)
    assert fitted.fitted_on[1] >= 20
    for estimate in (fitted.out_of_sample, fitted.current):
        assert estimate.low is not None and estimate.high is not None
        assert estimate.low < 0.5 < estimate.high
    assert not fitted.offer.offered
    assert "not beyond the interval" in fitted.offer.why


def test_it_cannot_fit_weights_without_churn() -> None:
    samples = [MeasureSample("2026-Q3", {ENGAGEMENT: v}, False) for v in (10.0, 90.0)]
    with pytest.raises(FitError, match="both"):
        fit_weights(samples)


def test_it_has_no_backtested_auc_with_a_single_quarter() -> None:
    samples = [MeasureSample("2026-Q3", {ENGAGEMENT: v}, v < 50) for v in (10.0, 20.0, 80.0, 90.0)]
    fitted = fit_weights(samples)
    assert fitted.auc is None
    assert fitted.quarters_tested == ()
    assert not fitted.offer.offered


def test_it_backtests_each_quarter_on_its_own() -> None:
    # Q2: the churned account scored 30 (red), the kept 80 (green): AUC 1. Q3: one green
    # account kept, overridden to yellow; one yellow account churned: one class per band.
    samples = [
        ScoreSample("2026-Q2", 30.0, True, account_id="a"),
        ScoreSample("2026-Q2", 80.0, False, account_id="b"),
        ScoreSample("2026-Q3", 90.0, False, band="yellow", account_id="b"),
        ScoreSample("2026-Q3", 50.0, True, account_id="c"),
    ]
    by_quarter = backtest_by_quarter(samples, ["2026-Q1", "2026-Q2", "2026-Q3"])
    assert list(by_quarter) == ["2026-Q1", "2026-Q2", "2026-Q3"]
    assert by_quarter["2026-Q1"]["samples"] == 0 and by_quarter["2026-Q1"]["auc"] is None
    q2, q3 = by_quarter["2026-Q2"], by_quarter["2026-Q3"]
    assert (q2["auc"], q2["samples"], q2["churned"]) == (1.0, 2, 1)
    assert q2["bands"]["red"] == {"accounts": 1, "churned": 1, "rate": 1.0}
    assert q2["bands"]["yellow"] == {"accounts": 0, "churned": 0, "rate": None}
    assert q3["bands"]["yellow"] == {"accounts": 2, "churned": 1, "rate": 0.5}
    pooled = backtest(samples).to_json()["bands"]
    assert pooled["yellow"]["accounts"] == sum(
        q["bands"]["yellow"]["accounts"] for q in by_quarter.values()
    )


# The settled edges of PRODUCT.md 5, one by one, each value worked out in its comment


def said(thread: str, days_ago: float, direction: str, automated: bool = False) -> ThreadMessage:
    return ThreadMessage(thread, ago(days_ago), direction, automated)


def test_an_exchange_exactly_seven_days_old_is_full_engagement() -> None:
    # The client asked 8 days ago, we answered exactly 7 × 24 h before the instant: age 7 d,
    # at most 7 days old → 100.
    messages = [said("t-1", 8, "inbound"), said("t-1", 7, "outbound")]
    assert last_exchange_at(messages, [], AS_OF) == ago(7)
    assert engagement(last_exchange_at(messages, [], AS_OF), AS_OF) == 100


def test_an_exchange_exactly_thirty_days_old_is_no_engagement() -> None:
    # Answered exactly 30 × 24 h before the instant: 30 days old or more → 0; a second less
    # old would be 100 × (30 d − age) / 23 d, just above 0.
    messages = [said("t-1", 31, "inbound"), said("t-1", 30, "outbound")]
    assert engagement(last_exchange_at(messages, [], AS_OF), AS_OF) == 0
    younger = [said("t-1", 31, "inbound"), said("t-1", 30 - 1 / 86400, "outbound")]
    expected = 100 * (1 / 86400) / 23  # one second into the linear stretch
    assert engagement(last_exchange_at(younger, [], AS_OF), AS_OF) == pytest.approx(expected)


def test_engagement_is_linear_on_the_exact_age_not_whole_days() -> None:
    # 18 days 12 hours old: 100 × (30 − 18.5) / (30 − 7) = 50 exactly.
    messages = [said("t-1", 20, "inbound"), said("t-1", 18.5, "outbound")]
    assert engagement(last_exchange_at(messages, [], AS_OF), AS_OF) == pytest.approx(50)


def test_a_client_reply_to_outreach_is_an_exchange() -> None:
    # We wrote first (outreach, 10 days ago: no inbound before it, not an exchange); the
    # client answered 3 days ago: an inbound after an outbound in its thread → 100.
    outreach = [said("t-1", 10, "outbound")]
    assert last_exchange_at(outreach, [], AS_OF) is None
    replied = [*outreach, said("t-1", 3, "inbound")]
    assert last_exchange_at(replied, [], AS_OF) == ago(3)
    assert engagement(ago(3), AS_OF) == 100


def test_a_meeting_call_or_ebr_is_an_exchange_and_a_check_in_is_not() -> None:
    # A meeting 12 days ago: 100 × (30 − 12) / 23 = 78.26…; the check-in 1 day ago is
    # one-way outreach and does not count.
    activities = [(ago(12), "meeting"), (ago(1), "check_in")]
    assert last_exchange_at([], activities, AS_OF) == ago(12)
    assert engagement(ago(12), AS_OF) == pytest.approx(100 * 18 / 23)
    assert last_exchange_at([], [(ago(2), "call"), (ago(4), "ebr")], AS_OF) == ago(2)


def test_a_follow_up_after_the_first_response_is_an_exchange() -> None:
    # Asked 20 days ago, answered 19, followed up 2 days ago (still after the inbound):
    # the latest exchange is the follow-up, 2 days old → 100.
    messages = [said("t-1", 20, "inbound"), said("t-1", 19, "outbound"), said("t-1", 2, "outbound")]
    assert last_exchange_at(messages, [], AS_OF) == ago(2)


def test_an_automated_reply_is_not_an_exchange_nor_an_internal_note() -> None:
    # The only outbound after the client's message is an auto-reply; the note is internal:
    # no exchange, engagement 0.
    messages = [
        said("t-1", 3, "inbound"),
        said("t-1", 2, "outbound", automated=True),
        said("t-1", 1, "internal"),
    ]
    assert last_exchange_at(messages, [], AS_OF) is None


def test_an_exchange_after_the_instant_does_not_count() -> None:
    # The reply lands a second after the instant: the latest exchange at or before it is
    # the older one, 9 days old: 100 × 21 / 23.
    messages = [
        said("t-1", 10, "inbound"),
        said("t-1", 9, "outbound"),
        said("t-1", -1 / 86400, "outbound"),
    ]
    assert last_exchange_at(messages, [], AS_OF) == ago(9)


def test_a_survey_exactly_180_days_old_still_counts() -> None:
    # An NPS 6 (detractor, 0) exactly 180 × 24 h before the instant: inside the window → 0,
    # not "no data".
    assert sentiment([survey("nps", 6, days_ago=180)], AS_OF) == 0


def test_an_nps_and_a_csat_at_one_instant_count_as_the_lowest() -> None:
    # NPS 9 → 100 and CSAT 3 → 60 at the same latest instant: the lowest, 60; an older
    # CSAT 1 (0) is not the latest and plays no part.
    responses = [survey("nps", 9, 5), survey("csat", 3, 5), survey("csat", 1, 20)]
    assert sentiment(responses, AS_OF) == 60


def test_a_first_response_at_exactly_the_instant_is_decided() -> None:
    # Answered at the instant itself (at or before it) within the SLA: 1 of 1 → 100.
    request = RequestOutcome(ago(0.01), answered_at=AS_OF, within_sla=True, due_at=AS_OF)
    assert responsiveness([request], AS_OF) == 100


def test_a_request_still_inside_its_sla_is_left_out() -> None:
    # Unanswered, deadline an hour ahead (or at the instant itself: an answer then would
    # still be in time): not decided. The other request was answered late: 0 of 1 → 0.
    waiting = RequestOutcome(ago(0.01), due_at=AS_OF + timedelta(hours=1))
    due_now = RequestOutcome(ago(0.02), due_at=AS_OF)
    late = answered(2, within=False)
    assert responsiveness([waiting, due_now], AS_OF) is None  # none decided: no data
    assert responsiveness([waiting, due_now, late], AS_OF) == 0


def test_a_missed_request_counts_against_responsiveness() -> None:
    # Unanswered, deadline passed a second ago: missed; with one answered in time: 1 of 2.
    missed = RequestOutcome(ago(1), due_at=AS_OF - timedelta(seconds=1))
    assert responsiveness([missed, answered(3, True)], AS_OF) == 50
    # Answered after the instant but past its deadline before it: missed at the instant.
    answered_later = RequestOutcome(ago(1), AS_OF + timedelta(hours=1), False, ago(0.5))
    assert responsiveness([answered_later], AS_OF) == 0


def test_open_issues_fall_in_exact_thirds() -> None:
    # 1 open longer than a business day → 200/3, 2 → 100/3, exactly, unrounded.
    assert open_issues(1) == 200 / 3
    assert open_issues(2) == 100 / 3


def test_a_contraction_exactly_90_days_old_still_halves_billing() -> None:
    # MRR went down exactly 90 × 24 h before the instant: inside the window → 50.
    assert billing(BillingFacts(PAYING, contractions=(ago(90),)), AS_OF) == 50


def test_an_account_that_never_had_an_mrr_has_no_billing_data() -> None:
    # A pilot at MRR 0: billing None, so the score renormalises over the other measures:
    # engagement 100 (a call a day ago) alone → 100, not (100 × 20 + 100 × 15) / 35.
    assert billing(BillingFacts(None), AS_OF) is None
    inputs = HealthInputs(AS_OF, activities=((ago(1), "call"),), billing=BillingFacts(None))
    assert assess(inputs).score == 100
    # A first MRR only after the instant: no billing data yet either.
    assert billing(BillingFacts(AS_OF + timedelta(seconds=1)), AS_OF) is None


def test_the_first_paid_instant_is_the_first_mrr_above_zero() -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    pilot = RevenueAccount("p", "USD", started, Decimal(0))
    assert first_paid_at(pilot) is None
    converted = RevenueAccount(
        "p",
        "USD",
        started,
        Decimal(0),
        (MrrChange(ago(10), Decimal(0)), MrrChange(ago(5), Decimal(99))),
    )
    assert first_paid_at(converted) == ago(5)
    paying = RevenueAccount("q", "USD", started, Decimal(10))
    assert first_paid_at(paying) == started
