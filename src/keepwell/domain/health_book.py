"""Account health for a whole book on many days at once (PRODUCT.md 5), as arrays.

The same measures, score and band that `health` computes for one account at one moment,
for every account of the book at each of a run of evaluation moments, without a Python
loop per account: a daily history of 10,000 accounts over 90 days is 900,000 scores. The
facts are plain arrays indexed by account number (0 … accounts − 1), instants are int64
microseconds since the epoch, and a missing instant is `NONE`. Tests hold every figure equal
to the scalar functions of `health`, which stay the definition.

Moments must be given in increasing order: the running facts (the last two-way exchange,
whether an account is active) are advanced from one moment to the next instead of being
recomputed from scratch.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from keepwell.domain.health import (
    BILLING,
    CONTRACTION_VALUE,
    CONTRACTION_WINDOW,
    DEFAULT_WEIGHTS,
    DISENGAGED_AFTER,
    ENGAGED_WITHIN,
    ENGAGEMENT,
    FAILED_PAYMENT_WINDOW,
    GREEN,
    GREEN_FROM,
    MEASURES,
    ONBOARDING,
    OPEN_ISSUES,
    OPEN_ISSUES_FOR_ZERO,
    RECENT_REQUESTS,
    RED,
    RESPONSIVENESS,
    SENTIMENT,
    SENTIMENT_WINDOW,
    YELLOW,
    YELLOW_FROM,
    HealthError,
    validate_weights,
)

NONE = np.iinfo(np.int64).min
Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]


def _micros(window: timedelta) -> int:
    return window // timedelta(microseconds=1)


RECENT, ENGAGED, DISENGAGED = map(_micros, (RECENT_REQUESTS, ENGAGED_WITHIN, DISENGAGED_AFTER))
SENTIMENT_SPAN, FAILED_SPAN, CONTRACTION_SPAN = map(
    _micros, (SENTIMENT_WINDOW, FAILED_PAYMENT_WINDOW, CONTRACTION_WINDOW)
)


def _ints(values: object = ()) -> Ints:
    return np.asarray(values, dtype=np.int64)


@dataclass(frozen=True)
class Events:
    """Instants stamped on accounts: `account[i]` had an event at `at[i]`; `value[i]` is
    what it says, when the kind of event carries a number."""

    account: Ints = field(default_factory=_ints)
    at: Ints = field(default_factory=_ints)
    value: Floats = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        if not len(self.account) == len(self.at):
            raise HealthError("events: account and at differ in length")
        if len(self.value) not in (0, len(self.at)):
            raise HealthError("events: value and at differ in length")

    def sorted_by_time(self) -> Events:
        order = np.argsort(self.at, kind="stable")
        value = self.value[order] if len(self.value) else self.value
        return Events(self.account[order], self.at[order], value)

    def between(self, lo: int, hi: int) -> Events:
        """The events with lo ≤ at ≤ hi (the events must be sorted by time)."""
        first = int(np.searchsorted(self.at, lo, side="left"))
        last = int(np.searchsorted(self.at, hi, side="right"))
        value = self.value[first:last] if len(self.value) else self.value
        return Events(self.account[first:last], self.at[first:last], value)

    def any_per_account(self, accounts: int) -> Flags:
        return np.bincount(self.account, minlength=accounts)[:accounts] > 0


@dataclass(frozen=True)
class Requests:
    """Requests: the account, when each opened, its first response (NONE while there is
    none), whether that response came within the SLA (the caller decides, in business time),
    and its first-response deadline (NONE when unknown)."""

    account: Ints
    opened: Ints
    answered: Ints
    within_sla: Flags
    due: Ints

    def __post_init__(self) -> None:
        lengths = {len(a) for a in (self.opened, self.answered, self.within_sla, self.due)}
        if lengths != {len(self.account)}:
            raise HealthError("requests: the arrays differ in length")

    @classmethod
    def empty(cls) -> Requests:
        return cls(_ints(), _ints(), _ints(), np.zeros(0, dtype=bool), _ints())

    def sorted_by_opening(self) -> Requests:
        order = np.argsort(self.opened, kind="stable")
        return Requests(
            self.account[order],
            self.opened[order],
            self.answered[order],
            self.within_sla[order],
            self.due[order],
        )


@dataclass(frozen=True)
class Messages:
    """Inbound and outbound messages (internal ones take no part: leave them out): the
    account, the instant, inbound or not (outbound), whether automated, and the instants of
    the first inbound and the first outbound message of the message's thread (NONE when
    the thread has none)."""

    account: Ints = field(default_factory=_ints)
    at: Ints = field(default_factory=_ints)
    inbound: Flags = field(default_factory=lambda: np.zeros(0, dtype=bool))
    automated: Flags = field(default_factory=lambda: np.zeros(0, dtype=bool))
    first_inbound: Ints = field(default_factory=_ints)
    first_outbound: Ints = field(default_factory=_ints)

    def __post_init__(self) -> None:
        arrays = (self.at, self.inbound, self.automated, self.first_inbound, self.first_outbound)
        if {len(a) for a in arrays} | {len(self.account)} != {len(self.account)}:
            raise HealthError("messages: the arrays differ in length")

    def exchanges(self) -> Events:
        """`health.two_way_exchanges`: an outbound message, not automated, later than its
        thread's first inbound one; an inbound message later than its thread's first
        outbound one."""
        outbound = ~self.inbound
        after_in = (self.first_inbound != NONE) & (self.first_inbound < self.at)
        after_out = (self.first_outbound != NONE) & (self.first_outbound < self.at)
        replies = (outbound & ~self.automated & after_in) | (self.inbound & after_out)
        return Events(self.account[replies], self.at[replies])


@dataclass(frozen=True)
class BookFacts:
    """What the measures read, for `accounts` accounts.

    `activity` holds the events that start (value 1) and end (value 0) an account's active
    life, churns and reactivations included; `messages` and `talks` (call, meeting and EBR
    activities) make the two-way exchanges; `surveys` carry their health value
    (`health.survey_value`). `first_paid` is the instant each account's MRR was first
    above zero (NONE: never; None: no account ever had one): billing has no data before.
    `onboarding` is each account's onboarding value, NaN without data (None: no account
    has any).
    """

    accounts: int
    requests: Requests = field(default_factory=Requests.empty)
    activity: Events = field(default_factory=Events)
    messages: Messages = field(default_factory=Messages)
    talks: Events = field(default_factory=Events)
    surveys: Events = field(default_factory=Events)
    contractions: Events = field(default_factory=Events)
    failed_payments: Events = field(default_factory=Events)
    first_paid: Ints | None = None
    onboarding: Floats | None = None


@dataclass(frozen=True)
class Day:
    """The book at one moment: which accounts are active, every measure per account (NaN
    where an account has no data) and the score (NaN: no score)."""

    as_of: int
    active: Flags
    values: dict[str, Floats]
    score: Floats

    def bands(self) -> list[str | None]:
        return bands_of(self.score)


def bands_of(score: Floats) -> list[str | None]:
    """`health.band_of` over an array; None where there is no score."""
    names = np.array([GREEN, YELLOW, RED, None], dtype=object)
    codes = np.where(score >= GREEN_FROM, 0, np.where(score >= YELLOW_FROM, 1, 2))
    return list(names[np.where(np.isnan(score), 3, codes)])


class _Running:
    """Facts carried from one moment to the next: each account's latest two-way exchange
    and its active flag, as events up to the moment are applied in time order."""

    def __init__(self, facts: BookFacts) -> None:
        replies = facts.messages.exchanges()
        self.exchanges = Events(
            np.concatenate([replies.account, facts.talks.account]),
            np.concatenate([replies.at, facts.talks.at]),
        ).sorted_by_time()
        self.activity = facts.activity.sorted_by_time()
        self.last_two_way = np.full(facts.accounts, NONE, dtype=np.int64)
        self.active = np.zeros(facts.accounts, dtype=bool)
        self.applied = (0, 0)

    def advance(self, as_of: int) -> None:
        exchanges = int(np.searchsorted(self.exchanges.at, as_of, side="right"))
        activity = int(np.searchsorted(self.activity.at, as_of, side="right"))
        done_exchanges, done_activity = self.applied
        new = slice(done_exchanges, exchanges)
        np.maximum.at(self.last_two_way, self.exchanges.account[new], self.exchanges.at[new])
        self._apply_activity(slice(done_activity, activity))
        self.applied = (exchanges, activity)

    def _apply_activity(self, new: slice) -> None:
        """The last event of each account wins (events at one instant: the one listed last)."""
        accounts = self.activity.account[new][::-1]
        values = self.activity.value[new][::-1]
        _, last = np.unique(accounts, return_index=True)
        self.active[accounts[last]] = values[last] > 0


def responsiveness(requests: Requests, as_of: int, accounts: int) -> Floats:
    """`health.responsiveness`: requests opened in the 30 days up to `as_of` that were
    answered by then (within the SLA or not), or whose deadline passed unanswered before it
    (a miss); one still inside its SLA is left out; NaN when none is decided."""
    first = int(np.searchsorted(requests.opened, as_of - RECENT, side="left"))
    last = int(np.searchsorted(requests.opened, as_of, side="right"))
    window = slice(first, last)
    answered_at = requests.answered[window]
    answered = (answered_at != NONE) & (answered_at <= as_of)
    due = requests.due[window]
    missed = ~answered & (due != NONE) & (due < as_of)
    account = requests.account[window]
    counted = np.bincount(account[answered | missed], minlength=accounts)
    within = np.bincount(account[answered & requests.within_sla[window]], minlength=accounts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counted > 0, 100.0 * within / counted, np.nan)


def engagement(last_two_way: Ints, as_of: int) -> Floats:
    """`health.engagement`: 100 within 7 days, 0 from 30 days or never, linear between on
    the exact age."""
    age = as_of - last_two_way
    linear = 100 * (DISENGAGED - age) / (DISENGAGED - ENGAGED)
    value = np.where(age <= ENGAGED, 100.0, np.where(age >= DISENGAGED, 0.0, linear))
    return np.where(last_two_way == NONE, 0.0, value)


def sentiment(surveys: Events, as_of: int, accounts: int) -> Floats:
    """`health.sentiment`: the latest response of the last 180 days, the lowest value among
    responses at that latest instant; NaN without one (surveys sorted by time)."""
    recent = surveys.between(as_of - SENTIMENT_SPAN, as_of)
    out = np.full(accounts, np.nan)
    if not len(recent.at):
        return out
    order = np.lexsort((recent.value, -recent.at, recent.account))
    account = recent.account[order]
    firsts = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
    out[account[firsts]] = recent.value[order][firsts]
    return out


def open_issues(counts: Ints) -> Floats:
    """`health.open_issues`: 0 open → 100, 3 or more → 0, linear."""
    return 100.0 * np.maximum(0, OPEN_ISSUES_FOR_ZERO - counts) / OPEN_ISSUES_FOR_ZERO


def billing(facts: BookFacts, as_of: int) -> Floats:
    """`health.billing`: NaN for an account whose MRR was never above zero by `as_of`; else
    0 with a failed payment in 30 days, 50 with a contraction in 90, else 100."""
    failed = facts.failed_payments.between(as_of - FAILED_SPAN, as_of)
    contracted = facts.contractions.between(as_of - CONTRACTION_SPAN, as_of)
    value = np.where(contracted.any_per_account(facts.accounts), CONTRACTION_VALUE, 100.0)
    value = np.where(failed.any_per_account(facts.accounts), 0.0, value)
    if facts.first_paid is None:
        return np.full(facts.accounts, np.nan)
    paying = (facts.first_paid != NONE) & (facts.first_paid <= as_of)
    return np.where(paying, value, np.nan)


def score(values: Mapping[str, Floats], weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> Floats:
    """`health.score_measures` over arrays: the measures with data weighted, the weights
    renormalised over them; NaN where no weighted measure has data. Sums run in the order
    of MEASURES, as the scalar version's do, so the floats come out identical."""
    checked = validate_weights(weights)
    total: Floats | float = 0.0
    for measure in MEASURES:
        total = total + np.where(np.isnan(values[measure]), 0.0, checked[measure])
    points: Floats | float = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        for measure in MEASURES:
            part = checked[measure] / total * values[measure]
            points = points + np.where(np.isnan(values[measure]), 0.0, part)
    return np.where(np.asarray(total) > 0, points, np.nan)


