"""The reference engine: PRODUCT.md 3 done the slow, obvious way, one local date and one
interval at a time with datetime objects. Tests and the benchmark check the array engine
against it; nothing else should call it.

It shares only the statement of the rules with the array engine (`hours_on`, the versions'
order); wall-clock times become instants here through zoneinfo's `fold` and a search for
the change, not through the array engine's table of offsets.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from keepwell.domain.hours.schedule import Schedule, ScheduleVersion, business_day_seconds

_MICRO = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)
_WINDOW = timedelta(days=7)

Piece = tuple[datetime, datetime]


def reference_business_micros(schedule: Schedule, start: datetime, end: datetime) -> int:
    """Open microseconds within [start, end) (PRODUCT.md 3)."""
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    return sum((b - a) // _MICRO for a, b in reference_open_intervals(schedule, start, end))


def reference_add_micros(schedule: Schedule, start: datetime, micros: int) -> datetime:
    """The earliest instant t >= start with `micros` open microseconds in [start, t)."""
    if micros < 0:
        raise ValueError("business time to add must be 0 or more")
    left, cursor = micros, start.astimezone(UTC)
    while left:
        for a, b in reference_open_intervals(schedule, cursor, cursor + _WINDOW):
            length = (b - a) // _MICRO
            if length >= left:
                return _shown(schedule, a + left * _MICRO)
            left -= length
        cursor += _WINDOW
    return _shown(schedule, cursor)


def reference_business_days(schedule: Schedule, start: datetime, end: datetime) -> Fraction:
    """Business days within [start, end): each stretch by its version's business day."""
    total = Fraction(0)
    for version, a, b in _in_force(schedule, start.astimezone(UTC), end.astimezone(UTC)):
        micros = sum((y - x) // _MICRO for x, y in _merged(_open(version, a, b)))
        total += Fraction(micros, 1_000_000) / business_day_seconds(version)
    return total


def reference_open_intervals(schedule: Schedule, start: datetime, end: datetime) -> list[Piece]:
    """The open intervals within [start, end), merged, in UTC."""
    pieces: list[Piece] = []
    for version, a, b in _in_force(schedule, start.astimezone(UTC), end.astimezone(UTC)):
        pieces.extend(_open(version, a, b))
    return _merged(pieces)


def _in_force(
    schedule: Schedule, start: datetime, end: datetime
) -> list[tuple[ScheduleVersion, datetime, datetime]]:
    """Each version with the part of [start, end) in which it is in force: from 00:00 of its
    effective date (the first: always), until a later version begins."""
    begins = [datetime.min.replace(tzinfo=UTC)]
    for version in schedule.versions[1:]:
        assert version.effective is not None  # only the first version may lack one
        begins.append(_instant(version.effective, 0, version.zone, opening=True))
    out = []
    for k, version in enumerate(schedule.versions):
        until = min(begins[k + 1 :], default=end)
        a, b = max(start, begins[k]), min(end, until)
        if a < b:
            out.append((version, a, b))
    return out


def _open(version: ScheduleVersion, start: datetime, end: datetime) -> list[Piece]:
    zone = version.zone
    day = start.astimezone(zone).date() - 2 * _DAY
    last = end.astimezone(zone).date() + 2 * _DAY
    pieces = []
    while day <= last:
        for s, e in version.hours_on(day):
            a = max(start, _instant(day, s, zone, opening=True))
            b = min(end, _instant(day, e, zone, opening=False))
            if a < b:
                pieces.append((a, b))
        day += _DAY
    return pieces


def _merged(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for a, b in sorted(pieces):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _instant(day: date, seconds: int, zone: ZoneInfo, *, opening: bool) -> datetime:
    """A local date's wall-clock time as a UTC instant: an opening at the first instant the
    clock shows it, a closing at the last; a time skipped by a change at the change."""
    wall = datetime.combine(day, time()) + timedelta(seconds=seconds)
    found = []
    for fold in (0, 1):
        utc = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == wall:
            found.append(utc)
    if found:
        return min(found) if opening else max(found)
    return _change(wall, zone)


def _change(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clock jumps over a skipped wall-clock time."""
    lo, hi = sorted(wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    before = lo.astimezone(zone).utcoffset()
    while hi - lo > _SECOND:
        mid = lo + ((hi - lo) // _SECOND // 2) * _SECOND
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def _shown(schedule: Schedule, instant: datetime) -> datetime:
    versions = _in_force(schedule, instant, instant + _MICRO)
    return instant.astimezone(versions[0][0].zone)
