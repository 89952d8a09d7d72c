"""The business-hours engine over arrays (PRODUCT.md 3): a schedule compiled to sorted open
intervals in int64 microseconds since the Unix epoch, with prefix sums of open time, so
that business time between two instants is two binary searches and a deadline is one more.

Definitions (exact, in integer microseconds):
- open time is the union of the version-in-force's intervals mapped to instants by the
  wall-clock rule of `wallclock.py`; `between(a, b)` is its length within [a, b), b >= a;
- `add(a, m)` is the earliest instant t >= a with between(a, t) == m: `a` itself for
  m == 0, else inside or at the end of an open interval (a one-hour target set at 16:00 on
  a 09–17 day is due at 17:00, not at the next morning's opening);
- business days count each open microsecond as 1 / business_day_seconds of the version in
  force at it (PRODUCT.md 4, "Business day").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cache, lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keepwell.domain import timeline
from keepwell.domain.hours.schedule import DAY_SECONDS, Schedule, ScheduleVersion
from keepwell.domain.hours.wallclock import zone_offsets

MICROS = 1_000_000
INF = 2**62  # microseconds: an instant after every supported one
MIN_YEAR, MAX_YEAR = 1000, 9000  # the engine's supported years, with room for margins
MAX_AMOUNT = 2**60  # microseconds: ~36 000 years of business time, far from overflow
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MARGIN = timedelta(days=3)  # local dates compiled beyond the range: covers any UTC offset

Micros = NDArray[np.int64]
Floats = NDArray[np.float64]
Span = tuple[int, int, int]  # (version index, in force from, until) in microseconds


@dataclass(frozen=True, eq=False)
class CompiledCalendar:
    """A schedule's open intervals, exact for instants in [first, last] (microseconds).

    `starts`/`ends` end with a sentinel interval at INF; `opened[i]` is the open time
    before interval i. Build it with `compile_schedule`, or let `BusinessCalendar` do it.
    """

    schedule: Schedule
    first: int
    last: int
    starts: Micros = field(repr=False)
    ends: Micros = field(repr=False)
    opened: Micros = field(repr=False)
    spans: tuple[Span, ...]
    _shifts: Micros = field(init=False, repr=False)
    _opened_after: Micros = field(init=False, repr=False)

    @property
    def intervals(self) -> tuple[Micros, Micros]:
        """The open intervals (starts, ends), sorted, disjoint and not touching."""
        return self.starts[:-1], self.ends[:-1]

    def between(self, starts: ArrayLike, ends: ArrayLike) -> Micros:
        """Open microseconds within each [start, end) (PRODUCT.md 3: durations count only open
        time). ValueError if an end is before its start or outside the compiled range."""
        a, b = _ordered(starts, ends)
        self._check_covered(a, b)
        return self._position(b) - self._position(a)

    def add(self, starts: ArrayLike, micros: ArrayLike) -> Micros:
        """Per start, the earliest instant by which `micros` open microseconds have passed
        (module docstring). ValueError if a deadline falls beyond the compiled range."""
        a, m = _amounts(starts, micros)
        self._check_covered(a, a)
        return self._checked(self._reach(a, m))

    def business_days_between(self, starts: ArrayLike, ends: ArrayLike) -> Floats:
        """Business days within each [start, end): each open second counts 1 / the business
        day of the version in force at it (PRODUCT.md 4, "Business day")."""
        a, b = _ordered(starts, ends)
        self._check_covered(a, b)
        return self._days_between(a, b)

    def add_business_days(self, starts: ArrayLike, days: ArrayLike) -> Micros:
        """Per start, the earliest instant by which `days` business days have passed; each
        version's stretch converts days to microseconds rounded to the nearest one."""
        a, d = _day_amounts(starts, days)
        self._check_covered(a, a)
        return self._checked(self._reach_days(a, d))

    def _position(self, t: Micros) -> Micros:
        """Open microseconds before each instant, counted from the first compiled interval."""
        i = np.searchsorted(self.ends, t, side="right")
        return np.maximum(self.opened[i], t - self._shifts[i])

    def _reach(self, a: Micros, m: Micros) -> Micros:
        target = self._position(a) + m
        j = np.searchsorted(self._opened_after, target, side="left")
        return np.where(m == 0, a, target + self._shifts[j])

    def _days_between(self, a: Micros, b: Micros) -> Floats:
        out = np.zeros(a.shape, dtype=np.float64)
        for k, lo, hi in self.spans:
            weekdays, week = _day_units(self.schedule.versions[k])
            part = self._position(np.clip(b, lo, hi)) - self._position(np.clip(a, lo, hi))
            out += (part * weekdays) / week  # exact numerator, one rounding
        return out

    def _reach_days(self, a: Micros, days: Floats) -> Micros:
        """Walk the versions in order, converting days left to each one's microseconds."""
        out = np.full(a.size, INF, dtype=np.int64)
        cursor, left = a.ravel().copy(), days.ravel().copy()
        pending = np.ones(a.size, dtype=bool)
        for k, lo, hi in self.spans:
            here = np.flatnonzero(pending & (cursor < hi))
            weekdays, week = _day_units(self.schedule.versions[k])
            at = np.maximum(cursor[here], lo)
            need = np.rint(np.maximum(left[here], 0.0) * week / weekdays).astype(np.int64)
            room = self._room(at, hi)
            fits = need <= room
            out[here[fits]] = self._reach(at[fits], need[fits])
            pending[here[fits]] = False
            rest = here[~fits]
            left[rest] -= (room[~fits] * weekdays) / week
            cursor[rest] = hi
        return out.reshape(a.shape)

    def _room(self, at: Micros, until: int) -> Micros:
        """Open time from each instant to `until`; unbounded when `until` is past the range."""
        if until > self.last:
            return np.full(at.shape, INF, dtype=np.int64)
        return self._position(np.full(at.shape, until, dtype=np.int64)) - self._position(at)

    def _check_covered(self, a: Micros, b: Micros) -> None:
        if a.size and (int(a.min()) < self.first or int(b.max()) > self.last):
            raise ValueError(
                f"instants outside the compiled calendar ({_iso(self.first)} to "
                f"{_iso(self.last)}): compile a wider range, or use BusinessCalendar"
            )

    def _checked(self, out: Micros) -> Micros:
        if out.size and int(out.max()) > self.last:
            raise ValueError(
                f"a deadline falls after the compiled calendar's end ({_iso(self.last)}): "
                "compile a wider range, or use BusinessCalendar"
            )
        return out

    def __post_init__(self) -> None:
        # start - open time before it, so that a position is max(opened[i], t - shifts[i]);
        # and the open time up to each interval's end, where deadlines are searched.
        object.__setattr__(self, "_shifts", self.starts - self.opened)
        object.__setattr__(self, "_opened_after", self.opened[1:])


