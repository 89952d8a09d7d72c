"""One timeline of the book: who owned an account, whether it was active, and which of a
series of effective-dated things (schedule versions, a user's schedules) was in force, at an
instant. Every use case asks these questions here, so that they get one answer.

The rules (PRODUCT.md 4, "Events take effect at their instant", "Ownership", "Schedule
versions"; PRODUCT.md 9):

- Owner at t: the account line's owner holds from `started`; each `assign` moves the account
  to its owner from its `at` on (an assign stamped t is in force at t). Before the first
  assign the account line's owner answers, whenever asked.
- Active at t: started by t, and not churned at t. A churn stamped t is in force at t. A
  later `mrr` line above zero reactivates a churned account from its instant on (an `mrr`
  line and a churn at one instant: the churn wins; an `mrr` line at zero reactivates
  nothing). An account counts as active on a day, week or month when it is active at that
  period's first instant.
- In force at t: of things effective from given instants, the one with the latest start at
  or before t; the first is in force from the start of time. Schedule versions start at
  00:00 of their effective date in their own zone; the hours engine turns those dates into
  instants (it knows the zones) and asks here which is in force.

Instants are int microseconds since the Unix epoch in the array forms (the hot paths), aware
datetimes in the scalar ones.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

FOREVER = 2**62  # microseconds: after every instant the engines take
NEVER = -FOREVER  # before every instant
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

Span = tuple[int, int]  # [from, until) in microseconds
T = TypeVar("T")


class TimelineError(ValueError):
    """Timeline facts that break the rules above (a naive instant)."""


def micros(instant: datetime) -> int:
    """An aware datetime as microseconds since the Unix epoch, exactly."""
    if instant.tzinfo is UTC:
        return (instant - EPOCH) // _MICRO  # the common case: no offset to ask for
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise TimelineError(f"naive datetime {instant.isoformat()}: instants need a time zone")
    return (instant - EPOCH) // _MICRO


def instant(value: int) -> datetime:
    """Microseconds since the Unix epoch as an aware UTC datetime."""
    return EPOCH + timedelta(microseconds=value)


# In force at t ------------------------------------------------------------------------------


def index_in_force(begins: Sequence[int], at: int) -> int:
    """Of things in force from `begins` (sorted, microseconds; the first from the start of
    time whatever it says), the index of the one in force at `at` (PRODUCT.md 4, "Schedule
    versions": a version is in force from its start until the next one's)."""
    return max(bisect_right(begins, at, lo=1) - 1, 0)


def indexes_in_force(begins: Sequence[int], at: NDArray[np.int64]) -> NDArray[np.int64]:
    """`index_in_force` for an array of instants."""
    tail = np.asarray(begins[1:], dtype=np.int64)
    return np.searchsorted(tail, at, side="right").astype(np.int64)


def spans_in_force(begins: Sequence[int]) -> tuple[tuple[int, int, int], ...]:
    """(index, from, until) for each thing that is ever in force, in time order: the first
    from the start of time (NEVER), each from its start until the next one's; one that a
    later one starts at or before is never in force (PRODUCT.md 4, "Schedule versions")."""
    starts = [NEVER, *begins[1:]]
    spans: list[tuple[int, int, int]] = []
    until = FOREVER
    for k in range(len(starts) - 1, -1, -1):
        if starts[k] < until:
            spans.append((k, starts[k], until))
            until = starts[k]
    return tuple(reversed(spans))


# Owner at t ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ownership:
    """Who owns an account when (PRODUCT.md 9, 4 "Ownership"): `initial` (the account
    line's owner) until the first move, each move's owner from its instant on."""

    initial: str | None
    moves: tuple[tuple[int, str], ...] = ()  # (at in microseconds, owner), in time order
    _times: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.moves, key=lambda move: move[0]))
        object.__setattr__(self, "moves", ordered)
        object.__setattr__(self, "_times", tuple(at for at, _ in ordered))

    @classmethod
    def of(cls, initial: str | None, moves: Iterable[tuple[datetime, str]]) -> Ownership:
        """From the account line's owner and the `assign` lines as (at, owner)."""
        return cls(initial, tuple((micros(at), owner) for at, owner in moves))

    def owner_at(self, at: datetime) -> str | None:
        """The owner at an aware instant (an assign stamped then is in force)."""
        return self.owner_at_micros(micros(at))

    def owner_at_micros(self, at: int) -> str | None:
        index = bisect_right(self._times, at)
        return self.moves[index - 1][1] if index else self.initial

    def owners_at(self, at: NDArray[np.int64]) -> list[str | None]:
        """The owner at each instant of an array (microseconds)."""
        owners = [self.initial, *(owner for _, owner in self.moves)]
        indexes = np.searchsorted(np.asarray(self._times, dtype=np.int64), at, side="right")
        return [owners[i] for i in indexes.tolist()]

    def known_at(self, as_of: int) -> Ownership:
        """The ownership as known at `as_of`: moves stamped later are not (PRODUCT.md 4)."""
        known = tuple(move for move in self.moves if move[0] <= as_of)
        return self if len(known) == len(self.moves) else Ownership(self.initial, known)

    def spans_of(self, owner: str) -> list[Span]:
        """The [from, until) spans in which `owner` owns the account (NEVER: since always)."""
        froms = [NEVER, *self._times]
        whos = [self.initial, *(who for _, who in self.moves)]
        spans = []
        for k, who in enumerate(whos):
            until = froms[k + 1] if k + 1 < len(froms) else FOREVER
            if who == owner and froms[k] < until:
                spans.append((froms[k], until))
        return spans

    def owners(self) -> set[str]:
        """Everyone who ever owns the account."""
        return {who for who in (self.initial, *(who for _, who in self.moves)) if who}


