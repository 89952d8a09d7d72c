"""The business-hours engine on hand-worked cases (PRODUCT.md 3; section 4's "Clock start",
"Schedule versions", "Business day", "Holidays")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from book import PRODUCT_SCHEDULE_TOML
from keepwell.domain.hours import (
    WEEKDAYS,
    BusinessCalendar,
    Schedule,
    ScheduleError,
    add_business_days,
    add_business_seconds,
    business_day_seconds,
    business_days,
    business_micros,
    business_seconds,
    compile_schedule,
    load_schedule_toml,
    parse_schedule_toml,
    parse_schedule_version,
    to_micros,
    version_in_force,
)

NINE_TO_FIVE = {day: [["09:00", "17:00"]] for day in WEEKDAYS[:5]}
NINE_TO_ONE = {day: [["09:00", "13:00"]] for day in WEEKDAYS[:5]}
HOUR = 3600


def schedule(zone: str = "America/New_York", **fields: Any) -> Schedule:
    return Schedule.from_versions([{"timezone": zone, "week": NINE_TO_FIVE, **fields}])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def seconds(on: Schedule, start: str, end: str) -> Decimal:
    return business_seconds(on, at(start), at(end))


US = schedule(holidays={"country": "US"})


# Clock start and closing time -------------------------------------------------------------


def test_it_counts_weekend_arrivals_from_monday_opening() -> None:
    assert seconds(US, "2026-10-03T10:00:00-04:00", "2026-10-05T09:30:00-04:00") == 1800


def test_it_counts_nothing_before_the_next_opening() -> None:
    assert seconds(US, "2026-10-05T06:00:00-04:00", "2026-10-05T09:00:00-04:00") == 0


def test_it_counts_only_up_to_closing_time() -> None:
    assert seconds(US, "2026-10-05T16:59:30-04:00", "2026-10-06T09:00:30-04:00") == 60


def test_it_sets_a_deadline_just_before_closing_on_the_next_morning() -> None:
    deadline = add_business_seconds(US, at("2026-10-05T16:59:30-04:00"), 60)
    assert deadline.isoformat() == "2026-10-06T09:00:30-04:00"


def test_it_sets_a_deadline_that_uses_the_last_open_second_at_closing_time() -> None:
    deadline = add_business_seconds(US, at("2026-10-05T16:00:00-04:00"), HOUR)
    assert deadline.isoformat() == "2026-10-05T17:00:00-04:00"


def test_adding_nothing_returns_the_start_itself_even_when_closed() -> None:
    start = at("2026-10-03T10:00:00+00:00")
    assert add_business_seconds(US, start, 0) == start


def test_adding_to_a_closed_instant_starts_from_the_next_opening() -> None:
    deadline = add_business_seconds(US, at("2026-10-03T10:00:00Z"), HOUR)
    assert deadline.isoformat() == "2026-10-05T10:00:00-04:00"


def test_it_counts_microseconds_exactly() -> None:
    got = seconds(US, "2026-10-05T09:00:00.000001-04:00", "2026-10-05T09:00:00.5-04:00")
    assert got == Decimal("0.499999")
    assert business_micros(US, at("2026-10-05T09:00:00Z"), at("2026-10-05T13:00:00.25Z")) == (
        250_000
    )


def test_it_adds_fractions_of_a_second_exactly() -> None:
    deadline = add_business_seconds(US, at("2026-10-05T16:00:00-04:00"), Decimal("3600.5"))
    assert deadline.isoformat() == "2026-10-06T09:00:00.500000-04:00"


def test_it_refuses_an_end_before_the_start() -> None:
    with pytest.raises(ValueError, match="before start"):
        seconds(US, "2026-10-05T10:00:00Z", "2026-10-05T09:00:00Z")


def test_it_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        business_seconds(US, datetime(2026, 10, 5, 9), datetime(2026, 10, 5, 10))


def test_it_refuses_negative_or_too_fine_amounts() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_seconds(US, at("2026-10-05T10:00:00Z"), -1)
    with pytest.raises(ValueError, match="finer than a microsecond"):
        add_business_seconds(US, at("2026-10-05T10:00:00Z"), Decimal("0.0000001"))


# Holidays -------------------------------------------------------------------------------


def test_it_skips_independence_day() -> None:
    # 2025-07-04 is a Friday.
    assert seconds(US, "2025-07-03T16:00:00-04:00", "2025-07-07T10:00:00-04:00") == 2 * HOUR


def test_it_closes_the_observed_friday_when_july_4_is_a_saturday() -> None:
    assert seconds(US, "2026-07-02T16:00:00-04:00", "2026-07-06T10:00:00-04:00") == 2 * HOUR


def test_it_keeps_the_observed_friday_open_without_holidays() -> None:
    plain = schedule()
    assert seconds(plain, "2026-07-02T16:00:00-04:00", "2026-07-06T10:00:00-04:00") == 10 * HOUR


def test_it_closes_columbus_day_and_veterans_day_in_the_us() -> None:
    assert seconds(US, "2026-10-12T00:00:00-04:00", "2026-10-13T00:00:00-04:00") == 0
    assert seconds(US, "2026-11-11T00:00:00-05:00", "2026-11-12T00:00:00-05:00") == 0


def test_it_closes_extra_closed_dates() -> None:
    closed = schedule(holidays={"dates": ["2026-10-06"]})
    assert seconds(closed, "2026-10-05T16:00:00-04:00", "2026-10-07T10:00:00-04:00") == 2 * HOUR


def test_it_uses_subdivision_holidays() -> None:
    # Lincoln's Birthday (Feb 12) is a New York State holiday, not a federal one.
    new_york = schedule(holidays={"country": "US", "subdivision": "NY"})
    day = ("2026-02-12T00:00:00-05:00", "2026-02-13T00:00:00-05:00")
    assert seconds(new_york, *day) == 0
    assert seconds(US, *day) == 8 * HOUR


# Date-specific hours ----------------------------------------------------------------------


def test_it_counts_a_half_day_from_days() -> None:
    eve = schedule(holidays={"country": "US"}, days={"2026-12-24": [["09:00", "13:00"]]})
    # Thu 24th 12:00-13:00, Christmas closed, Mon 28th 09:00-10:00.
    assert seconds(eve, "2026-12-24T12:00:00-05:00", "2026-12-28T10:00:00-05:00") == 2 * HOUR


def test_a_days_entry_wins_over_a_holiday_and_a_closed_date() -> None:
    special = schedule(
        holidays={"country": "US", "dates": ["2026-12-26"]},
        days={"2026-12-25": [["10:00", "12:00"]], "2026-12-26": [["10:00", "11:00"]]},
    )
    assert seconds(special, "2026-12-25T00:00:00-05:00", "2026-12-27T00:00:00-05:00") == 3 * HOUR


def test_an_empty_days_entry_closes_the_day() -> None:
    closed = schedule(days={"2026-10-06": []})
    assert seconds(closed, "2026-10-06T00:00:00-04:00", "2026-10-07T00:00:00-04:00") == 0


# Shapes of a day --------------------------------------------------------------------------


def test_it_skips_the_lunch_break() -> None:
    lunch = schedule(
        "Europe/Kyiv", week={d: [["09:00", "13:00"], ["14:00", "18:00"]] for d in WEEKDAYS[:5]}
    )
    assert seconds(lunch, "2026-10-05T12:30:00+03:00", "2026-10-05T14:30:00+03:00") == HOUR
    deadline = add_business_seconds(lunch, at("2026-10-05T12:30:00+03:00"), HOUR)
    assert deadline.isoformat() == "2026-10-05T14:30:00+03:00"


def test_it_counts_an_overnight_shift_across_midnight() -> None:
    night = schedule(week={"mon": [["22:00", "24:00"]], "tue": [["00:00", "06:00"]]})
    assert seconds(night, "2026-10-05T23:00:00-04:00", "2026-10-06T01:00:00-04:00") == 2 * HOUR
    deadline = add_business_seconds(night, at("2026-10-05T23:00:00-04:00"), 3 * HOUR)
    assert deadline.isoformat() == "2026-10-06T02:00:00-04:00"


def test_it_accepts_seconds_in_times() -> None:
    odd = schedule(week={"mon": [["09:00:30", "09:01:15"]]})
    assert seconds(odd, "2026-10-05T00:00:00-04:00", "2026-10-06T00:00:00-04:00") == 45


# Daylight saving --------------------------------------------------------------------------


def test_an_interval_across_the_spring_forward_change_is_an_hour_shorter() -> None:
    # 2026-03-08: New York clocks go from 02:00 EST to 03:00 EDT.
    sunday = schedule(week={"sun": [["01:00", "03:00"]]})
    assert seconds(sunday, "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00") == HOUR


def test_an_interval_across_the_fall_back_change_is_an_hour_longer() -> None:
    # 2026-11-01: New York clocks go from 02:00 EDT back to 01:00 EST.
    sunday = schedule(week={"sun": [["00:00", "02:00"]]})
    assert seconds(sunday, "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00") == 3 * HOUR


def test_a_time_skipped_by_spring_forward_opens_at_the_change() -> None:
    sunday = schedule(week={"sun": [["02:30", "04:00"]]})
    assert seconds(sunday, "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00") == HOUR
    deadline = add_business_seconds(sunday, at("2026-03-08T00:00:00-05:00"), 1)
    assert deadline.isoformat() == "2026-03-08T03:00:01-04:00"


def test_an_ambiguous_end_is_its_second_occurrence_and_a_start_its_first() -> None:
    ends = schedule(week={"sun": [["00:00", "01:30"]]})
    starts = schedule(week={"sun": [["01:30", "03:00"]]})
    day = ("2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00")
    assert seconds(ends, *day) == Decimal(2.5 * HOUR)
    assert seconds(starts, *day) == Decimal(2.5 * HOUR)


def test_it_counts_a_repeated_hour_once() -> None:
    both = schedule(week={"sun": [["00:00", "01:30"], ["01:30", "03:00"]]})
    day = ("2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00")
    assert seconds(both, *day) == 4 * HOUR


def test_a_weekday_clock_across_a_change_counts_open_hours_only() -> None:
    assert seconds(US, "2026-03-06T16:00:00-05:00", "2026-03-09T10:00:00-04:00") == 2 * HOUR


def test_kyiv_days_last_23_and_25_hours_on_change_sundays() -> None:
    always = schedule("Europe/Kyiv", week={"sun": [["00:00", "24:00"]]})
    spring = ("2026-03-29T00:00:00+02:00", "2026-03-30T00:00:00+03:00")
    fall = ("2026-10-25T00:00:00+03:00", "2026-10-26T00:00:00+02:00")
    assert seconds(always, *spring) == 23 * HOUR
    assert seconds(always, *fall) == 25 * HOUR


def test_kyiv_skipped_hour_opens_at_four() -> None:
    # 2026-03-29: Kyiv clocks go from 03:00 EET to 04:00 EEST.
    sunday = schedule("Europe/Kyiv", week={"sun": [["03:30", "05:00"]]})
    assert seconds(sunday, "2026-03-29T00:00:00+02:00", "2026-03-30T00:00:00+03:00") == HOUR


# Year boundary and zones far from UTC ------------------------------------------------------


def test_it_crosses_the_year_boundary_past_new_year() -> None:
    assert seconds(US, "2026-12-31T16:00:00-05:00", "2027-01-04T10:00:00-05:00") == 2 * HOUR


def test_it_closes_new_years_eve_when_it_is_the_observed_new_year() -> None:
    # 2028-01-01 is a Saturday: the package lists Friday 2027-12-31 as observed.
    assert seconds(US, "2027-12-30T16:00:00-05:00", "2028-01-03T10:00:00-05:00") == 2 * HOUR


def test_it_reads_utc_instants_on_an_auckland_schedule() -> None:
    auckland = schedule("Pacific/Auckland", holidays={"country": "NZ"})
    # Monday 2026-10-05 10:00-12:30 NZDT (+13), given in UTC on the Sunday.
    assert seconds(auckland, "2026-10-04T21:00:00Z", "2026-10-04T23:30:00Z") == 2.5 * HOUR
    deadline = add_business_seconds(auckland, at("2026-10-09T03:00:00Z"), 2 * HOUR)
    assert deadline.isoformat() == "2026-10-12T10:00:00+13:00"


def test_it_keeps_half_hour_offsets_in_kolkata() -> None:
    kolkata = schedule("Asia/Kolkata")
    assert seconds(kolkata, "2026-10-05T03:00:00Z", "2026-10-05T04:00:00Z") == 1800
    deadline = add_business_seconds(kolkata, at("2026-10-05T11:15:00Z"), 1800)
    assert deadline.isoformat() == "2026-10-06T09:15:00+05:30"


# Versions and business days ----------------------------------------------------------------


def versioned() -> Schedule:
    return Schedule.from_versions(
        [
            {"timezone": "America/New_York", "week": NINE_TO_FIVE, "effective": "2026-11-02"},
            {"timezone": "America/New_York", "week": NINE_TO_ONE},
        ]
    )


def test_a_clock_across_a_new_version_counts_each_stretch_by_its_version() -> None:
    # Fri 12:00-13:00 on the 20-hour week, Mon 09:00-16:00 on the 40-hour week.
    assert seconds(versioned(), "2026-10-30T12:00:00-04:00", "2026-11-02T16:00:00-05:00") == (
        8 * HOUR
    )


def test_business_days_across_versions_use_each_versions_day() -> None:
    got = business_days(
        versioned(), at("2026-10-30T12:00:00-04:00"), at("2026-11-02T16:00:00-05:00")
    )
    assert got == Fraction(1, 4) + Fraction(7, 8)


def test_a_version_starts_at_midnight_in_its_own_time_zone() -> None:
    moved = Schedule.from_versions(
        [
            {"timezone": "America/New_York", "week": NINE_TO_FIVE},
            {"timezone": "Europe/Kyiv", "week": NINE_TO_FIVE, "effective": "2026-11-03"},
        ]
    )
    # New York 12:00-17:00 on Monday, then from 2026-11-03 00:00 Kyiv: Kyiv 09:00-12:00.
    assert seconds(moved, "2026-11-02T12:00:00-05:00", "2026-11-03T12:00:00+02:00") == 8 * HOUR
    assert version_in_force(moved, at("2026-11-02T21:59:59Z")).timezone == "America/New_York"
    assert version_in_force(moved, at("2026-11-02T22:00:00Z")).timezone == "Europe/Kyiv"


def test_a_deadline_is_shown_in_the_zone_of_the_version_in_force() -> None:
    moved = Schedule.from_versions(
        [
            {"timezone": "America/New_York", "week": NINE_TO_FIVE},
            {"timezone": "Europe/Kyiv", "week": NINE_TO_FIVE, "effective": "2026-11-03"},
        ]
    )
    deadline = add_business_seconds(moved, at("2026-11-02T16:00:00-05:00"), 2 * HOUR)
    assert deadline.isoformat() == "2026-11-03T10:00:00+02:00"


def test_a_business_day_is_the_mean_open_time_of_working_days() -> None:
    short_friday = parse_schedule_version(
        {"timezone": "UTC", "week": {**NINE_TO_FIVE, "fri": [["09:00", "13:00"]]}}
    )
    nine_to_five = parse_schedule_version({"timezone": "UTC", "week": NINE_TO_FIVE})
    assert business_day_seconds(nine_to_five) == 28_800  # 8 h
    assert business_day_seconds(US.versions[0]) == 28_800
    assert business_day_seconds(short_friday) == 25_920  # 7.2 h
    assert business_day_seconds(versioned().versions[0]) == 14_400


def test_business_days_with_a_short_friday_count_in_7_2_hour_days() -> None:
    short_friday = Schedule.from_versions(
        [{"timezone": "UTC", "week": {**NINE_TO_FIVE, "fri": [["09:00", "13:00"]]}}]
    )
    start, end = at("2026-10-05T09:00:00Z"), at("2026-10-06T09:00:00Z")
    assert business_days(short_friday, start, end) == Fraction(8, Fraction(36, 5))
    deadline = add_business_days(short_friday, at("2026-10-09T09:00:00Z"), 1)
    assert deadline.isoformat() == "2026-10-12T12:12:00+00:00"  # 4 h Friday + 3.2 h Monday


def test_holidays_do_not_change_the_business_day() -> None:
    assert business_day_seconds(US.versions[0]) == business_day_seconds(schedule().versions[0])


# The array API -----------------------------------------------------------------------------


def test_the_compiled_calendar_counts_and_adds_arrays() -> None:
    calendar = compile_schedule(US, date(2026, 1, 1), date(2026, 12, 31))
    starts = np.array([to_micros(at("2026-10-03T10:00:00-04:00"))] * 2)
    ends = starts + np.array([0, 2 * 86_400 * 1_000_000 + HOUR * 1_000_000])
    assert calendar.between(starts, ends).tolist() == [0, 2 * HOUR * 1_000_000]
    deadlines = calendar.add(starts, np.array([0, HOUR * 1_000_000]))
    assert deadlines.tolist() == [starts[0], to_micros(at("2026-10-05T10:00:00-04:00"))]


def test_the_compiled_calendar_refuses_instants_outside_its_range() -> None:
    calendar = compile_schedule(US, date(2026, 1, 1), date(2026, 1, 31))
    with pytest.raises(ValueError, match="outside the compiled calendar"):
        calendar.between(
            [to_micros(at("2026-03-01T00:00:00Z"))], [to_micros(at("2026-03-02T00:00:00Z"))]
        )
    with pytest.raises(ValueError, match="after the compiled calendar"):
        calendar.add([to_micros(at("2026-01-30T00:00:00Z"))], [1000 * HOUR * 1_000_000])


def test_the_business_calendar_compiles_further_as_it_is_asked() -> None:
    calendar = BusinessCalendar(US)
    start = to_micros(at("2026-10-05T09:00:00-04:00"))
    (deadline,) = calendar.add([start], [3000 * HOUR * 1_000_000])
    assert deadline > to_micros(at("2028-01-01T00:00:00Z"))
    assert calendar.between([start], [deadline]).tolist() == [3000 * HOUR * 1_000_000]


def test_the_array_api_takes_datetime64_and_refuses_floats() -> None:
    calendar = BusinessCalendar(US)
    starts = np.array(["2026-10-05T13:00:00"], dtype="datetime64[us]")  # 09:00 EDT
    ends = np.array(["2026-10-05T14:00:00"], dtype="datetime64[us]")
    assert calendar.between(starts, ends).tolist() == [HOUR * 1_000_000]
    with pytest.raises(TypeError, match="microseconds"):
        calendar.between(np.array([1.5]), np.array([2.5]))


def test_the_array_api_refuses_an_end_before_its_start() -> None:
    with pytest.raises(ValueError, match="end before start at index 1"):
        BusinessCalendar(US).between([0, 10], [5, 5])


def test_array_business_days_match_the_exact_ones() -> None:
    start, end = at("2026-10-30T12:00:00-04:00"), at("2026-11-02T16:00:00-05:00")
    got = BusinessCalendar(versioned()).business_days_between([to_micros(start)], [to_micros(end)])
    assert got.tolist() == [1.125]


# Validation --------------------------------------------------------------------------------


def error(**changes: Any) -> ScheduleError:
    spec: dict[str, Any] = {"timezone": "America/New_York", "week": NINE_TO_FIVE, **changes}
    with pytest.raises(ScheduleError) as caught:
        parse_schedule_version(spec)
    return caught.value


def test_it_rejects_overlapping_intervals() -> None:
    got = error(week={"fri": [["09:00", "13:00"], ["12:00", "14:00"]]})
    assert str(got) == "week.fri[1]: intervals overlap (09:00-13:00 and 12:00-14:00)"
    assert got.field == "week.fri[1]"


def test_it_rejects_an_unknown_time_zone() -> None:
    assert str(error(timezone="Mars/Base")) == "timezone: unknown time zone 'Mars/Base'"


def test_it_requires_a_time_zone() -> None:
    with pytest.raises(ScheduleError, match="timezone: missing"):
        parse_schedule_version({"week": NINE_TO_FIVE})


def test_it_rejects_an_unknown_country() -> None:
    assert str(error(holidays={"country": "XX"})) == "holidays.country: unknown country 'XX'"


def test_it_rejects_an_unknown_subdivision() -> None:
    got = error(holidays={"country": "US", "subdivision": "ZZ"})
    assert str(got) == "holidays.subdivision: unknown subdivision 'ZZ' of US"


def test_it_rejects_a_subdivision_without_a_country() -> None:
    assert error(holidays={"subdivision": "NY"}).field == "holidays.subdivision"


def test_it_rejects_malformed_times() -> None:
    got = error(week={"mon": [["9am", "17:00"]]})
    assert str(got) == "week.mon[0]: malformed time '9am': expected HH:MM or HH:MM:SS"
    assert error(week={"mon": [["09:00", "17:60"]]}).field == "week.mon[0]"
    assert "out of range" in str(error(week={"mon": [["09:00", "25:00"]]}))
    assert "out of range" in str(error(week={"mon": [["24:00", "24:00"]]}))


def test_it_rejects_a_start_not_before_its_end() -> None:
    got = error(week={"mon": [["17:00", "09:00"]]})
    assert str(got) == "week.mon[0]: start 17:00 is not before end 09:00"
    assert error(week={"mon": [["09:00", "09:00"]]}).field == "week.mon[0]"


def test_it_rejects_intervals_that_are_not_pairs() -> None:
    assert error(week={"mon": [["09:00"]]}).field == "week.mon[0]"
    assert error(week={"mon": "09:00-17:00"}).field == "week.mon"


def test_it_rejects_a_week_without_open_time() -> None:
    got = error(week={"mon": [], "sat": []})
    assert got.field == "week"
    assert "no open time" in got.message
    with pytest.raises(ScheduleError, match="no open time"):
        parse_schedule_version({"timezone": "UTC"})


def test_it_rejects_unknown_weekdays_and_fields() -> None:
    assert error(week={"monday": [["09:00", "17:00"]]}).field == "week.monday"
    assert error(hours={}).field == "hours"
    assert error(holidays={"country": "US", "region": "NY"}).field == "holidays.region"


def test_it_rejects_bad_dates() -> None:
    got = error(holidays={"dates": ["2026-02-30"]})
    assert str(got) == "holidays.dates[0]: not a date YYYY-MM-DD: '2026-02-30'"
    assert error(days={"tomorrow": []}).field == "days.tomorrow"
    assert error(effective="2026/01/01").field == "effective"
    assert error(days={"2026-12-24": [["13:00", "09:00"]]}).field == "days.2026-12-24[0]"


def test_it_rejects_two_versions_with_the_same_effective_date() -> None:
    spec = {"timezone": "UTC", "week": NINE_TO_FIVE, "effective": "2026-01-01"}
    with pytest.raises(ScheduleError, match="two versions are effective 2026-01-01"):
        Schedule.from_versions([spec, dict(spec)])
    with pytest.raises(ScheduleError, match="at least one version"):
        Schedule.from_versions([])


def test_it_accepts_the_import_lines_fields() -> None:
    version = parse_schedule_version(
        {
            "name": "Kyiv team",
            "timezone": "Europe/Kyiv",
            "week": {"mon": [["09:00", "17:00"]]},
            "holidays": {"country": "UA"},
            "effective": "2026-01-01",
        }
    )
    assert version.effective == date(2026, 1, 1)
    assert version.hours_on(date(2026, 10, 5)) == ((9 * HOUR, 17 * HOUR),)


# TOML --------------------------------------------------------------------------------------


def test_it_loads_the_toml_of_the_product_spec(tmp_path: Path) -> None:
    path = tmp_path / "ny.toml"
    path.write_text(PRODUCT_SCHEDULE_TOML)
    loaded = load_schedule_toml(path)
    (version,) = loaded.versions
    assert version.subdivision == "NY"
    assert version.closed_dates == frozenset({date(2026, 12, 31)})
    assert version.hours_on(date(2026, 12, 24)) == ((9 * HOUR, 13 * HOUR),)
    assert business_day_seconds(version) == 28_800  # 8 h Mon-Thu, 4 h + 4 h Friday


def test_it_reads_toml_dates_and_effective_dates() -> None:
    loaded = parse_schedule_toml(PRODUCT_SCHEDULE_TOML + "\n2026-12-26 = []\n").versions[0]
    assert loaded.hours_on(date(2026, 12, 26)) == ()
    dated = parse_schedule_toml(
        'effective = 2027-01-01\ntimezone = "UTC"\n[week]\nmon = [["09:00", "10:00"]]'
    )
    assert dated.versions[0].effective == date(2027, 1, 1)


def test_it_reports_invalid_toml() -> None:
    with pytest.raises(ScheduleError, match="not valid TOML"):
        parse_schedule_toml("timezone = ")


def test_it_leaves_unreadable_files_to_the_caller(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_schedule_toml(tmp_path / "missing.toml")


def test_all_instants_are_compared_in_utc() -> None:
    same = seconds(US, "2026-10-05T13:00:00Z", "2026-10-05T14:00:00Z")
    assert same == seconds(US, "2026-10-05T09:00:00-04:00", "2026-10-05T15:00:00+01:00")
    assert datetime(2026, 10, 5, 13, tzinfo=UTC) == at("2026-10-05T09:00:00-04:00")
