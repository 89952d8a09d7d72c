"""Business-hours schedules: versions, validation, and the hours of a date (PRODUCT.md 3).

A version is the dict of PRODUCT.md 3's TOML (and of section 9's `schedule` line): a time zone,
a weekly template, holidays and date-specific hours, optionally an effective date. A schedule
is one or more versions ordered by effective date (section 4, "Schedule versions").
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from fractions import Fraction
from functools import cache, cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SECONDS = 86_400

Interval = tuple[int, int]  # seconds after local midnight, [start, end); an end may be 86 400
Hours = tuple[Interval, ...]

# `name` and `id` label a version; they do not change its hours.
_FIELDS = frozenset({"timezone", "week", "holidays", "days", "effective", "name", "id"})
_HOLIDAY_FIELDS = frozenset({"country", "subdivision", "dates"})
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ScheduleError(ValueError):
    """A schedule that breaks PRODUCT.md 3, naming the field that is wrong (`week.fri[1]`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ScheduleVersion:
    """One version of a schedule (PRODUCT.md 3), validated; build it with
    `parse_schedule_version`. Hashable, so compiled calendars can be cached per schedule."""

    timezone: str
    week: tuple[Hours, ...]  # seven entries, Monday first; () is a closed day
    country: str | None = None
    subdivision: str | None = None
    closed_dates: frozenset[date] = frozenset()
    days: tuple[tuple[date, Hours], ...] = ()  # date-specific hours, sorted by date
    effective: date | None = None

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _day_hours(self) -> dict[date, Hours]:
        return dict(self.days)

    def hours_on(self, day: date) -> Hours:
        """The open intervals of a local date (PRODUCT.md 3): its `days` entry if it has one
        (the most specific statement wins, even over a holiday), else none on a holiday or
        closed date, else the weekday's template."""
        specific = self._day_hours.get(day)
        if specific is not None:
            return specific
        if self.is_closed_date(day):
            return ()
        return self.week[day.weekday()]

    def is_closed_date(self, day: date) -> bool:
        """A public holiday of the version's country (section 4, "Holidays") or an extra
        closed date from `holidays.dates`."""
        if day in self.closed_dates:
            return True
        if self.country is None:
            return False
        return day in public_holidays(self.country, self.subdivision, day.year)


@dataclass(frozen=True)
class Schedule:
    """A schedule's versions, oldest first (PRODUCT.md 4, "Schedule versions"). The first
    version applies to all time before the second; each later one from 00:00 of its
    effective date in its own time zone."""

    versions: tuple[ScheduleVersion, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise ScheduleError("versions", "a schedule needs at least one version")
        keys = [_order_key(v) for v in self.versions]
        for (a, b), later in zip(pairwise(keys), self.versions[1:], strict=True):
            if a == b:
                raise ScheduleError("effective", f"two versions are effective {_said(later)}")
            if a > b:
                raise ScheduleError("effective", "versions must be ordered by effective date")

    @classmethod
    def from_versions(cls, versions: Iterable[ScheduleVersion | Mapping[str, Any]]) -> Schedule:
        """A schedule from versions in any order, parsed if given as mappings."""
        parsed = [_as_version(v) for v in versions]
        return cls(tuple(sorted(parsed, key=_order_key)))


def _as_version(version: ScheduleVersion | Mapping[str, Any]) -> ScheduleVersion:
    return version if isinstance(version, ScheduleVersion) else parse_schedule_version(version)


def _order_key(version: ScheduleVersion) -> date:
    return version.effective or date.min


def _said(version: ScheduleVersion) -> str:
    return version.effective.isoformat() if version.effective else "from the start"


def business_day_seconds(version: ScheduleVersion) -> Fraction:
    """A business day's length in seconds (PRODUCT.md 4, "Business day"): open seconds per
    week of the weekly template ÷ the number of weekdays with any open time. Holidays and
    date-specific hours do not change it. Mon–Fri 09–17: 28 800; Mon–Thu 8 h + Fri 4 h: 25 920.
    """
    open_seconds = sum(end - start for hours in version.week for start, end in hours)
    return Fraction(open_seconds, sum(1 for hours in version.week if hours))


@cache
def public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """The dates of `year` that the `holidays` package lists for a country (default
    categories, observed days included: PRODUCT.md 4, "Holidays"). Neighbouring years are
    asked too, since an observed day can fall in the year before its holiday."""
    listed = holidays.country_holidays(country, subdiv=subdivision, years=range(year - 1, year + 2))
    return frozenset(day for day in listed if day.year == year)


# Parsing -----------------------------------------------------------------------------------


def parse_schedule_version(spec: Mapping[str, Any]) -> ScheduleVersion:
    """Validate one version's fields (PRODUCT.md 3 and 9) and build it; raise ScheduleError
    naming the first field that is wrong. A version without open time is invalid."""
    if not isinstance(spec, Mapping):
        raise ScheduleError("", "a schedule is a table of fields (timezone, week, ...)")
    unknown = sorted(str(key) for key in spec if key not in _FIELDS)
    if unknown:
        raise ScheduleError(unknown[0], "unknown field: a schedule has " + _FIELD_LIST)
    country, subdivision, closed = _parse_holidays(spec.get("holidays"))
    effective = spec.get("effective")
    return ScheduleVersion(
        timezone=_parse_timezone(spec.get("timezone")),
        week=_parse_week(spec.get("week")),
        country=country,
        subdivision=subdivision,
        closed_dates=closed,
        days=_parse_days(spec.get("days")),
        effective=None if effective is None else _parse_date(effective, "effective"),
    )


_FIELD_LIST = "timezone, week, holidays, days and effective"


def parse_schedule_toml(text: str) -> Schedule:
    """A TOML document holding one version (PRODUCT.md 3), as a one-version schedule."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError("", f"not valid TOML: {exc}") from None
    return Schedule.from_versions([data])


def load_schedule_toml(path: str | Path) -> Schedule:
    """Read a schedule TOML file (PRODUCT.md 3). OSError if it cannot be read;
    ScheduleError if it is not a valid schedule."""
    return parse_schedule_toml(Path(path).read_text(encoding="utf-8"))


def _parse_timezone(value: Any) -> str:
    if value is None:
        raise ScheduleError("timezone", "missing: name an IANA time zone, e.g. 'Europe/Kyiv'")
    if not isinstance(value, str) or not _is_zone(value):
        raise ScheduleError("timezone", f"unknown time zone {value!r}")
    return value


@cache
def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def _parse_week(value: Any) -> tuple[Hours, ...]:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ScheduleError("week", "expected a table of weekdays (mon, tue, ... sun)")
    for key in value:
        if key not in WEEKDAYS:
            raise ScheduleError(f"week.{key}", "unknown weekday: use " + ", ".join(WEEKDAYS))
    week = tuple(_parse_hours(value.get(day, []), f"week.{day}") for day in WEEKDAYS)
    if not any(week):
        raise ScheduleError("week", "no open time in the week: a schedule must open some time")
    return week


def _parse_hours(value: Any, where: str) -> Hours:
    if not isinstance(value, list | tuple):
        raise ScheduleError(where, 'expected a list of intervals like [["09:00", "17:00"]]')
    parsed = sorted((*_parse_interval(item, f"{where}[{i}]"), i) for i, item in enumerate(value))
    for (start1, end1, i1), (start2, end2, i2) in pairwise(parsed):
        if start2 < end1:
            raise ScheduleError(
                f"{where}[{max(i1, i2)}]",
                f"intervals overlap ({_clock(start1)}-{_clock(end1)} "
                f"and {_clock(start2)}-{_clock(end2)})",
            )
    return tuple((start, end) for start, end, _ in parsed)


def _parse_interval(item: Any, where: str) -> Interval:
    if not isinstance(item, list | tuple) or len(item) != 2:
        raise ScheduleError(where, 'expected an interval ["HH:MM", "HH:MM"]')
    start = _parse_time(item[0], where, end=False)
    end = _parse_time(item[1], where, end=True)
    if start >= end:
        raise ScheduleError(where, f"start {_clock(start)} is not before end {_clock(end)}")
    return start, end


def _parse_time(value: Any, where: str, *, end: bool) -> int:
    if isinstance(value, time) and value.tzinfo is None and not value.microsecond:
        return value.hour * 3600 + value.minute * 60 + value.second  # a TOML local time
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ScheduleError(where, f"malformed time {value!r}: expected HH:MM or HH:MM:SS")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    seconds = hour * 3600 + minute * 60 + second
    limit = DAY_SECONDS if end else DAY_SECONDS - 1
    if minute > 59 or second > 59 or seconds > limit:
        allowed = "00:00 to 24:00" if end else "00:00 to 23:59:59 (24:00 only ends a day)"
        raise ScheduleError(where, f"time {value!r} out of range: {allowed}")
    return seconds


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _parse_holidays(value: Any) -> tuple[str | None, str | None, frozenset[date]]:
    if value is None:
        return None, None, frozenset()
    if not isinstance(value, Mapping):
        raise ScheduleError("holidays", "expected a table with country, subdivision and dates")
    for key in value:
        if key not in _HOLIDAY_FIELDS:
            raise ScheduleError(f"holidays.{key}", "unknown field: use country, subdivision, dates")
    country, subdivision = value.get("country"), value.get("subdivision")
    _check_country(country, subdivision)
    dates = value.get("dates", [])
    if not isinstance(dates, list | tuple):
        raise ScheduleError("holidays.dates", 'expected a list of dates ["YYYY-MM-DD", ...]')
    closed = frozenset(_parse_date(d, f"holidays.dates[{i}]") for i, d in enumerate(dates))
    return country, subdivision, closed


def _check_country(country: Any, subdivision: Any) -> None:
    if country is None:
        if subdivision is not None:
            raise ScheduleError("holidays.subdivision", "a subdivision needs a country")
        return
    if not isinstance(country, str) or not _is_country(country, None):
        raise ScheduleError("holidays.country", f"unknown country {country!r}")
    if subdivision is not None and (
        not isinstance(subdivision, str) or not _is_country(country, subdivision)
    ):
        message = f"unknown subdivision {subdivision!r} of {country}"
        raise ScheduleError("holidays.subdivision", message)


@cache
def _is_country(country: str, subdivision: str | None) -> bool:
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except (NotImplementedError, AttributeError, TypeError, ValueError):
        return False
    return True


def _parse_days(value: Any) -> tuple[tuple[date, Hours], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ScheduleError("days", 'expected a table of dates, e.g. "2026-12-24" = [...]')
    parsed = {_parse_date(k, f"days.{k}"): _parse_hours(v, f"days.{k}") for k, v in value.items()}
    return tuple(sorted(parsed.items()))


def _parse_date(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # a TOML local date
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ScheduleError(where, f"not a date YYYY-MM-DD: {value!r}")
