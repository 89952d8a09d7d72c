"""The monthly CSM scorecard (PRODUCT.md 4): eight metrics, bands, points, total, triggers.

Pure: the caller gathers plain facts about one CSM's month and the evaluation moment `as_of`,
and gets a `Scorecard` back. Business time is the caller's: it computes each request's
response hours and resolution business days with the hours engine (up to `as_of` when the
request is still unanswered or open) and the CSM's working days of the month from the
schedule versions in force, and hands in plain numbers and dates. Instants are aware
datetimes; days, weeks and months are the CSM's own, in the CSM's user time zone. Ratios are
fractions from 0 to 1; nothing is rounded (ratios and means are computed exactly, then
turned into the nearest float once, so a share of exactly 80 % is exactly 0.8).

Decisions where PRODUCT.md 4 is silent, each also written on the function it shapes:

- Nothing stamped after `as_of` is known: requests opened, touches, asks, next steps,
  churns, `mrr` lines and ownership changes stamped later are ignored. Reviews carry no
  stamp and are used.
- Accounts are counted at a period's first instant: an account counts for a month, week or
  day when it was active at that instant (started, not churned, or reactivated by a later
  `mrr` line above zero: domain.timeline), and for the CSM who owned it
  then (PRODUCT.md 4 says "not churned by that day's start"; we also ask "started by it", so
  an account that starts during a day counts from the next day, as from the next week).
- Ownership: an account's owner at t is the entry of its history with the latest `since` at
  or before t (entries at one instant: the one listed last); before its first entry it has
  none. An owner change at exactly M+1's first instant decides the testimonials of M, as a
  churn at that instant does.
- Proactivity: a week counts once it has started (its Monday's first instant at or before
  `as_of`); a week in progress counts the touches so far. A week with no account of the CSM
  active at its start has no share and is not counted in the mean or in `n`.
- CRM hygiene: a working day counts once it has started (first instant at or before
  `as_of`). Working days outside M are ignored, so a caller may pass a longer calendar.
  Next steps set at one instant: the one listed last counts.
- Testimonials: "90 days" and "180 days" are the CSM's calendar days, counted back from
  M+1's first day: active ≥ 90 days means active without a break (since its start, or
  since its reactivation) from 00:00 local of that day minus 90 days; the window runs
  from 00:00 local of that day minus 180 days to M's end, both included. As everywhere,
  an ask after `as_of` is not known.
- Self-awareness: both reviews given but no metric rated in both → n/a.
- Total: with every metric n/a, possible is 0 and total and band are None.
- Triggers use only the previous month's scorecard (M−1), found among `previous` by CSM and
  month; without it no two-month trigger fires. The retention trigger is the literal "< 70 %"
  of the table, not the configurable red band; the other two are bands, as the table says.
- Errors (ScorecardError): an `as_of` before M's first instant, a previous card computed at
  another `as_of`, naive instants, negative business time, unknown zones or ratings.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from operator import attrgetter, itemgetter
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from keepwell.domain import timeline
from keepwell.domain.hours import to_micros
from keepwell.domain.revenue import day_start
from keepwell.domain.targets import (
    COLORS,
    CRM_HYGIENE,
    DEFAULT_TARGETS,
    GREEN,
    INDEPENDENCE,
    METRICS,
    PROACTIVITY,
    RED,
    RESOLUTION_TIME,
    RESPONSE_TIME,
    RETENTION,
    SELF_AWARENESS,
    TESTIMONIALS,
    TOTAL,
    YELLOW,
    Targets,
)

POINTS: Mapping[str, int] = MappingProxyType(
    dict(zip(METRICS, (20, 20, 15, 15, 10, 7, 7, 6), strict=True))
)
RATED_METRICS = METRICS[:-1]  # the seven metrics both reviews rate
BAND_SHARE: Mapping[str, Fraction] = MappingProxyType(
    {GREEN: Fraction(1), YELLOW: Fraction(1, 2), RED: Fraction(0)}
)

ACTIVE_DAYS_FOR_TESTIMONIALS = 90
TESTIMONIAL_WINDOW_DAYS = 180
RETENTION_TRIGGER_BELOW = 0.7
RULE_RETENTION = "< 70 % two months in a row"
RULE_RED_ANY_MONTH = "red in any month"
RULE_RED_TWO_MONTHS = "red two months in a row"

_MONTH = re.compile(r"\d{4}-\d{2}")
T = TypeVar("T")


class ScorecardError(ValueError):
    """Scorecard input that cannot be computed on."""


def _aware(value: datetime, name: str, *args: object) -> None:
    """A ScorecardError unless `value` carries a zone; `name`, formatted with `args` only
    when it fails (inputs hold hundreds of thousands of instants), says which one."""
    if value.tzinfo is UTC:
        return  # the common case, checked without asking the zone for an offset
    if value.tzinfo is None or value.utcoffset() is None:
        label = name.format(*args)
        raise ScorecardError(f"{label}: naive datetime {value!r}; instants must carry a zone")


# Inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Csm:
    """The CSM scored: their user time zone (IANA) and their working days of the month
    (weekdays with open time, holidays and closed dates excluded, from the schedule versions
    in force; PRODUCT.md 4, "CRM hygiene")."""

    id: str
    timezone: str
    working_days: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ScorecardError(f"timezone: unknown time zone {self.timezone!r}") from exc


# The high-volume input records (requests, touches, asks, next steps) are plain slotted
# dataclasses, not frozen ones: a team's year builds about a million of them, and a frozen
# dataclass costs ten times as much to construct. Nothing here changes them once built.
@dataclass(slots=True)
class RequestFacts:
    """A request with its business-time figures, computed by the caller at `as_of`.

    `owner_id` is the CSM who owned the account when the request opened (PRODUCT.md 4,
    "Ownership"). `response_hours`: business seconds ÷ 3,600 from the clock start to the
    first response, or to `as_of` while unanswered. `resolution_days`: business days from
    open to resolved, or to `as_of` while open. `escalated`: escalated at or before `as_of`.
    """

    id: str
    account_id: str
    owner_id: str
    opened_at: datetime
    response_hours: float
    resolution_days: float
    escalated: bool = False
    answered: bool = True
    resolved: bool = True
    # The instant in microseconds, worked out once: a team's year compares it many times.
    opened_micros: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _aware(self.opened_at, "request {}: opened_at", self.id)
        self.opened_micros = to_micros(self.opened_at)
        if 0 <= self.response_hours < math.inf and 0 <= self.resolution_days < math.inf:
            return  # NaN fails both comparisons
        for name in ("response_hours", "resolution_days"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ScorecardError(f"request {self.id}: {name} must be ≥ 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """An account: active from `started_at` until it churns, and again from a later `mrr`
    line above zero (`paid` holds their instants); `owners` is its ownership history,
    (since, csm_id) pairs: each CSM owns it from `since` on (PRODUCT.md 4; the rules are
    domain.timeline's)."""

    id: str
    started_at: datetime
    churns: tuple[datetime, ...] = ()
    owners: tuple[tuple[datetime, str], ...] = ()
    paid: tuple[datetime, ...] = ()
    lifecycle: timeline.Lifecycle = field(init=False, repr=False, compare=False)
    ownership: timeline.Ownership = field(init=False, repr=False, compare=False)
    # Ownership spans in microseconds by CSM, worked out once (see `owned_spans`).
    _spans: dict[str, list[tuple[int, int]]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        _aware(self.started_at, "account {}: started_at", self.id)
        for name, instants in (("churn", self.churns), ("mrr", self.paid)):
            for at in instants:
                _aware(at, f"account {{}}: {name} at", self.id)
        for since, _ in self.owners:
            _aware(since, "account {}: owner since", self.id)
        life = timeline.Lifecycle.of(self.started_at, self.churns, self.paid)
        object.__setattr__(self, "lifecycle", life)
        object.__setattr__(self, "ownership", timeline.Ownership.of(None, self.owners))

    def owned_spans(self, csm_id: str) -> list[tuple[int, int]]:
        """[from, until) spans in microseconds in which `csm_id` owns the account and it is
        active (domain.timeline: ownership spans cut to the active ones)."""
        if csm_id not in self._spans:
            owned = self.ownership.spans_of(csm_id)
            self._spans[csm_id] = timeline.intersect(owned, self.lifecycle.spans)
        return self._spans[csm_id]

    def active_at(self, instant: datetime) -> bool:
        """Started and not churned at `instant` (domain.timeline: a churn takes effect at
        its instant, a later `mrr` line above zero reactivates)."""
        return self.lifecycle.active_at(instant)

    def known_at(self, as_of: datetime) -> AccountFacts:
        """The account as known at `as_of`: a churn, `mrr` line or ownership change stamped
        later is not known yet (PRODUCT.md 4: nothing recorded after the evaluation moment
        is used)."""
        churns = tuple(at for at in self.churns if at <= as_of)
        paid = tuple(at for at in self.paid if at <= as_of)
        owners = tuple(entry for entry in self.owners if entry[0] <= as_of)
        if (len(churns), len(paid), len(owners)) == (
            len(self.churns), len(self.paid), len(self.owners)
        ):  # fmt: skip
            return self  # nothing stamped after as_of: the same facts
        return replace(self, churns=churns, paid=paid, owners=owners)


@dataclass(slots=True)
class Touch:
    """A proactive touch (an activity other than `note`, or an outbound message that opens
    a thread; the caller filters), counting for the account whoever made it."""

    account_id: str
    at: datetime
    micros: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _aware(self.at, "touch on {}: at", self.account_id)
        self.micros = to_micros(self.at)


@dataclass(slots=True)
class Ask:
    """A testimonial or case-study request to an account."""

    account_id: str
    at: datetime
    micros: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _aware(self.at, "ask of {}: at", self.account_id)
        self.micros = to_micros(self.at)


@dataclass(slots=True)
class NextStep:
    """A next step set on an account at `set_at`, due on `due`."""

    account_id: str
    set_at: datetime
    due: date

    set_micros: int = field(init=False, repr=False, compare=False)
    due_ordinal: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _aware(self.set_at, "next step on {}: set_at", self.account_id)
        self.set_micros = to_micros(self.set_at)
        self.due_ordinal = self.due.toordinal()


@dataclass(frozen=True)
class ScorecardInputs:
    """Everything the scorecard of CSM `csm` for month `month` ("YYYY-MM") reads at `as_of`.

    The collections may hold the whole team's records: ownership picks the CSM's. Reviews
    map rated metric keys (the seven before self_awareness) to green, yellow or red.
    """

    csm: Csm
    month: str
    as_of: datetime
    requests: tuple[RequestFacts, ...] = ()
    accounts: tuple[AccountFacts, ...] = ()
    touches: tuple[Touch, ...] = ()
    asks: tuple[Ask, ...] = ()
    next_steps: tuple[NextStep, ...] = ()
    self_review: Mapping[str, str] | None = None
    manager_review: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        _aware(self.as_of, "as_of")
        _month_bounds(self.month)
        for name in ("self_review", "manager_review"):
            _check_review(name, getattr(self, name))


def _check_review(name: str, review: Mapping[str, str] | None) -> None:
    for metric, rating in (review or {}).items():
        if metric not in RATED_METRICS:
            raise ScorecardError(f"{name}: {metric!r} is not a rated metric")
        if rating not in COLORS:
            raise ScorecardError(f"{name}: {metric}: {rating!r} is not green, yellow or red")


# Results ------------------------------------------------------------------------------------


# Evidence rows are named tuples: immutable like the rest, and cheap to build by the
# hundred thousand.
class AccountFlag(NamedTuple):
    """An account a ratio counted, and whether it met the rule (retained, asked)."""

    account_id: str
    ok: bool


class AccountWeek(NamedTuple):
    """An account active at the start of a week (its Monday), and whether it was touched."""

    account_id: str
    week_start: date
    touched: bool


class AccountDay(NamedTuple):
    """An account active on a working day; `due` is the due date of the next step that
    counted for the day (None: none set yet); `ok` when it is that day or later."""

    account_id: str
    day: date
    due: date | None
    ok: bool


@dataclass(frozen=True, slots=True)
class RatingPair:
    """A metric rated in both reviews."""

    metric: str
    self_rating: str
    manager_rating: str


class Lazy(Sequence[T]):
    """Rows built on first look. A team's year of scorecards counts millions of
    account-days; only a drill-down lists them, so the list waits until one does."""

    __slots__ = ("_build", "_rows")

    def __init__(self, build: Callable[[], tuple[T, ...]]) -> None:
        self._build: Callable[[], tuple[T, ...]] | None = build
        self._rows: tuple[T, ...] = ()

    def _all(self) -> tuple[T, ...]:
        if self._build is not None:
            self._rows, self._build = self._build(), None
        return self._rows

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...
    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[T]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Lazy):
            other = other._all()
        return self._all() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Lazy({self._all()!r})"


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a figure was computed from, for the drill-down (PRODUCT.md 4: "Every figure
    links to the requests, accounts and days it was computed from")."""

    requests: tuple[RequestFacts, ...] = ()
    accounts: tuple[AccountFlag, ...] = ()
    weeks: tuple[date, ...] = ()
    account_weeks: Sequence[AccountWeek] = ()
    account_days: Sequence[AccountDay] = ()
    ratings: tuple[RatingPair, ...] = ()

    @property
    def request_ids(self) -> tuple[str, ...]:
        return tuple(request.id for request in self.requests)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": list(self.request_ids),
            "accounts": [{"account": a.account_id, "ok": a.ok} for a in self.accounts],
            "weeks": [week.isoformat() for week in self.weeks],
            "account_weeks": [
                {"account": w.account_id, "week": w.week_start.isoformat(), "touched": w.touched}
                for w in self.account_weeks
            ],
            "account_days": [_account_day_json(d) for d in self.account_days],
            "ratings": [
                {"metric": r.metric, "self": r.self_rating, "manager": r.manager_rating}
                for r in self.ratings
            ],
        }


def _account_day_json(day: AccountDay) -> dict[str, Any]:
    due = day.due.isoformat() if day.due else None
    return {"account": day.account_id, "day": day.day.isoformat(), "due": due, "ok": day.ok}


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric of the scorecard; value, band and points are None when it is n/a."""

    key: str
    value: float | None
    band: str | None
    points: float | None
    max: int
    n: int
    evidence: Evidence = field(default_factory=Evidence)

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "band": self.band,
            "points": self.points,
            "max": self.max,
            "n": self.n,
        }


@dataclass(frozen=True, slots=True)
class Trigger:
    """A review trigger that fired (PRODUCT.md 4, the last column of the table)."""

    metric: str
    rule: str

    def to_json(self) -> dict[str, str]:
        return {"metric": self.metric, "rule": self.rule}


@dataclass(frozen=True, slots=True)
class Scorecard:
    """A CSM's scorecard of one month at one evaluation moment."""

    csm: str
    month: str
    as_of: datetime
    metrics: Mapping[str, MetricResult]
    earned: float
    possible: float
    scaled: bool
    total: float | None
    band: str | None
    triggers: tuple[Trigger, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON object of PRODUCT.md 4 for this CSM (evidence is not part of it)."""
        return {
            "csm": self.csm,
            "total": self.total,
            "earned": self.earned,
            "possible": self.possible,
            "scaled": self.scaled,
            "band": self.band,
            "metrics": {key: self.metrics[key].to_json() for key in METRICS},
            "triggers": [trigger.to_json() for trigger in self.triggers],
        }


def scorecards_json(month: str, as_of: datetime, cards: Iterable[Scorecard]) -> dict[str, Any]:
    """The document `keepwell scorecard --json` prints (PRODUCT.md 4)."""
    _aware(as_of, "as_of")
    return {
        "month": month,
        "as_of": as_of.astimezone(UTC).isoformat(),
        "scorecards": [card.to_json() for card in cards],
    }


# The month in the CSM's zone ----------------------------------------------------------------


def _month_bounds(month: str) -> tuple[date, date]:
    """M's first day and M+1's first day."""
    if not _MONTH.fullmatch(month):
        raise ScorecardError(f"month: not YYYY-MM: {month!r}")
    year, number = int(month[:4]), int(month[5:])
    if not 1 <= number <= 12:
        raise ScorecardError(f"month: not YYYY-MM: {month!r}")
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return date(year, number, 1), following


def previous_month(month: str) -> str:
    """The month before `month`, as "YYYY-MM"."""
    first, _ = _month_bounds(month)
    before = first - timedelta(days=1)
    return f"{before.year:04d}-{before.month:02d}"


@dataclass(frozen=True, slots=True)
class _Period:
    """Month M for one CSM: local days and their first instants in the CSM's zone."""

    csm_id: str
    tz: str
    first: date
    next_first: date
    as_of: datetime

    def start_of(self, day: date) -> datetime:
        return _day_start(day, self.tz)

    @property
    def start(self) -> datetime:
        return self.start_of(self.first)

    @property
    def end(self) -> datetime:
        """M's end: the first instant of M+1."""
        return self.start_of(self.next_first)

    def started(self, day: date) -> bool:
        return self.start_of(day) <= self.as_of


@lru_cache(maxsize=65_536)
def _day_start(day: date, tz: str) -> datetime:
    """`day_start`, remembered: a team's year asks for the same days again and again."""
    return day_start(day, tz)


def _period(inputs: ScorecardInputs) -> _Period:
    first, next_first = _month_bounds(inputs.month)
    period = _Period(inputs.csm.id, inputs.csm.timezone, first, next_first, inputs.as_of)
    if inputs.as_of < period.start:
        raise ScorecardError(f"as_of {inputs.as_of.isoformat()} is before {inputs.month} starts")
    return period


@dataclass(frozen=True, slots=True)
class _Measure:
    value: float | None
    n: int
    evidence: Evidence


def _ratio(hits: int, n: int) -> float | None:
    return float(Fraction(hits, n)) if n else None


class _Owned:
    """The accounts one CSM owns and that are active, as spans of microseconds worked out
    once per scorecard: which ones at an instant is then a scan of integer pairs, not an
    ownership lookup per account and instant. An account's spans never overlap."""

    def __init__(self, accounts: Iterable[AccountFacts], csm_id: str) -> None:
        self.spans = [(lo, hi, a.id) for a in accounts for lo, hi in a.owned_spans(csm_id)]
        self.lo = np.array([lo for lo, _, _ in self.spans], dtype=np.int64)
        self.hi = np.array([hi for _, hi, _ in self.spans], dtype=np.int64)
        self.ids = [account_id for _, _, account_id in self.spans]

    def at(self, instant: datetime) -> list[str]:
        """Ids of the accounts owned and active at `instant`, sorted."""
        t = to_micros(instant)
        return sorted({account_id for lo, hi, account_id in self.spans if lo <= t < hi})

    def per_span(
        self, by_account: np.ndarray, missing: Any, columns: Mapping[str, int]
    ) -> np.ndarray:
        """A (rows × accounts) matrix of `_ByAccount` as (rows × spans): each span takes its
        account's column (`columns` maps account ids to them), `missing` without one."""
        out = np.full((by_account.shape[0], len(self.ids)), missing, dtype=by_account.dtype)
        spans = [span for span, account_id in enumerate(self.ids) if account_id in columns]
        out[:, spans] = by_account[:, [columns[self.ids[span]] for span in spans]]
        return out


def _times_by_account(items: Iterable[tuple[str, int]], as_of: datetime) -> dict[str, list[int]]:
    """Instants in microseconds by account, sorted, up to `as_of` (later ones are not known)."""
    last = to_micros(as_of)
    known = sorted(item for item in items if item[1] <= last)
    return {
        account_id: [at for _, at in group]
        for account_id, group in itertools.groupby(known, key=itemgetter(0))
    }


# The metrics --------------------------------------------------------------------------------


def _retention(period: _Period, accounts: Sequence[AccountFacts], owned: _Owned) -> _Measure:
    """PRODUCT.md 4: of the accounts c owned and that were active at M's first instant, the
    share still active at M's end; a churn at exactly M+1's first instant is a churn in M."""
    by_id = {account.id: account for account in accounts}
    eligible, end = owned.at(period.start), to_micros(period.end)
    flags = tuple(AccountFlag(i, by_id[i].lifecycle.active_at_micros(end)) for i in eligible)
    return _Measure(
        _ratio(sum(f.ok for f in flags), len(flags)), len(flags), Evidence(accounts=flags)
    )


def _requests_of(period: _Period, requests: Iterable[RequestFacts]) -> tuple[RequestFacts, ...]:
    """PRODUCT.md 4: requests opened in M (CSM's zone) while c owned the account, opened at
    or before `as_of`, in opening order."""
    start, end, as_of = to_micros(period.start), to_micros(period.end), to_micros(period.as_of)
    last = min(end - 1, as_of)
    mine = (r for r in requests if r.owner_id == period.csm_id and start <= r.opened_micros <= last)
    return tuple(sorted(mine, key=attrgetter("opened_micros", "id")))


def _mean(values: Sequence[float]) -> float | None:
    """The exact mean, as the nearest float (nothing rounded along the way). Floats are
    dyadic fractions, so the exact sum is an integer over the largest denominator: one
    Fraction at the end instead of one per value."""
    if not values:
        return None
    ratios = [value.as_integer_ratio() for value in values]
    denominator = max(d for _, d in ratios)
    total = sum(n * (denominator // d) for n, d in ratios)
    return float(Fraction(total, denominator * len(values)))


def _response_time(requests: tuple[RequestFacts, ...]) -> _Measure:
    """PRODUCT.md 4: mean business hours from clock start to first response (elapsed to
    `as_of` while unanswered)."""
    values = [r.response_hours for r in requests]
    return _Measure(_mean(values), len(values), Evidence(requests=requests))


def _resolution_time(requests: tuple[RequestFacts, ...]) -> _Measure:
    """PRODUCT.md 4: mean business days from open to resolved (elapsed to `as_of` while
    open)."""
    values = [r.resolution_days for r in requests]
    return _Measure(_mean(values), len(values), Evidence(requests=requests))


def _independence(requests: tuple[RequestFacts, ...]) -> _Measure:
    """PRODUCT.md 4: share of the requests resolved (or still open) without escalation."""
    clean = sum(not r.escalated for r in requests)
    return _Measure(_ratio(clean, len(requests)), len(requests), Evidence(requests=requests))


def _mondays(period: _Period) -> list[date]:
    """The Mondays in M whose week has started by `as_of` (weeks not begun are not scored)."""
    offset = (7 - period.first.weekday()) % 7
    days = range(offset, (period.next_first - period.first).days, 7)
    mondays = [period.first + timedelta(days=i) for i in days]
    return [monday for monday in mondays if period.started(monday)]


def _periods(
    period: _Period, owned: _Owned, firsts: list[date], length: timedelta
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Periods (weeks, days) from their first days in the CSM's zone: their first and end
    instants, and which ownership spans are active at each one's start (periods × spans)."""
    starts = np.array([to_micros(period.start_of(d)) for d in firsts], dtype=np.int64)
    ends = np.array([to_micros(period.start_of(d + length)) for d in firsts], dtype=np.int64)
    eligible = (owned.lo <= starts[:, None]) & (starts[:, None] < owned.hi)
    return starts, ends, eligible


def _proactivity(period: _Period, owned: _Owned, touches: Iterable[Touch]) -> _Measure:
    """PRODUCT.md 4: per week whose Monday is in M, the share of c's accounts active at its
    start touched in [start, next Monday's start); the mean over weeks. Weeks without
    accounts have no share and are skipped; `n` counts the weeks used. Counted as arrays
    (weeks × ownership spans); the account-weeks are listed when looked at."""
    mondays = _mondays(period)
    if not mondays or not owned.ids:
        return _Measure(None, 0, Evidence())
    starts, ends, eligible = _periods(period, owned, mondays, timedelta(days=7))
    last = to_micros(period.as_of)
    filed = _ByAccount([(t.account_id, t.micros, 0) for t in touches if t.micros <= last])
    counts = filed.count_before(ends) - filed.count_before(starts)
    touched = owned.per_span(counts > 0, False, filed.column)
    used = [w for w in range(len(mondays)) if eligible[w].any()]
    hits = (eligible & touched).sum(axis=1)
    sizes = eligible.sum(axis=1)
    shares = [Fraction(int(hits[w]), int(sizes[w])) for w in used]
    value = float(sum(shares, Fraction(0)) / len(shares)) if shares else None
    weeks = tuple(mondays[w] for w in used)
    rows = Lazy(lambda: _account_weeks(mondays, used, owned.ids, eligible, touched))
    return _Measure(value, len(used), Evidence(weeks=weeks, account_weeks=rows))


def _account_weeks(
    mondays: list[date], used: list[int], ids: list[str], eligible: np.ndarray, touched: np.ndarray
) -> tuple[AccountWeek, ...]:
    """The account-weeks of proactivity, week by week, accounts by id."""
    rows = []
    for w in used:
        spans = sorted(np.flatnonzero(eligible[w]).tolist(), key=ids.__getitem__)
        rows += [AccountWeek(ids[span], mondays[w], bool(touched[w, span])) for span in spans]
    return tuple(rows)


def _testimonials(
    period: _Period, accounts: Sequence[AccountFacts], owned: _Owned, asks: Iterable[Ask]
) -> _Measure:
    """PRODUCT.md 4: accounts c owns at M's end, active there and for ≥ 90 days; the share
    asked for a testimonial or case study in the 180 days ending at M's end, end included."""
    end, by_id = period.end, {account.id: account for account in accounts}
    since = period.start_of(period.next_first - timedelta(days=ACTIVE_DAYS_FOR_TESTIMONIALS))
    window = period.start_of(period.next_first - timedelta(days=TESTIMONIAL_WINDOW_DAYS))
    times = _times_by_account(((a.account_id, a.micros) for a in asks), period.as_of)
    lo, hi = to_micros(window), to_micros(end)
    # "active ≥ 90 days": without a break from `since` to M's end (a reactivated account
    # counts from its reactivation)
    first = to_micros(since)
    eligible = [i for i in owned.at(end) if by_id[i].lifecycle.active_throughout(first, hi)]
    flags = tuple(AccountFlag(i, any(lo <= at <= hi for at in times.get(i, []))) for i in eligible)
    return _Measure(
        _ratio(sum(f.ok for f in flags), len(flags)), len(flags), Evidence(accounts=flags)
    )


def _working_days(period: _Period, days: Iterable[date]) -> list[date]:
    """The CSM's working days in M that have started by `as_of`, each once, in order."""
    return sorted({d for d in days if period.first <= d < period.next_first and period.started(d)})


NO_DUE = -1  # a due-date ordinal before every real day: no next step set yet


class _ByAccount:
    """Instants stamped on accounts, each with a value, grouped by account in time order
    (at one instant, in the order given: the sort is stable), as flat arrays."""

    def __init__(self, items: Iterable[tuple[str, int, int]]) -> None:
        ordered = sorted(items, key=itemgetter(0, 1))
        self.at = np.array([at for _, at, _ in ordered], dtype=np.int64)
        self.value = np.array([value for _, _, value in ordered], dtype=np.int64)
        accounts = [account_id for account_id, _, _ in ordered]
        firsts = [i for i in range(len(accounts)) if i == 0 or accounts[i] != accounts[i - 1]]
        self.column = {accounts[i]: column for column, i in enumerate(firsts)}
        self.firsts = np.array(firsts, dtype=np.int64)

    def count_before(self, instants: np.ndarray) -> np.ndarray:
        """Per instant (rows) and account (columns, see `column`): how many are earlier."""
        if not len(self.at):
            return np.zeros((len(instants), 0), dtype=np.int64)
        before = (self.at[None, :] < instants[:, None]).astype(np.int64)
        return np.add.reduceat(before, self.firsts, axis=1)

    def latest_before(self, instants: np.ndarray, none: int) -> np.ndarray:
        """Per instant and account, the value of the latest one earlier; `none` if none is."""
        counts = self.count_before(instants)
        latest = self.firsts[None, :] + counts - 1
        if not len(self.at):
            return np.full(counts.shape, none, dtype=np.int64)
        return np.where(counts > 0, self.value[np.maximum(latest, 0)], none)


def _crm_hygiene(
    period: _Period, owned: _Owned, working_days: Iterable[date], next_steps: Iterable[NextStep]
) -> _Measure:
    """PRODUCT.md 4: over c's working days of M and the accounts c owns and that are active
    at each day's start, the share of account-days whose latest next step set by the end
    of the day is due that day or later. A team's year holds millions of account-days:
    they are counted as arrays (days × ownership spans), and listed only when looked at."""
    days = _working_days(period, working_days)
    if not days or not owned.ids:
        return _Measure(None, 0, Evidence())
    _, ends, eligible = _periods(period, owned, days, timedelta(days=1))
    last = to_micros(period.as_of)
    steps = _ByAccount(
        (s.account_id, s.set_micros, s.due_ordinal) for s in next_steps if s.set_micros <= last
    )
    # the due date of the latest step set before each day ends, per span's account
    due = owned.per_span(steps.latest_before(ends, NO_DUE), NO_DUE, steps.column)
    ordinals = np.array([d.toordinal() for d in days], dtype=np.int64)
    ok = eligible & (due >= ordinals[:, None])
    n = int(eligible.sum())
    rows = Lazy(lambda: _account_days(days, owned.ids, eligible, due))
    return _Measure(_ratio(int(ok.sum()), n), n, Evidence(account_days=rows))


def _account_days(
    days: list[date], ids: list[str], eligible: np.ndarray, due: np.ndarray
) -> tuple[AccountDay, ...]:
    """The account-days of the hygiene metric, day by day, accounts by id."""
    rows = []
    for d, day in enumerate(days):
        spans = sorted(np.flatnonzero(eligible[d]).tolist(), key=lambda span: ids[span])
        for span in spans:
            ordinal = int(due[d, span])
            when = None if ordinal == NO_DUE else date.fromordinal(ordinal)
            rows.append(AccountDay(ids[span], day, when, when is not None and when >= day))
    return tuple(rows)


def _rating_points(metric: str, rating: str) -> Fraction:
    """Points of a review rating (PRODUCT.md 4, "Self-awareness"): green the metric's full
    points, yellow half, red none."""
    return POINTS[metric] * BAND_SHARE[rating]


def _self_awareness(
    self_review: Mapping[str, str] | None, manager_review: Mapping[str, str] | None
) -> _Measure:
    """PRODUCT.md 4: alignment = 1 − Σ|self points − manager points| ÷ Σ max points over the
    metrics rated in both reviews; n/a without both reviews or without a common metric."""
    if self_review is None or manager_review is None:
        return _Measure(None, 0, Evidence())
    pairs = tuple(
        RatingPair(m, self_review[m], manager_review[m])
        for m in RATED_METRICS
        if m in self_review and m in manager_review
    )
    if not pairs:
        return _Measure(None, 0, Evidence())
    gap = sum(
        abs(_rating_points(p.metric, p.self_rating) - _rating_points(p.metric, p.manager_rating))
        for p in pairs
    )
    most = sum(POINTS[p.metric] for p in pairs)
    return _Measure(float(1 - gap / most), len(pairs), Evidence(ratings=pairs))


def _measures(inputs: ScorecardInputs, period: _Period) -> dict[str, _Measure]:
    accounts = [account.known_at(inputs.as_of) for account in inputs.accounts]
    owned = _Owned(accounts, period.csm_id)
    requests = _requests_of(period, inputs.requests)
    return {
        RETENTION: _retention(period, accounts, owned),
        RESPONSE_TIME: _response_time(requests),
        RESOLUTION_TIME: _resolution_time(requests),
        INDEPENDENCE: _independence(requests),
        PROACTIVITY: _proactivity(period, owned, inputs.touches),
        TESTIMONIALS: _testimonials(period, accounts, owned, inputs.asks),
        CRM_HYGIENE: _crm_hygiene(period, owned, inputs.csm.working_days, inputs.next_steps),
        SELF_AWARENESS: _self_awareness(inputs.self_review, inputs.manager_review),
    }


# Bands, points, total, triggers -------------------------------------------------------------


def _metric_result(key: str, measure: _Measure, targets: Targets) -> MetricResult:
    """A metric's band and points (PRODUCT.md 4): green full points, yellow half, red none;
    no value → n/a (value, band and points None)."""
    if measure.value is None:
        return MetricResult(key, None, None, None, POINTS[key], measure.n, measure.evidence)
    band = targets.band_of(key, measure.value)
    points = float(POINTS[key] * BAND_SHARE[band])
    return MetricResult(key, measure.value, band, points, POINTS[key], measure.n, measure.evidence)


class _Total(NamedTuple):
    earned: float
    possible: float
    scaled: bool
    total: float | None
    band: str | None


def _total(metrics: Mapping[str, MetricResult], targets: Targets) -> _Total:
    """PRODUCT.md 4: earned of possible; with anything n/a, total = earned ÷ possible × 100
    and `scaled`; the band of the total."""
    scored = [m for m in metrics.values() if m.points is not None]
    earned = float(sum(m.points for m in scored if m.points is not None))
    possible = float(sum(m.max for m in scored))
    scaled = len(scored) < len(metrics)
    if not possible:
        return _Total(earned, possible, scaled, None, None)
    total = earned / possible * 100 if scaled else earned
    return _Total(earned, possible, scaled, total, targets.band_of(TOTAL, total))


def review_triggers(card: Scorecard, previous: Iterable[Scorecard] = ()) -> tuple[Trigger, ...]:
    """The review triggers of PRODUCT.md 4 for `card`: retention < 70 % in M and in M−1;
    response_time red in M; resolution_time red in M and in M−1. The previous month's card
    is looked up in `previous` by CSM and month and must share the evaluation moment; an n/a
    month, or a missing one, breaks a run."""
    before = _previous_card(card, previous)
    fired = []
    if _retention_low(card) and before is not None and _retention_low(before):
        fired.append(Trigger(RETENTION, RULE_RETENTION))
    if card.metrics[RESPONSE_TIME].band == RED:
        fired.append(Trigger(RESPONSE_TIME, RULE_RED_ANY_MONTH))
    if _red(card, RESOLUTION_TIME) and before is not None and _red(before, RESOLUTION_TIME):
        fired.append(Trigger(RESOLUTION_TIME, RULE_RED_TWO_MONTHS))
    return tuple(fired)


def _previous_card(card: Scorecard, previous: Iterable[Scorecard]) -> Scorecard | None:
    month = previous_month(card.month)
    for other in previous:
        if other.csm == card.csm and other.month == month:
            if other.as_of != card.as_of:
                raise ScorecardError(
                    f"previous scorecard of {month} was computed at {other.as_of.isoformat()}, "
                    f"not at {card.as_of.isoformat()}: triggers compare at one moment"
                )
            return other
    return None


def _retention_low(card: Scorecard) -> bool:
    value = card.metrics[RETENTION].value
    return value is not None and value < RETENTION_TRIGGER_BELOW


def _red(card: Scorecard, key: str) -> bool:
    return card.metrics[key].band == RED


def score_csm(
    inputs: ScorecardInputs,
    targets: Targets = DEFAULT_TARGETS,
    previous: Iterable[Scorecard] = (),
) -> Scorecard:
    """The scorecard of `inputs.csm` for `inputs.month` at `inputs.as_of` (PRODUCT.md 4):
    the eight metrics with their evidence, the total (scaled when a metric is n/a) and the
    review triggers against the previous month's card found in `previous` (computed at the
    same `as_of`; its own triggers do not matter, so it may be scored with no `previous`)."""
    period = _period(inputs)
    measures = _measures(inputs, period)
    metrics = {key: _metric_result(key, measures[key], targets) for key in METRICS}
    earned, possible, scaled, total, band = _total(metrics, targets)
    card = Scorecard(
        csm=inputs.csm.id,
        month=inputs.month,
        as_of=inputs.as_of,
        metrics=MappingProxyType(metrics),
        earned=earned,
        possible=possible,
        scaled=scaled,
        total=total,
        band=band,
    )
    return replace(card, triggers=review_triggers(card, previous))
