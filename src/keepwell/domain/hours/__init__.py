"""The business-hours engine (PRODUCT.md 3; section 4's "Clock start", "Schedule versions",
"Business day" and "Holidays").

- `schedule`: versions and their validation, the hours of a local date, business-day length;
- `wallclock`: local wall-clock times to instants across daylight-saving changes;
- `calendar`: the array engine (int64 microseconds, prefix sums) and its scalar wrappers;
- `reference`: the same rules the slow, obvious way, for tests and the benchmark.
"""

from keepwell.domain.hours.calendar import (
    BusinessCalendar,
    CompiledCalendar,
    add_business_days,
    add_business_micros,
    add_business_seconds,
    as_micros,
    business_days,
    business_micros,
    business_seconds,
    calendar_for,
    compile_schedule,
    from_micros,
    micros_to_seconds,
    seconds_to_micros,
    spliced,
    to_micros,
    version_at,
    version_in_force,
    version_on,
    version_spans,
    versions_on,
)
from keepwell.domain.hours.schedule import (
    WEEKDAYS,
    Schedule,
    ScheduleError,
    ScheduleVersion,
    business_day_seconds,
    load_schedule_toml,
    parse_schedule_toml,
    parse_schedule_version,
    public_holidays,
)

__all__ = [
    "WEEKDAYS",
    "BusinessCalendar",
    "CompiledCalendar",
    "Schedule",
    "ScheduleError",
    "ScheduleVersion",
    "add_business_days",
    "add_business_micros",
    "add_business_seconds",
    "as_micros",
    "business_day_seconds",
    "business_days",
    "business_micros",
    "business_seconds",
    "calendar_for",
    "compile_schedule",
    "from_micros",
    "load_schedule_toml",
    "micros_to_seconds",
    "parse_schedule_toml",
    "parse_schedule_version",
    "public_holidays",
    "seconds_to_micros",
    "spliced",
    "to_micros",
    "version_at",
    "version_in_force",
    "version_on",
    "version_spans",
    "versions_on",
]
