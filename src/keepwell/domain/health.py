"""Account health: measures, weights, bands, overrides, trend and the back-test (PRODUCT.md 5).

Each measure is 0–100, or None when the account has no data for it; the score is the weighted
mean of the measures with data (the weights renormalised over them), with a band: green
≥ 70, yellow ≥ 40 and < 70, red < 40. Nothing is rounded. Every input is plain data the
caller gathered for one account at one evaluation moment `as_of`; windows such as "the last
30 days" are the 30 × 24 hours ending at `as_of`, both ends included (PRODUCT.md 5, "Health
edges, settled", every line of which is written on the function it shapes). The caller
passes the business-time facts (answered within the SLA, the deadline, open longer than one
business day) already worked out on each request's own clock.

Decisions where PRODUCT.md 5 is silent are written on the function they shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

import numpy as np

from keepwell.domain.backtest import AucEstimate, Offer, auc_estimate, judge_offer
from keepwell.domain.nps import (
    CSAT,
    DETRACTOR,
    DISSATISFIED,
    PROMOTER,
    SATISFIED,
    SurveyResponse,
    csat_category,
    nps_category,
)
from keepwell.domain.revenue import RevenueAccount, day_start, mrr_at

RESPONSIVENESS = "responsiveness"
ENGAGEMENT = "engagement"
SENTIMENT = "sentiment"
OPEN_ISSUES = "open_issues"
BILLING = "billing"
ONBOARDING = "onboarding"
MEASURES = (RESPONSIVENESS, ENGAGEMENT, SENTIMENT, OPEN_ISSUES, BILLING, ONBOARDING)
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    dict(zip(MEASURES, (20.0, 20.0, 20.0, 15.0, 15.0, 10.0), strict=True))
)

GREEN, YELLOW, RED = "green", "yellow", "red"
BANDS = (GREEN, YELLOW, RED)
GREEN_FROM, YELLOW_FROM = 70.0, 40.0

DAY = timedelta(days=1)
RECENT_REQUESTS = 30 * DAY
ENGAGED_WITHIN = 7 * DAY
DISENGAGED_AFTER = 30 * DAY
SENTIMENT_WINDOW = 180 * DAY
FAILED_PAYMENT_WINDOW = 30 * DAY
CONTRACTION_WINDOW = 90 * DAY
OPEN_ISSUES_FOR_ZERO = 3
PASSIVE_VALUE = 60.0
CONTRACTION_VALUE = 50.0


class HealthError(ValueError):
    """Health input that cannot be computed on."""


class WeightsError(HealthError):
    """A weight configuration that is not valid; `measure` names the culprit, if one."""

    def __init__(self, message: str, measure: str | None = None) -> None:
        super().__init__(message)
        self.measure = measure


class FitError(HealthError):
    """Samples from which no weights can be fitted."""


def _within(at: datetime, as_of: datetime, window: timedelta) -> bool:
    return as_of - window <= at <= as_of


# The measures -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    """A request as responsiveness reads it: opened at its opening inbound message's instant
    (not its clock's start), its first response (None while there is none), whether that
    response came within the SLA (business time: the caller's), and its first-response
    deadline (None when it has none)."""

    opened_at: datetime
    answered_at: datetime | None = None
    within_sla: bool = False
    due_at: datetime | None = None

    def decided(self, as_of: datetime) -> bool | None:
        """At `as_of`: True answered within the SLA, False answered late or missed
        (unanswered, deadline passed), None still inside its SLA (not decided yet). An answer
        at the deadline itself is within the SLA, so the deadline passes only after it."""
        if self.answered_at is not None and self.answered_at <= as_of:
            return self.within_sla
        if self.due_at is not None and self.due_at < as_of:
            return False
        return None


def responsiveness(requests: Iterable[RequestOutcome], as_of: datetime) -> float | None:
    """The requests opened in the last 30 days whose first response is decided at `as_of`:
    the share × 100 answered within the SLA, a late answer counting against it like a miss;
    None when none is decided (PRODUCT.md 5, "Health edges, settled")."""
    recent = (r.decided(as_of) for r in requests if _within(r.opened_at, as_of, RECENT_REQUESTS))
    flags = [flag for flag in recent if flag is not None]
    return 100.0 * sum(flags) / len(flags) if flags else None


INBOUND, OUTBOUND = "inbound", "outbound"
# Activities that are a conversation with the client in themselves (PRODUCT.md 5).
EXCHANGE_ACTIVITIES = frozenset({"call", "meeting", "ebr"})


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """A message as engagement reads it: its thread, instant, direction (inbound, outbound
    or internal) and whether it was automated (a bot or an auto-reply)."""

    thread_id: str
    at: datetime
    direction: str
    automated: bool = False


def two_way_exchanges(messages: Iterable[ThreadMessage]) -> list[datetime]:
    """The instants of the two-way exchanges in messages (PRODUCT.md 5, "Health edges,
    settled"): every outbound message, not automated, that comes after an inbound message
    in its thread, and every inbound message that comes after an outbound one in its thread
    (any outbound: a client answering an automated check-in is talking to us). "After" is
    a strictly later instant: two messages of one instant are not a reply to each other.
    Internal messages take no part."""
    by_thread: dict[str, list[ThreadMessage]] = {}
    for message in messages:
        by_thread.setdefault(message.thread_id, []).append(message)
    found = []
    for thread in by_thread.values():
        first_in = min((m.at for m in thread if m.direction == INBOUND), default=None)
        first_out = min((m.at for m in thread if m.direction == OUTBOUND), default=None)
        found += [
            m.at
            for m in thread
            if (m.direction == OUTBOUND and not m.automated and _before(first_in, m.at))
            or (m.direction == INBOUND and _before(first_out, m.at))
        ]
    return found


def _before(earlier: datetime | None, at: datetime) -> bool:
    return earlier is not None and earlier < at


def last_exchange_at(
    messages: Iterable[ThreadMessage], activities: Iterable[tuple[datetime, str]], as_of: datetime
) -> datetime | None:
    """The latest two-way exchange at or before `as_of` (PRODUCT.md 5, engagement): a
    message exchange (see `two_way_exchanges`) or a call, meeting or EBR activity (`(at,
    kind)` pairs); None when there never was one."""
    talks = [at for at, kind in activities if kind in EXCHANGE_ACTIVITIES]
    return max((at for at in [*two_way_exchanges(messages), *talks] if at <= as_of), default=None)


def engagement(last_two_way_at: datetime | None, as_of: datetime) -> float:
    """100 when the last two-way exchange is at most 7 days old, 0 when it is at least 30 days
    old or there never was one, linear between on the exact age (PRODUCT.md 5). Never None:
    having no exchange is itself the signal."""
    if last_two_way_at is None:
        return 0.0
    age = as_of - last_two_way_at
    if age < timedelta(0):
        raise HealthError(f"last_two_way_at: {last_two_way_at} is after as_of {as_of}")
    if age <= ENGAGED_WITHIN:
        return 100.0
    if age >= DISENGAGED_AFTER:
        return 0.0
    return 100.0 * (DISENGAGED_AFTER - age) / (DISENGAGED_AFTER - ENGAGED_WITHIN)


def survey_value(response: SurveyResponse) -> float:
    """NPS promoter (9–10) 100, passive (7–8) 60, detractor (0–6) 0 (PRODUCT.md 5); CSAT
    read the same way: 4–5 → 100, 3 → 60, 1–2 → 0."""
    if response.kind == CSAT:
        category = csat_category(response.score)
        return 100.0 if category == SATISFIED else 0.0 if category == DISSATISFIED else 60.0
    category = nps_category(response.score)
    return 100.0 if category == PROMOTER else 0.0 if category == DETRACTOR else PASSIVE_VALUE


def sentiment(responses: Iterable[SurveyResponse], as_of: datetime) -> float | None:
    """The latest NPS or CSAT response of the last 180 days, valued by `survey_value`
    (PRODUCT.md 5); None without one. Several responses at the latest instant: the lowest
    value counts, the cautious reading."""
    recent = [r for r in responses if _within(r.at, as_of, SENTIMENT_WINDOW)]
    if not recent:
        return None
    latest = max(r.at for r in recent)
    return min(survey_value(r) for r in recent if r.at == latest)


def open_issues(count: int | None) -> float | None:
    """Requests not resolved and open longer than one business day of their own clock (the
    caller counts them in business time): 0 → 100, 1 → 66.67, 2 → 33.33, 3 or more → 0, in
    exact thirds (PRODUCT.md 5). None: no data."""
    if count is None:
        return None
    if count < 0:
        raise HealthError(f"open_issues: negative count {count}")
    return 100.0 * max(0, OPEN_ISSUES_FOR_ZERO - count) / OPEN_ISSUES_FOR_ZERO


@dataclass(frozen=True, slots=True)
class BillingFacts:
    """An account's billing: when its MRR was first above zero (None: never), its failed
    payments and its MRR contractions (see revenue.contractions_of)."""

    first_paid_at: datetime | None
    failed_payments: tuple[datetime, ...] = ()
    contractions: tuple[datetime, ...] = ()


def first_paid_at(account: RevenueAccount) -> datetime | None:
    """The first instant the account's MRR was above zero (its start, or an `mrr` line),
    None if it never was: before it, health has no billing data (PRODUCT.md 5)."""
    candidates = sorted([account.started_at, *(c.at for c in account.changes if c.mrr > 0)])
    return next((at for at in candidates if mrr_at(account, at) > 0), None)


def billing(facts: BillingFacts | None, as_of: datetime) -> float | None:
    """None (no billing data) for an account that never had an MRR above zero by `as_of`;
    else 0 with a failed payment in the last 30 days, 50 with a contraction (MRR down, not
    to zero) in the last 90, else 100 (PRODUCT.md 5, "Health edges, settled")."""
    if facts is None or facts.first_paid_at is None or facts.first_paid_at > as_of:
        return None
    if any(_within(at, as_of, FAILED_PAYMENT_WINDOW) for at in facts.failed_payments):
        return 0.0
    if any(_within(at, as_of, CONTRACTION_WINDOW) for at in facts.contractions):
        return CONTRACTION_VALUE
    return 100.0


@dataclass(frozen=True, slots=True)
class Usage:
    """Product usage against its target, in any unit the caller tracks."""

    actual: float
    target: float

    def __post_init__(self) -> None:
        if not self.target > 0 or not self.actual >= 0:
            raise HealthError(f"usage: needs actual ≥ 0 and target > 0, got {self}")


def onboarding(milestones_on_time: Sequence[bool] = (), usage: Usage | None = None) -> float | None:
    """Onboarding / adoption (PRODUCT.md 5): the share × 100 of the milestones due so far that
    were met on time; without milestones, usage ÷ target × 100, capped at 100; None with
    neither. Milestones win when both are given: the caller passes them while the account
    is onboarding and usage afterwards."""
    if milestones_on_time:
        return 100.0 * sum(milestones_on_time) / len(milestones_on_time)
    if usage is not None:
        return 100.0 * min(1.0, usage.actual / usage.target)
    return None


@dataclass(frozen=True, slots=True)
class HealthInputs:
    """What the caller knows about one account at `as_of`, nothing recorded after it."""

    as_of: datetime
    requests: tuple[RequestOutcome, ...] = ()
    messages: tuple[ThreadMessage, ...] = ()
    activities: tuple[tuple[datetime, str], ...] = ()  # (at, kind)
    surveys: tuple[SurveyResponse, ...] = ()
    open_issues: int | None = None
    billing: BillingFacts | None = None
    milestones_on_time: tuple[bool, ...] = ()
    usage: Usage | None = None


def measure_values(inputs: HealthInputs) -> dict[str, float | None]:
    """Every measure of PRODUCT.md 5 for one account at `inputs.as_of`."""
    as_of = inputs.as_of
    return {
        RESPONSIVENESS: responsiveness(inputs.requests, as_of),
        ENGAGEMENT: engagement(last_exchange_at(inputs.messages, inputs.activities, as_of), as_of),
        SENTIMENT: sentiment(inputs.surveys, as_of),
        OPEN_ISSUES: open_issues(inputs.open_issues),
        BILLING: billing(inputs.billing, as_of),
        ONBOARDING: onboarding(inputs.milestones_on_time, inputs.usage),
    }


# Weights, score, band ---------------------------------------------------------------------


def validate_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights for every measure (PRODUCT.md 5, configurable): known measures only, each a
    finite number ≥ 0, not all zero; a measure left out weighs 0."""
    unknown = sorted(set(weights) - set(MEASURES))
    if unknown:
        raise WeightsError(f"unknown measure {unknown[0]!r}", unknown[0])
    checked = {}
    for measure in MEASURES:
        weight = weights.get(measure, 0.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise WeightsError(f"{measure}: weight {weight!r} is not a number", measure)
        if not math.isfinite(weight) or weight < 0:
            raise WeightsError(f"{measure}: weight {weight} must be finite and ≥ 0", measure)
        checked[measure] = float(weight)
    if not any(checked.values()):
        raise WeightsError("weights: all are zero")
    return checked


def band_of(score: float) -> str:
    """Green ≥ 70, yellow ≥ 40 and < 70 (the "40–69" of PRODUCT.md 5), red < 40."""
    return GREEN if score >= GREEN_FROM else YELLOW if score >= YELLOW_FROM else RED


@dataclass(frozen=True, slots=True)
class Contribution:
    """One measure's part in a score: `points` = share × value, and the sum of points is the
    score; `lost` = share × (100 − value), what it cost. None for a measure without data."""

    measure: str
    value: float | None
    weight: float
    share: float | None
    points: float | None
    lost: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "weight": self.weight,
            "share": self.share,
            "points": self.points,
            "lost": self.lost,
        }


def _contribution(measure: str, value: float | None, weight: float, total: float) -> Contribution:
    if value is None or not total:
        return Contribution(measure, value, weight, None, None, None)
    share = weight / total
    return Contribution(measure, value, weight, share, share * value, share * (100.0 - value))


def score_measures(
    values: Mapping[str, float | None], weights: Mapping[str, float] = DEFAULT_WEIGHTS
) -> tuple[float | None, tuple[Contribution, ...]]:
    """The score (PRODUCT.md 5): measures with data weighted, the weights renormalised over
    them; None when no measure with a positive weight has data."""
    checked = validate_weights(weights)
    for measure, value in values.items():
        if measure not in checked:
            raise HealthError(f"unknown measure {measure!r}")
        if value is not None and not 0 <= value <= 100:
            raise HealthError(f"{measure}: value {value} is outside 0–100")
    total = sum(w for m, w in checked.items() if values.get(m) is not None)
    parts = tuple(_contribution(m, values.get(m), w, total) for m, w in checked.items())
    score = sum(p.points for p in parts if p.points is not None) if total else None
    return score, parts


@dataclass(frozen=True, slots=True)
class Override:
    """A manager's band override (PRODUCT.md 5); it applies while as_of < expires_at."""

    band: str
    reason: str
    expires_at: datetime
    by: str | None = None

    def __post_init__(self) -> None:
        if self.band not in BANDS:
            raise HealthError(f"band: {self.band!r} is not one of {', '.join(BANDS)}")
        if not self.reason.strip():
            raise HealthError("reason: an override needs one")

    @classmethod
    def until(
        cls, band: str, reason: str, expiry: date, tz: str = "UTC", by: str | None = None
    ) -> Override:
        """An override with an expiry date: it ends at that day's first instant in `tz` (the
        company zone), so it applies up to the end of the day before."""
        return cls(band, reason, day_start(expiry, tz), by)

    def applies(self, as_of: datetime) -> bool:
        return as_of < self.expires_at

    def to_json(self) -> dict[str, Any]:
        return {
            "band": self.band,
            "reason": self.reason,
            "expires_at": self.expires_at.isoformat(),
            "by": self.by,
        }


@dataclass(frozen=True, slots=True)
class HealthScore:
    """A health score with its band, the contribution of every measure and the override in
    force, if any; `computed_band` stays visible beside an override."""

    as_of: datetime
    score: float | None
    computed_band: str | None
    contributions: tuple[Contribution, ...]
    override: Override | None = None

    @property
    def band(self) -> str | None:
        return self.override.band if self.override else self.computed_band

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "score": self.score,
            "band": self.band,
            "computed_band": self.computed_band,
            "override": self.override.to_json() if self.override else None,
            "measures": {c.measure: c.to_json() for c in self.contributions},
        }


def assess(
    inputs: HealthInputs,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    override: Override | None = None,
) -> HealthScore:
    """One account's health at `inputs.as_of` (PRODUCT.md 5). An override is kept only while
    it applies; an expired one is dropped and the computed band shows again."""
    score, parts = score_measures(measure_values(inputs), weights)
    band = band_of(score) if score is not None else None
    active = override if override and override.applies(inputs.as_of) else None
    return HealthScore(inputs.as_of, score, band, parts, active)


# Trend ------------------------------------------------------------------------------------


def _latest_on_or_before(history: Mapping[date, float], day: date) -> float | None:
    known = [d for d in history if d <= day]
    return history[max(known)] if known else None


def trend(history: Mapping[date, float], today: date, days: int = 30) -> float | None:
    """The 30-day trend (PRODUCT.md 5): the score now minus the score 30 days earlier, in
    points. Each end is the latest daily score on or before its day, so a missed daily run
    does not blank the trend; None when either end has no score."""
    now = _latest_on_or_before(history, today)
    then = _latest_on_or_before(history, today - timedelta(days=days))
    return None if now is None or then is None else now - then


# Back-test --------------------------------------------------------------------------------


def roc_auc(scores: Sequence[float], churned: Sequence[bool]) -> float | None:
    """How well low scores pick out churn: the ROC AUC of −score against churned (1 = every
    churned account scored below every kept one, 0.5 = chance, ties count half); None
    when the samples hold only one class (PRODUCT.md 5)."""
    if len(scores) != len(churned):
        raise HealthError("scores and churned differ in length")
    if len(set(churned)) < 2:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([bool(c) for c in churned], [-s for s in scores]))


@dataclass(frozen=True, slots=True)
class ScoreSample:
    """An account's score at a quarter's start and whether it churned in that quarter; `band`
    is the band shown then (an override included), or None to derive it from the score."""

    quarter: str
    score: float
    churned: bool
    band: str | None = None
    account_id: str = ""

    @property
    def shown_band(self) -> str:
        return self.band or band_of(self.score)


@dataclass(frozen=True, slots=True)
class BandRate:
    accounts: int
    churned: int

    @property
    def rate(self) -> float | None:
        return self.churned / self.accounts if self.accounts else None

    def to_json(self) -> dict[str, Any]:
        return {"accounts": self.accounts, "churned": self.churned, "rate": self.rate}


@dataclass(frozen=True, slots=True)
class Backtest:
    """How last quarters' scores predicted their quarters' churn (PRODUCT.md 5), the AUC
    with its 95 % interval over accounts."""

    auc: float | None
    samples: int
    churned: int
    bands: dict[str, BandRate]
    estimate: AucEstimate | None = None

    def to_json(self) -> dict[str, Any]:
        estimate = self.estimate
        return {
            "auc": self.auc,
            "auc_low": estimate.low if estimate else None,
            "auc_high": estimate.high if estimate else None,
            "accounts": estimate.accounts if estimate else None,
            "samples": self.samples,
            "churned": self.churned,
            "bands": {b: r.to_json() for b, r in self.bands.items()},
        }


def backtest(samples: Sequence[ScoreSample]) -> Backtest:
    """ROC AUC of the score predicting churn, pooled over every sample, with its 95 %
    interval (a bootstrap over accounts: a sample without an account id stands alone), and
    the churn rate per band (every band listed, rate None when it held no account)."""
    bands = {band: _band_rate(samples, band) for band in BANDS}
    auc = roc_auc([s.score for s in samples], [s.churned for s in samples])
    estimate = auc_estimate(
        [s.score for s in samples],
        [s.churned for s in samples],
        [s.account_id or str(i) for i, s in enumerate(samples)],
    )
    return Backtest(auc, len(samples), sum(s.churned for s in samples), bands, estimate)


def backtest_by_quarter(
    samples: Sequence[ScoreSample], quarters: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The back-test of each of `quarters` on its own, in their order: its account-quarters,
    churned ones, ROC AUC (None with one class; no interval: a quarter holds few churns) and
    churn rate per band. The pooled `backtest` is the verdict; this shows whether one
    quarter carries it."""
    by_quarter: dict[str, list[ScoreSample]] = {quarter: [] for quarter in quarters}
    for sample in samples:
        by_quarter.setdefault(sample.quarter, []).append(sample)
    return {
        quarter: {
            "auc": roc_auc([s.score for s in members], [s.churned for s in members]),
            "samples": len(members),
            "churned": sum(s.churned for s in members),
            "bands": {band: _band_rate(members, band).to_json() for band in BANDS},
        }
        for quarter, members in by_quarter.items()
    }


def _band_rate(samples: Sequence[ScoreSample], band: str) -> BandRate:
    return BandRate(
        sum(s.shown_band == band for s in samples),
        sum(s.shown_band == band and s.churned for s in samples),
    )


# Fitted weights ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeasureSample:
    """An account's measures at a quarter's start and whether it churned in that quarter; a
    measure missing from `values` (or None) had no data."""

    quarter: str
    values: Mapping[str, float | None]
    churned: bool
    account_id: str = ""


@dataclass(frozen=True, slots=True)
class FittedWeights:
    """Weights fitted on an account book's own history, and whether they are offered
    (PRODUCT.md 5). `out_of_sample` is their AUC on the quarters each was not fitted on
    (fitted on the earlier quarters only), `current` the current weights' on the same
    account-quarters; `fitted_on` how many account-quarters (and churned ones) the offered
    weights were fitted on."""

    weights: dict[str, float]  # non-negative, summing to 100
    coefficients: dict[str, float]  # the model's, per measure on a 0–1 scale
    fitted_on: tuple[int, int]  # account-quarters, churned ones
    quarters_tested: tuple[str, ...]
    out_of_sample: AucEstimate
    current: AucEstimate
    offer: Offer

    @property
    def auc(self) -> float | None:
        return self.out_of_sample.auc

    def to_json(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "coefficients": self.coefficients,
            "fitted_on": {"samples": self.fitted_on[0], "churned": self.fitted_on[1]},
            "quarters_tested": list(self.quarters_tested),
            "out_of_sample": self.out_of_sample.to_json(),
            "current_out_of_sample": self.current.to_json(),
            "offered": self.offer.offered,
            "why": self.offer.why,
        }


def _neutral(samples: Sequence[MeasureSample]) -> dict[str, float]:
    """Per measure, the mean of the values the samples have (50 when none has one)."""
    neutral = {}
    for measure in MEASURES:
        seen = [v for s in samples if (v := s.values.get(measure)) is not None]
        neutral[measure] = sum(seen) / len(seen) if seen else 50.0
    return neutral


def _matrix(samples: Sequence[MeasureSample], neutral: Mapping[str, float]) -> np.ndarray:
    rows = [[_value_or(s.values.get(m), neutral[m]) / 100.0 for m in MEASURES] for s in samples]
    return np.array(rows, dtype=float)


def _value_or(value: float | None, default: float) -> float:
    return default if value is None else value


def _fit(samples: Sequence[MeasureSample], c: float) -> tuple[dict[str, float], dict[str, float]]:
    from sklearn.linear_model import LogisticRegression

    churned = [s.churned for s in samples]
    if len(set(churned)) < 2:
        raise FitError("samples: need both churned and retained accounts")
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=1000)
    model.fit(_matrix(samples, _neutral(samples)), churned)
    coefficients = dict(zip(MEASURES, (float(x) for x in model.coef_[0]), strict=True))
    protective = {m: max(0.0, -x) for m, x in coefficients.items()}
    total = sum(protective.values())
    if total <= 0:
        raise FitError("samples: no measure lowers the churn risk as it rises")
    return {m: 100.0 * x / total for m, x in protective.items()}, coefficients


def weights_auc(
    samples: Sequence[MeasureSample], weights: Mapping[str, float] = DEFAULT_WEIGHTS
) -> float | None:
    """ROC AUC of the scores `weights` give the samples against their churn (samples without
    a score left out): how the current weights did, to set beside fitted ones."""
    scored = [(score_measures(s.values, weights)[0], s.churned) for s in samples]
    kept = [(score, churned) for score, churned in scored if score is not None]
    return roc_auc([s for s, _ in kept], [c for _, c in kept])


def _out_of_sample(
    samples: Sequence[MeasureSample], c: float, current: Mapping[str, float]
) -> tuple[AucEstimate, AucEstimate, tuple[str, ...]]:
    """Walk forward: each quarter's samples scored with weights fitted on the quarters
    before it only (a quarter whose past cannot be fitted is not tested), and with the
    current weights; the AUCs of both over the pooled tested samples (those both score)."""
    tested: list[str] = []
    rows: list[tuple[float, float, bool, str]] = []
    quarters = sorted({s.quarter for s in samples})
    for quarter in quarters[1:]:
        try:
            weights, _ = _fit([s for s in samples if s.quarter < quarter], c)
        except FitError:
            continue
        tested.append(quarter)
        for s in samples:
            if s.quarter != quarter:
                continue
            fitted = score_measures(s.values, weights)[0]
            now = score_measures(s.values, current)[0]
            if fitted is not None and now is not None:
                rows.append((fitted, now, s.churned, s.account_id or f"{quarter}/{len(rows)}"))
    churned, accounts = [r[2] for r in rows], [r[3] for r in rows]
    return (
        auc_estimate([r[0] for r in rows], churned, accounts),
        auc_estimate([r[1] for r in rows], churned, accounts),
        tuple(tested),
    )


def fit_weights(
    samples: Sequence[MeasureSample],
    current: Mapping[str, float] = DEFAULT_WEIGHTS,
    c: float = 1.0,
) -> FittedWeights:
    """Weights fitted on the book's history (PRODUCT.md 5): an L2-regularised logistic
    regression (inverse strength `c`, classes balanced) of churn on the measures scaled to
    0–1, a missing value imputed with the measure's mean over the samples (neutral: it pulls
    neither way). A measure whose coefficient lowers the churn risk weighs that much; one
    that raises it weighs 0 (weights must be ≥ 0); the weights are scaled to sum to 100, so
    the score ranks accounts as the model does. Judged out of sample (fitted on earlier
    quarters, tested on later ones) against the `current` weights, and offered only as
    `backtest.judge_offer` allows. FitError when the samples cannot be fitted at all."""
    for sample in samples:
        unknown = set(sample.values) - set(MEASURES)
        if unknown:
            raise HealthError(f"unknown measure {sorted(unknown)[0]!r}")
    checked = validate_weights(current)
    weights, coefficients = _fit(samples, c)
    fitted_auc, current_auc, tested = _out_of_sample(samples, c, checked)
    churned = sum(s.churned for s in samples)
    offer = judge_offer(fitted_auc, current_auc, churned)
    return FittedWeights(
        weights, coefficients, (len(samples), churned), tested, fitted_auc, current_auc, offer
    )