def compile_schedule(schedule: Schedule, first: date, last: date) -> CompiledCalendar:
    """Compile a schedule's open intervals (PRODUCT.md 3) for instants from 00:00 UTC of
    `first` to 00:00 UTC after `last`, each stretch by the version in force then (PRODUCT.md
    4, "Schedule versions")."""
    if first > last:
        raise ValueError(f"compile range ends ({last}) before it starts ({first})")
    if first.year < MIN_YEAR or last.year > MAX_YEAR:
        raise ValueError(f"the engine supports the years {MIN_YEAR} to {MAX_YEAR}")
    lo, hi = _midnight(first), _midnight(last + timedelta(days=1))
    spans = tuple(s for s in version_spans(schedule) if s[1] < hi and s[2] > lo)
    pieces = [_version_intervals(schedule.versions[k], f, u, first, last) for k, f, u in spans]
    starts, ends = _union(
        np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces])
    )
    opened = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int64)
    sentinel = np.array([INF], dtype=np.int64)
    return CompiledCalendar(
        schedule, lo, hi, np.concatenate([starts, sentinel]), np.concatenate([ends, sentinel]),
        opened, spans,
    )  # fmt: skip


def _version_intervals(
    version: ScheduleVersion, in_force: int, until: int, first: date, last: date
) -> tuple[Micros, Micros]:
    """One version's open intervals for local dates around [first, last], clipped to the
    stretch in which it is in force."""
    d0, d1 = first - _MARGIN, last + _MARGIN
    if in_force > -INF:
        d0 = max(d0, _local_date(in_force, version) - timedelta(days=1))
    if until < INF:
        d1 = min(d1, _local_date(until, version) + timedelta(days=1))
    walls_from, walls_to = _walls(version, d0, d1)
    offsets = zone_offsets(version.zone, (d0 - _MARGIN).year, (d1 + _MARGIN).year)
    starts = np.maximum(offsets.openings(walls_from) * MICROS, in_force)
    ends = np.minimum(offsets.closings(walls_to) * MICROS, until)
    keep = starts < ends
    return starts[keep], ends[keep]


