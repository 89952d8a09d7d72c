import json
import random
from datetime import date, datetime, timedelta

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
    ScoreSample,
    SlaOutcome,
    Usage,
    WeightsError,
    assess,
    backtest,
    band_of,
    billing,
    engagement,
    fit_weights,
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

AS_OF = datetime.fromisoformat("2026-10-31T12:00:00+00:00")


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def survey(kind: str, score: int, days_ago: float = 1) -> SurveyResponse:
    return SurveyResponse("acme", ago(days_ago), kind, score)


# Responsiveness


def test_it_scores_responsiveness_as_the_share_answered_within_the_sla() -> None:
    requests = [SlaOutcome(ago(1), True), SlaOutcome(ago(2), True), SlaOutcome(ago(3), False)]
    assert responsiveness(requests, AS_OF) == pytest.approx(200 / 3)


def test_it_counts_requests_of_exactly_thirty_days_ago_and_not_older() -> None:
    requests = [SlaOutcome(ago(30), True), SlaOutcome(ago(30.0001), False)]
    assert responsiveness(requests, AS_OF) == 100


def test_it_has_no_responsiveness_without_recent_requests() -> None:
    assert responsiveness([SlaOutcome(ago(40), True)], AS_OF) is None


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


def test_it_zeroes_billing_on_a_failed_payment_in_thirty_days() -> None:
    facts = BillingFacts(failed_payments=(ago(30),), contractions=(ago(5),))
    assert billing(facts, AS_OF) == 0


def test_it_halves_billing_on_a_contraction_in_ninety_days() -> None:
    facts = BillingFacts(failed_payments=(ago(31),), contractions=(ago(90),))
    assert billing(facts, AS_OF) == 50
    assert billing(BillingFacts(contractions=(ago(91),)), AS_OF) == 100


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
    assert assess(HealthInputs(AS_OF, last_two_way_at=None), {BILLING: 1}).band is None


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
        requests=(SlaOutcome(ago(1), False),),
        last_two_way_at=ago(40),
        surveys=(survey("nps", 3),),
        open_issues=4,
        billing=BillingFacts(failed_payments=(ago(2),)),
    )
    health = assess(inputs)
    assert health.score == 0
    assert health.band == "red"
    assert health.to_json()["measures"]["onboarding"]["value"] is None
    json.dumps(health.to_json())


# Overrides


def test_it_applies_an_override_until_its_expiry_and_keeps_the_computed_band() -> None:
    inputs = HealthInputs(AS_OF, last_two_way_at=ago(1))
    override = Override("yellow", "Champion left", expires_at=AS_OF + timedelta(seconds=1))
    health = assess(inputs, override=override)
    assert (health.band, health.computed_band, health.score) == ("yellow", "green", 100)
    assert health.to_json()["override"]["reason"] == "Champion left"


def test_it_drops_an_override_at_its_expiry() -> None:
    inputs = HealthInputs(AS_OF, last_two_way_at=ago(1))
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
    assert fitted.quarters_tested == ("2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3")
    assert fitted.auc is not None and fitted.auc > 0.9
    json.dumps(fitted.to_json())


def test_it_backtests_fitted_weights_at_least_as_well_as_the_defaults_when_one_measure_rules() -> (
    None
):
    samples = synthetic_history(seed=11)
    fitted = fit_weights(samples)
    default_auc = weights_auc(samples)
    assert fitted.auc is not None and default_auc is not None
    assert fitted.auc > default_auc


def test_it_cannot_fit_weights_without_churn() -> None:
    samples = [MeasureSample("2026-Q3", {ENGAGEMENT: v}, False) for v in (10.0, 90.0)]
    with pytest.raises(FitError, match="both"):
        fit_weights(samples)


def test_it_has_no_backtested_auc_with_a_single_quarter() -> None:
    samples = [MeasureSample("2026-Q3", {ENGAGEMENT: v}, v < 50) for v in (10.0, 20.0, 80.0, 90.0)]
    fitted = fit_weights(samples)
    assert fitted.auc is None
    assert fitted.quarters_tested == ()
