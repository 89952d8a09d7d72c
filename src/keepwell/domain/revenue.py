"""Revenue and retention: MRR per account per day, monthly movements, NRR, GRR, logo churn
(PRODUCT.md 6).

An account's MRR is a step function of time. Its account line's `mrr` holds from its start
(the first instant of its `started` day in the company zone: the caller passes that instant);
an `mrr` event sets the MRR to its amount from its instant on (a level, not a delta); a churn
sets it to zero from its instant on, and a later `mrr` event reactivates the account. "MRR at
t" includes every event stamped at or before t (PRODUCT.md 4, "Events take effect at their
instant").

A month owns the changes stamped in [its first instant, the next month's first instant)
(PRODUCT.md 6): its "MRR at start" is the MRR in force just before its first instant
(`mrr_before`), and its end is the next month's start, read the same way. Billing systems
stamp period changes at a period's first instant, so an upgrade or a cancellation stamped
1 December 00:00 is December's movement, not November's.

For revenue a logo is a paying account: one whose MRR is above zero. A month's logo churn is
the accounts paying at its start and not at its end, whether a `churn` line or an `mrr` line
of zero took them there; an account at zero MRR at the start is not in the denominator.

Decisions this module makes where the product text is silent:

- Nothing happens to an account before its start: its MRR is zero and it is not active, and
  events stamped before its start are ignored.
- Events at one instant apply in the order start, `mrr`, churn: a churn and an `mrr` event
  with the same stamp leave the account churned.
- `is_active` (started and not churned, an `mrr` event after a churn reactivating) is the
  lifecycle the health model replays; the revenue figures count paying logos instead.
- A churn undone by a reactivation inside a window nets out, as its MRR does.
- Ratios (NRR, GRR, logo churn) are floats, fractions from 0 to 1 (NRR may exceed 1), None
  when the denominator is zero. Amounts are Decimal everywhere; `to_json` writes them as JSON
  numbers (int when whole, else float, as FastAPI's decimal encoder does).
- Currencies: see `report_currency` and `convert`.

Instants are timezone-aware datetimes; months are "YYYY-MM" in the company zone, an IANA name.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

ZERO = Decimal(0)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

NEW = "new"
REACTIVATION = "reactivation"
EXPANSION = "expansion"
CONTRACTION = "contraction"
CHURN = "churn"
KINDS = (NEW, EXPANSION, CONTRACTION, CHURN, REACTIVATION)

# The order of events stamped with the same instant (see the module docstring).
_START, _CHANGE, _CHURN = 0, 1, 2


class RevenueError(ValueError):
    """Revenue input that cannot be computed on."""


class MissingRateError(RevenueError):
    """A total needs a currency that has no exchange rate to the base currency (PRODUCT.md 6)."""

    def __init__(self, currency: str, base: str) -> None:
        super().__init__(f"no exchange rate from {currency} to {base}")
        self.currency = currency
        self.base = base


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise RevenueError(f"{name}: naive datetime {value!r}; instants must carry a time zone")


@dataclass(frozen=True, slots=True)
class MrrChange:
    """An `mrr` event: the account's MRR is `mrr` from `at` on."""

    at: datetime
    mrr: Decimal

    def __post_init__(self) -> None:
        _aware(self.at, "at")
        if self.mrr < 0:
            raise RevenueError(f"mrr: negative amount {self.mrr}")