def _walls(version: ScheduleVersion, d0: date, d1: date) -> tuple[Micros, Micros]:
    """Each open interval of each local date d0..d1, as wall-clock seconds (wallclock.py)."""
    starts: list[int] = []
    ends: list[int] = []
    for ordinal in range(d0.toordinal(), d1.toordinal() + 1):
        base = (ordinal - _EPOCH_ORDINAL) * DAY_SECONDS
        for start, end in version.hours_on(date.fromordinal(ordinal)):
            starts.append(base + start)
            ends.append(base + end)
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def _union(starts: Micros, ends: Micros) -> tuple[Micros, Micros]:
    """Merge overlapping or touching intervals: an instant is open once, however many of a
    day's intervals cover it (two can, around an ambiguous wall-clock time)."""
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    if not starts.size:
        return starts, ends
    reach = np.maximum.accumulate(ends)
    heads = np.flatnonzero(np.concatenate([[True], starts[1:] > reach[:-1]]))
    tails = np.append(heads[1:] - 1, starts.size - 1)
    return starts[heads], reach[tails]


@lru_cache(maxsize=256)
def version_spans(schedule: Schedule) -> tuple[Span, ...]:
    """When each version is in force (PRODUCT.md 4, "Schedule versions"): the first from
    the start of time, each later one from 00:00 of its effective date in its own zone
    until the next begins (domain.timeline). A version that a later one starts before is
    never in force."""
    begins = [-INF] + [_version_begins(v) for v in schedule.versions[1:]]
    return timeline.spans_in_force(begins)


def spliced(schedules: Sequence[tuple[date, Schedule]]) -> Schedule:
    """One schedule out of several, each in force from its date on (the first from the
    start of time): a CSM's schedule changes from a date on, and earlier stretches of a
    clock keep the schedule then (PRODUCT.md 3). Each one contributes its versions in force
    from its date until the next one's, the first of them re-dated to its date, so that the
    engine counts a clock across the change as it counts one across versions (from 00:00
    of the date in the new schedule's zone)."""
    versions: list[ScheduleVersion] = []
    for k, (since, schedule) in enumerate(schedules):
        until = schedules[k + 1][0] if k + 1 < len(schedules) else date.max
        own = [v for v in schedule.versions if since < (v.effective or date.min) < until]
        first = version_on(schedule, since)
        versions += [first if k == 0 else replace(first, effective=since), *own]
    return Schedule(tuple(versions))


def version_on(schedule: Schedule, day: date) -> ScheduleVersion:
    """The version in force on a local date of the schedule (at its 00:00: PRODUCT.md 4,
    "Schedule versions")."""
    return versions_on(schedule, [day])[0]


def versions_on(schedule: Schedule, days: Sequence[date]) -> list[ScheduleVersion]:
    """`version_on` for each of several dates, the versions' start dates read once."""
    begins = [(v.effective or date.min).toordinal() for v in schedule.versions]
    if len(begins) == 1:
        return [schedule.versions[0]] * len(days)
    return [schedule.versions[timeline.index_in_force(begins, d.toordinal())] for d in days]


def _version_begins(version: ScheduleVersion) -> int:
    assert version.effective is not None  # only the first version may lack one
    day = version.effective
    if not MIN_YEAR <= day.year <= MAX_YEAR:  # before or after any instant the engine takes
        return -INF if day.year < MIN_YEAR else INF
    wall = np.array([(day.toordinal() - _EPOCH_ORDINAL) * DAY_SECONDS], dtype=np.int64)
    offsets = zone_offsets(version.zone, day.year - 1, day.year + 1)
    return int(offsets.openings(wall)[0]) * MICROS


@cache
def _day_units(version: ScheduleVersion) -> tuple[int, int]:
    """(weekdays with open time, open microseconds per week): a business day is their ratio."""
    week = sum(end - start for hours in version.week for start, end in hours)
    return sum(1 for hours in version.week if hours), week * MICROS