def days(
    facts: BookFacts,
    moments: Sequence[int],
    open_issue_counts: Iterator[Ints] | None = None,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
) -> Iterator[Day]:
    """Every account's measures and score at each moment (increasing), one `Day` each.

    `open_issue_counts` yields, per moment, each account's requests open longer than one
    business day then (business time is the caller's); None: no account has data."""
    validate_weights(weights)
    if any(later < earlier for earlier, later in itertools.pairwise(moments)):
        raise HealthError("moments must be given in increasing order")
    requests = facts.requests.sorted_by_opening()
    surveys = facts.surveys.sorted_by_time()
    facts = dataclasses.replace(
        facts,
        requests=requests,
        surveys=surveys,
        contractions=facts.contractions.sorted_by_time(),
        failed_payments=facts.failed_payments.sorted_by_time(),
    )
    running = _Running(facts)
    no_data = np.full(facts.accounts, np.nan)
    for as_of in moments:
        running.advance(as_of)
        counts = next(open_issue_counts) if open_issue_counts is not None else None
        values = {
            RESPONSIVENESS: responsiveness(requests, as_of, facts.accounts),
            ENGAGEMENT: engagement(running.last_two_way, as_of),
            SENTIMENT: sentiment(surveys, as_of, facts.accounts),
            OPEN_ISSUES: no_data if counts is None else open_issues(counts),
            BILLING: billing(facts, as_of),
            ONBOARDING: no_data if facts.onboarding is None else facts.onboarding,
        }
        yield Day(as_of, running.active.copy(), values, score(values, weights))