@dataclass(frozen=True, slots=True)
class RevenueAccount:
    """One account's revenue history, amounts in its own currency."""

    id: str
    currency: str
    started_at: datetime  # the first instant of the `started` day in the company zone
    mrr: Decimal = ZERO  # the account line's `mrr`, in force from `started_at`
    changes: tuple[MrrChange, ...] = ()
    churns: tuple[datetime, ...] = ()
    # Its steps in force order and their instants, worked out once: a report of twelve
    # months reads every account's MRR some thirty times.
    _steps: tuple[_Step, ...] = field(default=(), init=False, repr=False, compare=False)
    _instants: tuple[datetime, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _aware(self.started_at, "started_at")
        for churn in self.churns:
            _aware(churn, "churn")
        if self.mrr < 0:
            raise RevenueError(f"mrr: negative amount {self.mrr}")
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise RevenueError(f"currency: not a three-letter code: {self.currency!r}")
        steps = tuple(_ordered_steps(self))
        object.__setattr__(self, "_steps", steps)
        object.__setattr__(self, "_instants", tuple(step.at for step in steps))


class _Step(NamedTuple):
    at: datetime
    rank: int
    mrr: Decimal
    active: bool


def _steps(account: RevenueAccount) -> tuple[_Step, ...]:
    """The account's MRR steps in force order; events before its start are ignored."""
    return account._steps


def _ordered_steps(account: RevenueAccount) -> list[_Step]:
    start = account.started_at
    steps = [_Step(start, _START, account.mrr, True)]
    steps += [_Step(c.at, _CHANGE, c.mrr, True) for c in account.changes if c.at >= start]
    steps += [_Step(at, _CHURN, ZERO, False) for at in account.churns if at >= start]
    return sorted(steps, key=lambda s: (s.at, s.rank))


def _step_at(account: RevenueAccount, instant: datetime) -> _Step | None:
    steps = _steps(account)
    index = bisect_right(account._instants, instant) - 1
    return steps[index] if index >= 0 else None


def mrr_at(account: RevenueAccount, instant: datetime) -> Decimal:
    """The account's MRR at `instant`, including every change stamped at or before it
    (PRODUCT.md 6 and 4, "Events take effect at their instant")."""
    _aware(instant, "instant")
    step = _step_at(account, instant)
    return step.mrr if step else ZERO


def mrr_before(account: RevenueAccount, instant: datetime) -> Decimal:
    """The account's MRR in force just before `instant`: every change stamped strictly before
    it, none stamped at it. A month's "MRR at start" (PRODUCT.md 6: a month owns the changes
    stamped at its first instant)."""
    _aware(instant, "instant")
    steps = _steps(account)
    index = bisect_left(account._instants, instant) - 1
    return steps[index].mrr if index >= 0 else ZERO


def is_active(account: RevenueAccount, instant: datetime) -> bool:
    """Started and not churned at `instant` (a churn stamped exactly `instant` is in force);
    an `mrr` event after a churn reactivates (PRODUCT.md 4 and 6)."""
    _aware(instant, "instant")
    step = _step_at(account, instant)
    return step.active if step else False


def activity_changes(account: RevenueAccount) -> tuple[tuple[datetime, bool], ...]:
    """When the account turns active and inactive, in force order: its start, each churn and
    each `mrr` event (a reactivation after a churn). `is_active` at an instant is the flag
    of the last change at or before it; the array engines replay these instead."""
    return tuple((step.at, step.active) for step in _steps(account))


def paid_before(account: RevenueAccount, instant: datetime) -> bool:
    """Whether the account had a positive MRR at some moment strictly before `instant`: what
    tells a reactivation from a new account (PRODUCT.md 6)."""
    return any(s.mrr > 0 for s in _steps(account) if s.at < instant)


def contractions_of(account: RevenueAccount) -> tuple[datetime, ...]:
    """Instants at which the account's MRR went down to a positive amount (a contraction in
    the sense of PRODUCT.md 6, for the billing measure of health, PRODUCT.md 5)."""
    found: list[datetime] = []
    previous = ZERO
    for step in _steps(account):
        if 0 < step.mrr < previous:
            found.append(step.at)
        previous = step.mrr
    return tuple(found)


# Months and days in the company zone --------------------------------------------------------


def parse_month(month: str) -> tuple[int, int]:
    """ "YYYY-MM" as (year, month); RevenueError when it is not one."""
    try:
        year, number = (int(part) for part in month.split("-"))
        date(year, number, 1)
    except ValueError as exc:
        raise RevenueError(f"month: not YYYY-MM: {month!r}") from exc
    return year, number


def shift_month(month: str, months: int) -> str:
    """The month `months` after `month` (negative: before)."""
    year, number = parse_month(month)
    index = year * 12 + number - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def day_start(day: date, tz: str) -> datetime:
    """The first instant of `day` in zone `tz`, in UTC. A day whose midnight falls in a
    daylight-saving gap starts when the gap ends (zoneinfo's fold=0 gives exactly that)."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def month_start(month: str, tz: str) -> datetime:
    """The first instant of calendar month `month` in the company zone `tz` (PRODUCT.md 6)."""
    year, number = parse_month(month)
    return day_start(date(year, number, 1), tz)


# MRR per account per day ----------------------------------------------------------------------


def _micros(instant: datetime) -> int:
    return (instant - EPOCH) // MICROSECOND


@dataclass(frozen=True, slots=True)
class DailyMrr:
    """MRR per account per day: `mrr[account_id][i]` is the MRR on `days[i]`."""

    days: tuple[date, ...]
    mrr: dict[str, tuple[Decimal, ...]]


def _day_starts(first: date, last: date, tz: str) -> tuple[tuple[date, ...], np.ndarray]:
    days = tuple(first + timedelta(days=i) for i in range((last - first).days + 1))
    starts = np.array([_micros(day_start(day, tz)) for day in days], dtype=np.int64)
    return days, starts


def _series(account: RevenueAccount, starts: np.ndarray) -> tuple[Decimal, ...]:
    steps = _steps(account)
    at = np.array([_micros(s.at) for s in steps], dtype=np.int64)
    values = [ZERO, *(s.mrr for s in steps)]  # index 0: before the start
    indexes = np.searchsorted(at, starts, side="right")
    return tuple(values[i] for i in indexes.tolist())


def mrr_daily(
    accounts: Iterable[RevenueAccount], first: date, last: date, tz: str = "UTC"
) -> DailyMrr:
    """MRR per account per day from `first` to `last` inclusive (PRODUCT.md 2 and 6): a day's
    MRR is the MRR at the day's first instant in the company zone `tz`, so a change stamped
    at a day's start counts for that day and a churn stamped then zeroes it."""
    if last < first:
        raise RevenueError(f"days: {last} is before {first}")
    days, starts = _day_starts(first, last, tz)
    return DailyMrr(days, {a.id: _series(a, starts) for a in accounts})


# Currencies -----------------------------------------------------------------------------------


def report_currency(accounts: Iterable[RevenueAccount], base: str = "USD") -> str:
    """The currency a book's totals are reported in (PRODUCT.md 6): a book in one currency
    reports in it and needs no rate, even when it is not the base; a book in several (or in
    none) reports in the base currency."""
    currencies = {a.currency for a in accounts}
    return currencies.pop() if len(currencies) == 1 else base


def convert(amount: Decimal, currency: str, to: str, rates: Mapping[str, Decimal]) -> Decimal:
    """`amount` in `currency` expressed in `to`, where `rates[c]` is the price of one unit of
    c in `to` (amount × rate). MissingRateError names a currency without a rate."""
    if currency == to:
        return amount
    rate = rates.get(currency)
    if rate is None:
        raise MissingRateError(currency, to)
    if rate <= 0:
        raise RevenueError(f"rate: {currency} has a non-positive rate {rate}")
    return amount * rate


# Movements ------------------------------------------------------------------------------------


def classify(start: Decimal, end: Decimal, paid_earlier: bool) -> str | None:
    """The movement of one account between two instants (PRODUCT.md 6): new (from zero, never
    paid before), reactivation (from zero, paid before), expansion (up), contraction (down,
    not to zero), churn (to zero); None when nothing moved."""
    if start == end:
        return None
    if start == 0:
        return REACTIVATION if paid_earlier else NEW
    if end == 0:
        return CHURN
    return EXPANSION if end > start else CONTRACTION


@dataclass(frozen=True, slots=True)
class AccountMovement:
    """One account across a window, in its own currency: what a figure links to. The MRRs
    are those in force just before the window's start and just before its end."""

    account_id: str
    currency: str
    kind: str | None
    mrr_start: Decimal
    mrr_end: Decimal

    @property
    def amount(self) -> Decimal:
        return abs(self.mrr_end - self.mrr_start)

    @property
    def paying_start(self) -> bool:
        """A logo at the window's start: MRR above zero (PRODUCT.md 6)."""
        return self.mrr_start > 0

    @property
    def logo_churned(self) -> bool:
        """Paying at the start and not at the end, with or without a `churn` line."""
        return self.mrr_start > 0 and self.mrr_end == 0


def account_movement(account: RevenueAccount, start: datetime, end: datetime) -> AccountMovement:
    """The account's MRR just before `start` and just before `end`, and its movement between:
    the window owns the changes stamped in [start, end) (PRODUCT.md 6)."""
    mrr_start, mrr_end = mrr_before(account, start), mrr_before(account, end)
    paid = mrr_start == 0 and mrr_end > 0 and paid_before(account, start)
    kind = classify(mrr_start, mrr_end, paid)
    return AccountMovement(account.id, account.currency, kind, mrr_start, mrr_end)


def _ratio(numerator: Decimal | int, denominator: Decimal | int) -> float | None:
    return float(Decimal(numerator) / Decimal(denominator)) if denominator else None


def _number(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


@dataclass(frozen=True, slots=True)
class Movements:
    """A window's MRR movements over a book, in `currency` (PRODUCT.md 6). A monthly window
    has first_month == month; a trailing window runs from first_month's start to month's end."""

    month: str
    first_month: str
    currency: str
    mrr_start: Decimal
    new: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    reactivation: Decimal
    mrr_end: Decimal
    accounts_start: int
    accounts_churned: int
    accounts: tuple[AccountMovement, ...] = field(default=(), repr=False)

    @property
    def nrr(self) -> float | None:
        """(MRR at start + expansion − contraction − churn) ÷ MRR at start."""
        kept = self.mrr_start + self.expansion - self.contraction - self.churn
        return _ratio(kept, self.mrr_start)

    @property
    def grr(self) -> float | None:
        """(MRR at start − contraction − churn) ÷ MRR at start."""
        return _ratio(self.mrr_start - self.contraction - self.churn, self.mrr_start)

    @property
    def logo_churn(self) -> float | None:
        """Accounts paying at the start and not at the end ÷ accounts paying at the start."""
        return _ratio(self.accounts_churned, self.accounts_start)

    def to_json(self) -> dict[str, Any]:
        money = ("mrr_start", "new", "expansion", "contraction", "churn", "reactivation")
        data: dict[str, Any] = {"month": self.month}
        if self.first_month != self.month:
            data["first_month"] = self.first_month
        data.update({name: _number(getattr(self, name)) for name in money})
        data["mrr_end"] = _number(self.mrr_end)
        data.update(nrr=self.nrr, grr=self.grr, logo_churn=self.logo_churn)
        data.update(accounts_start=self.accounts_start, accounts_churned=self.accounts_churned)
        data["currency"] = self.currency
        return data


def _summarise(
    moves: Sequence[AccountMovement],
    month: str,
    first_month: str,
    currency: str,
    rates: Mapping[str, Decimal],
) -> Movements:
    totals = dict.fromkeys(("mrr_start", "mrr_end", *KINDS), ZERO)
    for move in moves:
        start = convert(move.mrr_start, move.currency, currency, rates)
        end = convert(move.mrr_end, move.currency, currency, rates)
        totals["mrr_start"] += start
        totals["mrr_end"] += end
        if move.kind is not None:
            totals[move.kind] += abs(end - start)
    return Movements(
        month=month,
        first_month=first_month,
        currency=currency,
        accounts_start=sum(m.paying_start for m in moves),
        accounts_churned=sum(m.logo_churned for m in moves),
        accounts=tuple(moves),
        **totals,
    )


def _window(
    accounts: Sequence[RevenueAccount], month: str, months: int, tz: str
) -> tuple[str, list[AccountMovement]]:
    if months < 1:
        raise RevenueError(f"months: must be at least 1, got {months}")
    first = shift_month(month, 1 - months)
    start, end = month_start(first, tz), month_start(shift_month(month, 1), tz)
    return first, [account_movement(a, start, end) for a in accounts]


def movements(
    accounts: Iterable[RevenueAccount],
    month: str,
    tz: str = "UTC",
    *,
    months: int = 1,
    base_currency: str = "USD",
    rates: Mapping[str, Decimal] | None = None,
) -> Movements:
    """Month `month`'s movements (PRODUCT.md 6): each account's MRR just before the month's
    first instant against its MRR just before the next month's, in the company zone `tz`, so
    the month owns the changes stamped in [its start, the next start); they net out. With
    `months` > 1, the window is the `months` months ending with `month` (see
    `trailing_12_months`). Totals are in `report_currency`, converted at `rates`."""
    book = list(accounts)
    currency = report_currency(book, base_currency)
    first, moves = _window(book, month, months, tz)
    return _summarise(moves, month, first, currency, rates or {})


def trailing_12_months(
    accounts: Iterable[RevenueAccount],
    month: str,
    tz: str = "UTC",
    *,
    base_currency: str = "USD",
    rates: Mapping[str, Decimal] | None = None,
) -> Movements:
    """Trailing-12-month figures ending with `month` (PRODUCT.md 6): one window from the start
    of M−11 to the start of M+1 (each read just before), classified as a month is. So T12M
    NRR is the cohort of accounts paying at M−11's start: their MRR at M+1's start ÷ their
    MRR then (accounts new in the window are left out); T12M GRR caps each of them at its
    starting MRR; T12M logo churn is the accounts paying at M−11's start and not at M+1's
    start ÷ the former."""
    return movements(accounts, month, tz, months=12, base_currency=base_currency, rates=rates)


def movements_by_group(
    accounts: Iterable[RevenueAccount],
    month: str,
    groups: Mapping[str, str | None],
    tz: str = "UTC",
    *,
    months: int = 1,
    base_currency: str = "USD",
    rates: Mapping[str, Decimal] | None = None,
) -> dict[str | None, Movements]:
    """Movements by team, CSM or segment (PRODUCT.md 6): `groups` maps an account id to its
    group (the caller decides, e.g. the owning CSM at the window's start); accounts it does
    not name fall under None. Every group reports in the whole book's currency, so groups
    add up and compare."""
    book = list(accounts)
    currency = report_currency(book, base_currency)
    first, moves = _window(book, month, months, tz)
    grouped: dict[str | None, list[AccountMovement]] = {}
    for move in moves:
        grouped.setdefault(groups.get(move.account_id), []).append(move)
    return {
        key: _summarise(members, month, first, currency, rates or {})
        for key, members in grouped.items()
    }


def book_mrr_at(
    accounts: Iterable[RevenueAccount],
    instant: datetime,
    *,
    base_currency: str = "USD",
    rates: Mapping[str, Decimal] | None = None,
) -> tuple[Decimal, str]:
    """The book's total MRR at `instant` and the currency it is in (see `report_currency`)."""
    book = list(accounts)
    currency = report_currency(book, base_currency)
    total = sum(
        (convert(mrr_at(a, instant), a.currency, currency, rates or {}) for a in book), ZERO
    )
    return total, currency