class BusinessCalendar:
    """A schedule's engine that compiles itself wider as it is asked about more time; the
    array methods are CompiledCalendar's, over any supported instants."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._compiled: CompiledCalendar | None = None

    def covering(self, lo: int, hi: int) -> CompiledCalendar:
        """A compiled calendar exact over [lo, hi] (microseconds), whole UTC years."""
        current = self._compiled
        if current is not None and current.first <= lo and hi <= current.last:
            return current
        y0, y1 = _year(lo), _year(hi)
        if current is not None:
            y0, y1 = min(y0, _year(current.first)), max(y1, _year(current.last - 1))
        return self._compile(y0, y1)

    def between(self, starts: ArrayLike, ends: ArrayLike) -> Micros:
        """CompiledCalendar.between over any supported instants."""
        a, b = _ordered(starts, ends)
        if not a.size:
            return np.zeros(a.shape, dtype=np.int64)
        return self.covering(int(a.min()), int(b.max())).between(a, b)

    def business_days_between(self, starts: ArrayLike, ends: ArrayLike) -> Floats:
        """CompiledCalendar.business_days_between over any supported instants."""
        a, b = _ordered(starts, ends)
        if not a.size:
            return np.zeros(a.shape, dtype=np.float64)
        return self.covering(int(a.min()), int(b.max())).business_days_between(a, b)

    def add(self, starts: ArrayLike, micros: ArrayLike) -> Micros:
        """CompiledCalendar.add over any supported instants, compiling further ahead until
        every deadline is reached."""
        a, m = _amounts(starts, micros)
        return self._reaching(a, lambda cal: cal._reach(a, m))

    def add_business_days(self, starts: ArrayLike, days: ArrayLike) -> Micros:
        """CompiledCalendar.add_business_days over any supported instants."""
        a, d = _day_amounts(starts, days)
        return self._reaching(a, lambda cal: cal._reach_days(a, d))

    def _reaching(self, a: Micros, reach: Callable[[CompiledCalendar], Micros]) -> Micros:
        if not a.size:
            return np.zeros(a.shape, dtype=np.int64)
        calendar = self.covering(int(a.min()), int(a.max()))
        while True:
            out = reach(calendar)
            if int(out.max()) <= calendar.last:
                return out
            calendar = self._ahead(calendar)

    def _ahead(self, calendar: CompiledCalendar) -> CompiledCalendar:
        y0, y1 = _year(calendar.first), _year(calendar.last - 1)
        if y1 >= MAX_YEAR:
            raise ValueError(f"no deadline within the supported years (to {MAX_YEAR})")
        return self._compile(y0, min(MAX_YEAR, y1 + max(1, y1 - y0 + 1)))

    def _compile(self, y0: int, y1: int) -> CompiledCalendar:
        compiled = compile_schedule(self.schedule, date(y0, 1, 1), date(y1, 12, 31))
        self._compiled = compiled
        return compiled


# Array inputs ------------------------------------------------------------------------------


def as_micros(values: ArrayLike) -> Micros:
    """Instants as int64 microseconds since the epoch: integers, or numpy datetime64."""
    array = np.asarray(values)
    if array.dtype.kind == "M":
        return array.astype("datetime64[us]").astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"expected int64 microseconds since the epoch, got {array.dtype}")
    return array.astype(np.int64, copy=False)


def _ordered(starts: ArrayLike, ends: ArrayLike) -> tuple[Micros, Micros]:
    a, b = np.broadcast_arrays(as_micros(starts), as_micros(ends))
    before = b < a
    if before.any():
        i = int(np.argmax(before))
        raise ValueError(
            f"end before start at index {i}: {_iso(int(b.flat[i]))} < {_iso(int(a.flat[i]))}"
        )
    return a, b


def _amounts(starts: ArrayLike, micros: ArrayLike) -> tuple[Micros, Micros]:
    a, m = np.broadcast_arrays(as_micros(starts), as_micros(micros))
    if m.size and (int(m.min()) < 0 or int(m.max()) > MAX_AMOUNT):
        raise ValueError(f"business time to add must be 0 to {MAX_AMOUNT} microseconds")
    return a, m


def _day_amounts(starts: ArrayLike, days: ArrayLike) -> tuple[Micros, Floats]:
    a, d = np.broadcast_arrays(as_micros(starts), np.asarray(days, dtype=np.float64))
    if d.size and not (np.isfinite(d).all() and d.min() >= 0 and d.max() <= 1e9):
        raise ValueError("business days to add must be finite, 0 to 1e9")
    return a, d


# Scalars -----------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def calendar_for(schedule: Schedule) -> BusinessCalendar:
    """The shared, self-widening calendar of a schedule (schedules are values)."""
    return BusinessCalendar(schedule)


# An aware datetime as microseconds since the Unix epoch (the timeline's, one definition).
to_micros = timeline.micros


def from_micros(micros: int, schedule: Schedule) -> datetime:
    """An instant as an aware datetime in the zone of the version in force at it."""
    return (EPOCH + timedelta(microseconds=micros)).astimezone(version_at(schedule, micros).zone)


def version_at(schedule: Schedule, micros: int) -> ScheduleVersion:
    """The version in force at an instant (PRODUCT.md 4, "Schedule versions")."""
    k = next(k for k, lo, hi in version_spans(schedule) if lo <= micros < hi)
    return schedule.versions[k]


def version_in_force(schedule: Schedule, instant: datetime) -> ScheduleVersion:
    """The version in force at an aware datetime (PRODUCT.md 4, "Schedule versions")."""
    return version_at(schedule, to_micros(instant))


def seconds_to_micros(seconds: int | Decimal | Fraction | str) -> int:
    """Whole microseconds in a number of seconds; ValueError if finer or negative."""
    try:
        exact = Fraction(seconds) * MICROS
    except (ValueError, TypeError, ArithmeticError):
        raise ValueError(f"not a number of seconds: {seconds!r}") from None
    if exact.denominator != 1:
        raise ValueError(f"{seconds} s is finer than a microsecond")
    if exact < 0:
        raise ValueError(f"{seconds} s is negative: business time to add must be 0 or more")
    return int(exact)


def micros_to_seconds(micros: int) -> Decimal:
    """Microseconds as exact Decimal seconds: 3600000000 -> 3600, 3600500000 -> 3600.5."""
    return Decimal(micros) / MICROS


def business_micros(schedule: Schedule, start: datetime, end: datetime) -> int:
    """Open microseconds within [start, end) (PRODUCT.md 3). ValueError if end < start."""
    a, b = _instants(start, end)
    return int(calendar_for(schedule).between(a, b))


def business_seconds(schedule: Schedule, start: datetime, end: datetime) -> Decimal:
    """Open seconds within [start, end), exact (PRODUCT.md 3: no rounding)."""
    return micros_to_seconds(business_micros(schedule, start, end))


def add_business_micros(schedule: Schedule, start: datetime, micros: int) -> datetime:
    """The earliest instant by which `micros` open microseconds have passed since `start`
    (`start` itself for 0), in the zone of the version in force then (PRODUCT.md 3)."""
    out = calendar_for(schedule).add(to_micros(start), micros)
    return from_micros(int(out), schedule)


def add_business_seconds(
    schedule: Schedule, start: datetime, seconds: int | Decimal | Fraction | str
) -> datetime:
    """`add_business_micros` with exact seconds (PRODUCT.md 3: a deadline)."""
    return add_business_micros(schedule, start, seconds_to_micros(seconds))


def business_days(schedule: Schedule, start: datetime, end: datetime) -> Fraction:
    """Business days within [start, end), exactly: each open second counts 1 / the business
    day of the version in force at it (PRODUCT.md 4, "Business day")."""
    a, b = _instants(start, end)
    calendar = calendar_for(schedule).covering(a, b)
    total = Fraction(0)
    for k, lo, hi in calendar.spans:
        weekdays, week = _day_units(schedule.versions[k])
        part = calendar.between(min(max(a, lo), hi), min(max(b, lo), hi))
        total += Fraction(int(part) * weekdays, week)
    return total


def add_business_days(schedule: Schedule, start: datetime, days: float) -> datetime:
    """The earliest instant by which `days` business days have passed since `start`
    (PRODUCT.md 4, "Business day"), in the zone of the version in force then."""
    out = calendar_for(schedule).add_business_days(to_micros(start), float(days))
    return from_micros(int(out), schedule)


def _instants(start: datetime, end: datetime) -> tuple[int, int]:
    a, b = to_micros(start), to_micros(end)
    if b < a:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    return a, b


def _midnight(day: date) -> int:
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY_SECONDS * MICROS


def _local_date(micros: int, version: ScheduleVersion) -> date:
    return (EPOCH + timedelta(microseconds=micros)).astimezone(version.zone).date()


def _year(micros: int) -> int:
    days = micros // (DAY_SECONDS * MICROS)
    year = date.fromordinal(min(max(days + _EPOCH_ORDINAL, 1), date.max.toordinal())).year
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"instant outside the supported years {MIN_YEAR} to {MAX_YEAR}")
    return year


def _iso(micros: int) -> str:
    try:
        return (EPOCH + timedelta(microseconds=micros)).isoformat()
    except OverflowError:
        return f"{micros} µs"
