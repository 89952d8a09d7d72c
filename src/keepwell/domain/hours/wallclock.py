"""Local wall-clock times to instants, in bulk (PRODUCT.md 3: daylight saving is honoured).

The rule, for the engine and its reference alike: an interval opens at the first instant
the wall clock shows its start time or later, and closes at the last instant the wall
clock shows its end time or earlier. So a time skipped by a spring-forward change maps to
the change itself (01:00–03:00 on a US spring-forward day lasts 1 h; 02:30–04:00 opens at
03:00), an ambiguous start to its first occurrence and an ambiguous end to its second (the
interval covers the whole wall-clock stretch: 00:00–02:00 on a US fall-back day lasts 3 h).

Times here are whole seconds: "walls" count seconds from 1970-01-01 00:00 on the local
clock as if it were UTC; instants count seconds since the Unix epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

FAR = 2**40  # seconds: beyond any supported date, far from int64 overflow even in microseconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Offsets are sampled daily and each change is bisected to the second. Over 1970-2040 this
# finds every change of every zone in tzdata that sampling every 6 hours finds (checked).
_SAMPLE = 86_400

Seconds = NDArray[np.int64]


@dataclass(frozen=True)
class Offsets:
    """A zone's constant-offset stretches: stretch i starts at `starts[i]` (the first is
    -FAR) and lasts until the next, `offsets[i]` seconds east of UTC."""

    starts: Seconds
    offsets: Seconds

    def openings(self, walls: Seconds) -> Seconds:
        """Per wall time, the first instant the clock shows it or later (the start rule)."""
        wall_ends = np.append(self.starts[1:], FAR) + self.offsets
        # The first stretch whose wall-clock range reaches past the wall time.
        i = np.searchsorted(np.maximum.accumulate(wall_ends), walls, side="right")
        return np.maximum(self.starts[i], walls - self.offsets[i])

    def closings(self, walls: Seconds) -> Seconds:
        """Per wall time, the last instant the clock shows it or earlier (the end rule)."""
        wall_starts = self.starts + self.offsets
        # The last stretch whose wall-clock range begins at or before the wall time.
        suffix_min = np.minimum.accumulate(wall_starts[::-1])[::-1]
        j = np.searchsorted(suffix_min, walls, side="right") - 1
        return np.minimum(np.append(self.starts[1:], FAR)[j], walls - self.offsets[j])


def zone_offsets(zone: ZoneInfo, first_year: int, last_year: int) -> Offsets:
    """The offsets of `zone` over UTC years first_year..last_year (exact outside them only
    if the zone does not change there)."""
    changes = [c for year in range(first_year, last_year + 1) for c in _changes(zone, year)]
    first = _offset(zone, _year_start(first_year))
    starts = [-FAR] + [at for at, _ in changes]
    offsets = [first] + [offset for _, offset in changes]
    return Offsets(np.array(starts, dtype=np.int64), np.array(offsets, dtype=np.int64))


@cache
def _changes(zone: ZoneInfo, year: int) -> tuple[tuple[int, int], ...]:
    """(instant, offset from then on) for each change of `zone`'s offset in UTC `year`."""
    found: list[tuple[int, int]] = []
    end = _year_start(year + 1)
    at, offset = _year_start(year), _offset(zone, _year_start(year))
    while at < end:
        step = min(at + _SAMPLE, end)
        after = _offset(zone, step)
        if after != offset:
            _bisect(zone, at, offset, step, after, found)
        at, offset = step, after
    return tuple(sorted(found))


def _bisect(zone: ZoneInfo, lo: int, lo_offset: int, hi: int, hi_offset: int, out: list) -> None:
    """Find where the offset changes in (lo, hi], where it differs at the two ends."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        mid_offset = _offset(zone, mid)
        if mid_offset == lo_offset:
            lo = mid
            continue
        if mid_offset != hi_offset:  # a second change between mid and hi
            _bisect(zone, mid, mid_offset, hi, hi_offset, out)
        hi, hi_offset = mid, mid_offset
    out.append((hi, hi_offset))


def _offset(zone: ZoneInfo, instant: int) -> int:
    offset = (_EPOCH + timedelta(seconds=instant)).astimezone(zone).utcoffset()
    assert offset is not None
    return offset // timedelta(seconds=1)


def _year_start(year: int) -> int:
    return (datetime(year, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(seconds=1)