# Active at t --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lifecycle:
    """When an account is active (PRODUCT.md 4 and the module docstring): from `started`
    (microseconds), less each stretch from a churn to the next `mrr` line above zero."""

    started: int
    churns: tuple[int, ...] = ()
    paid: tuple[int, ...] = ()  # instants of `mrr` lines above zero
    _spans: tuple[Span, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        churns, paid = tuple(sorted(self.churns)), tuple(sorted(self.paid))
        object.__setattr__(self, "churns", churns)
        object.__setattr__(self, "paid", paid)
        object.__setattr__(self, "_spans", _active_spans(self.started, churns, paid))

    @classmethod
    def of(
        cls, started: datetime, churns: Iterable[datetime] = (), paid: Iterable[datetime] = ()
    ) -> Lifecycle:
        """From the start instant, the churn instants and the instants of `mrr` lines > 0."""
        return cls(micros(started), tuple(map(micros, churns)), tuple(map(micros, paid)))

    @property
    def spans(self) -> tuple[Span, ...]:
        """The [from, until) spans in which the account is active, in time order, disjoint
        (until FOREVER: still active)."""
        return self._spans

    def active_at(self, at: datetime) -> bool:
        """Started and not churned at an aware instant (a churn stamped then is in force; so
        is a reactivation)."""
        return self.active_at_micros(micros(at))

    def active_at_micros(self, at: int) -> bool:
        return any(lo <= at < hi for lo, hi in self._spans)

    def active_throughout(self, first: int, last: int) -> bool:
        """Active without a break from `first` to `last`, both included."""
        return any(lo <= first and last < hi for lo, hi in self._spans)

    def changes(self) -> tuple[tuple[datetime, bool], ...]:
        """Where the account turns active (True) and inactive (False), in time order: the
        flag at an instant is that of the last change at or before it."""
        out: list[tuple[datetime, bool]] = []
        for lo, hi in self._spans:
            out.append((instant(lo), True))
            if hi < FOREVER:
                out.append((instant(hi), False))
        return tuple(out)

    def known_at(self, as_of: int) -> Lifecycle:
        """The account as known at `as_of`: churns and `mrr` lines stamped later are not
        (PRODUCT.md 4: nothing recorded after the evaluation moment is used)."""
        churns = tuple(at for at in self.churns if at <= as_of)
        paid = tuple(at for at in self.paid if at <= as_of)
        if len(churns) == len(self.churns) and len(paid) == len(self.paid):
            return self
        return Lifecycle(self.started, churns, paid)


def _active_spans(started: int, churns: tuple[int, ...], paid: tuple[int, ...]) -> tuple[Span, ...]:
    """Replay churns and payments in time order (at one instant, the payment first, so that
    the churn wins), then keep what lies from `started` on."""
    events = sorted([(at, 1, False) for at in churns] + [(at, 0, True) for at in paid])
    spans: list[Span] = []
    since: int | None = NEVER
    for at, _, pays in events:
        if pays and since is None:
            since = at
        elif not pays and since is not None:
            spans.append((since, at))
            since = None
    if since is not None:
        spans.append((since, FOREVER))
    cut = [(max(lo, started), hi) for lo, hi in spans]
    return tuple((lo, hi) for lo, hi in cut if lo < hi)


def intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """The spans in both of two lists of sorted, disjoint spans."""
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def active_flags(lifecycles: Sequence[Lifecycle], at: int) -> NDArray[np.bool_]:
    """Which of the lifecycles are active at `at` (microseconds), as a boolean array."""
    return np.fromiter((life.active_at_micros(at) for life in lifecycles), bool, len(lifecycles))


def in_force(values: Sequence[T], begins: Sequence[int], at: int) -> T:
    """The value in force at `at` among `values` in force from `begins` (the first always)."""
    return values[index_in_force(begins, at)]
