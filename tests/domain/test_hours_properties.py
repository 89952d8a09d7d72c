"""Properties of the business-hours engine (PRODUCT.md 3): the array engine agrees with the
slow reference on random schedules and instants, and business time behaves like a measure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepwell.domain.hours import (
    WEEKDAYS,
    BusinessCalendar,
    Schedule,
    business_days,
    business_micros,
    to_micros,
)
from keepwell.domain.hours.reference import (
    reference_add_micros,
    reference_business_days,
    reference_business_micros,
)
from keepwell.domain.hours.wallclock import zone_offsets

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = 3_600_000_000
DAY = 24 * HOUR

# Zones with daylight saving, half- and quarter-hour offsets, changes at midnight.
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Kyiv",
    "Pacific/Auckland",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
    "America/Havana",
    "Africa/Casablanca",
    "Europe/London",
]
COUNTRIES = [None, ("US", None), ("US", "NY"), ("UA", None), ("NZ", None), ("IN", None)]
# Wall-clock times where daylight-saving changes happen, so that boundaries land on them.
CHANGE_TIMES = [0, 1800, 3600, 5400, 7200, 9000, 10800, 12600, 14400, 82800, 86400]

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def paired(points: list[int]) -> list[list[str]]:
    ordered = sorted(points)
    return [[clock(a), clock(b)] for a, b in zip(ordered[::2], ordered[1::2], strict=False)]


POINTS = st.one_of(st.sampled_from(CHANGE_TIMES), st.integers(0, 86400))
HOURS = st.lists(POINTS, max_size=6, unique=True).map(paired)
OPEN_HOURS = st.lists(POINTS, min_size=2, max_size=6, unique=True).map(paired)
DAY_OFFSETS = st.integers(0, 3 * 365)
HOLIDAYS = st.sampled_from(COUNTRIES)


@st.composite
def versions(draw: st.DrawFn, first: date, effective: date | None) -> dict:
    week = {day: draw(HOURS) for day in WEEKDAYS}
    week[draw(st.sampled_from(WEEKDAYS))] = draw(OPEN_HOURS)
    spec: dict = {"timezone": draw(st.sampled_from(ZONES)), "week": week}

    def some_date(n: int) -> str:
        return (first + timedelta(days=n)).isoformat()

    holidays: dict = {"dates": [some_date(n) for n in draw(st.lists(DAY_OFFSETS, max_size=4))]}
    country = draw(HOLIDAYS)
    if country:
        holidays["country"] = country[0]
        if country[1]:
            holidays["subdivision"] = country[1]
    spec["holidays"] = holidays
    spec["days"] = {some_date(n): draw(HOURS) for n in draw(st.lists(DAY_OFFSETS, max_size=3))}
    if effective:
        spec["effective"] = effective.isoformat()
    return spec


@st.composite
def schedules(draw: st.DrawFn) -> tuple[Schedule, int, int]:
    """A random schedule with 1–3 versions, and the window [lo, hi) of instants to try."""
    first = date(draw(st.integers(2012, 2030)), 1, 1)
    offsets = sorted(draw(st.sets(st.integers(1, 3 * 365), max_size=2)))
    effective = [None] + [first + timedelta(days=n) for n in offsets]
    schedule = Schedule.from_versions([draw(versions(first, e)) for e in effective])
    lo = to_micros(datetime(first.year, 1, 1, tzinfo=UTC))
    return schedule, lo, lo + 3 * 365 * DAY


def nearby_changes(schedule: Schedule, lo: int, hi: int) -> list[int]:
    """The instants in [lo, hi) where a version's zone changes its offset."""
    found = set()
    for version in schedule.versions:
        found |= set(changes_of(version.timezone))
    return sorted(t for t in found if lo <= t < hi)


@cache
def changes_of(timezone: str) -> list[int]:
    return [int(t) * 1_000_000 for t in zone_offsets(ZoneInfo(timezone), 2011, 2034).starts[1:]]


@st.composite
def instants(draw: st.DrawFn, schedule: Schedule, lo: int, hi: int) -> int:
    """Any instant of the window, or one near a change of a version's offset."""
    changes = nearby_changes(schedule, lo, hi)
    near_a_change = draw(st.booleans())
    if changes and near_a_change:
        near = draw(st.sampled_from(changes))
        return near + draw(st.integers(-6 * HOUR, 6 * HOUR))
    return draw(st.integers(lo, hi - 1))


@st.composite
def spans(draw: st.DrawFn, schedule: Schedule, lo: int, hi: int) -> tuple[int, int]:
    start = draw(instants(schedule, lo, hi))
    length = draw(
        st.one_of(
            st.integers(0, 3 * DAY),
            st.integers(0, 40 * DAY),
            st.sampled_from([0, 1, HOUR, DAY]),
        )
    )
    return start, start + length


def dt(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


@SETTINGS
@given(st.data())
def test_the_array_engine_equals_the_reference(data: st.DataObject) -> None:
    schedule, lo, hi = data.draw(schedules())
    pairs = data.draw(st.lists(spans(schedule, lo, hi), min_size=1, max_size=4))
    starts = np.array([a for a, _ in pairs], dtype=np.int64)
    ends = np.array([b for _, b in pairs], dtype=np.int64)
    got = BusinessCalendar(schedule).between(starts, ends)
    expected = [reference_business_micros(schedule, dt(a), dt(b)) for a, b in pairs]
    assert got.tolist() == expected


@SETTINGS
@given(st.data())
def test_deadlines_equal_the_reference(data: st.DataObject) -> None:
    schedule, lo, hi = data.draw(schedules())
    starts = data.draw(st.lists(instants(schedule, lo, hi), min_size=1, max_size=3))
    amounts = data.draw(
        st.lists(
            st.one_of(st.integers(0, 30 * HOUR), st.sampled_from([0, 1, HOUR, 8 * HOUR])),
            min_size=len(starts),
            max_size=len(starts),
        )
    )
    got = BusinessCalendar(schedule).add(np.array(starts), np.array(amounts))
    expected = [
        reference_add_micros(schedule, dt(a), m) for a, m in zip(starts, amounts, strict=True)
    ]
    assert got.tolist() == [to_micros(t) for t in expected]


@SETTINGS
@given(st.data())
def test_business_days_equal_the_reference(data: st.DataObject) -> None:
    schedule, lo, hi = data.draw(schedules())
    a, b = data.draw(spans(schedule, lo, hi))
    exact = reference_business_days(schedule, dt(a), dt(b))
    assert business_days(schedule, dt(a), dt(b)) == exact
    got = BusinessCalendar(schedule).business_days_between(np.array([a]), np.array([b]))
    assert abs(float(got[0]) - float(exact)) <= 1e-12 * max(1.0, float(exact))


@SETTINGS
@given(st.data())
def test_adding_what_was_counted_gives_the_end_back(data: st.DataObject) -> None:
    schedule, lo, hi = data.draw(schedules())
    calendar = BusinessCalendar(schedule)
    start = data.draw(instants(schedule, lo, hi))
    amount = data.draw(st.integers(0, 80 * HOUR))
    (deadline,) = calendar.add(np.array([start]), np.array([amount]))
    assert deadline >= start
    assert calendar.between(start, deadline) == amount
    if amount:  # and it is the earliest such instant
        assert calendar.between(start, deadline - 1) < amount


@SETTINGS
@given(st.data())
def test_adding_business_days_is_the_inverse_of_counting_them(data: st.DataObject) -> None:
    schedule, lo, hi = data.draw(schedules())
    calendar = BusinessCalendar(schedule)
    start = data.draw(instants(schedule, lo, hi))
    days = data.draw(st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 7.0, 10.0]))
    (deadline,) = calendar.add_business_days(np.array([start]), np.array([days]))
    counted = calendar.business_days_between(np.array([start]), np.array([deadline]))[0]
    assert abs(counted - days) < 1e-9


@SETTINGS
@given(st.data())
def test_business_time_is_additive_and_never_exceeds_wall_time(data: st.DataObject) -> None:
    schedule, lo, hi = data.draw(schedules())
    a, b, c = sorted(data.draw(st.lists(instants(schedule, lo, hi), min_size=3, max_size=3)))
    calendar = BusinessCalendar(schedule)
    ab, bc, ac = calendar.between(np.array([a, b, a]), np.array([b, c, c])).tolist()
    assert ab + bc == ac
    assert 0 <= ab <= b - a
    assert 0 <= ac <= c - a


@SETTINGS
@given(st.data())
def test_the_scalar_api_agrees_with_the_array_api(data: st.DataObject) -> None:
    schedule, lo, hi = data.draw(schedules())
    a, b = data.draw(spans(schedule, lo, hi))
    calendar = BusinessCalendar(schedule)
    array = calendar.between(np.array([a]), np.array([b]))
    assert business_micros(schedule, dt(a), dt(b)) == int(array[0])
    days = float(calendar.business_days_between(np.array([a]), np.array([b]))[0])
    assert abs(float(business_days(schedule, dt(a), dt(b))) - days) <= 1e-12 * max(1.0, days)
