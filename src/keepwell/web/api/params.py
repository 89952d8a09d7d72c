"""Query parameter types shared by the routes: what a 422 names instead of a 500 later on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime

from keepwell.domain.hours.calendar import MAX_YEAR
from keepwell.domain.months import FIRST_MONTH, LAST_MONTH, parse_month

# Offsets beyond this count no page of any book; the databases' integers end not far above.
MAX_OFFSET = 1_000_000_000

INSTANT_RULE = (
    "ISO 8601 with an offset or Z (2026-11-01T00:00:00Z). A date or a date-time without an "
    "offset is refused with 422: which zone it meant is not guessed."
)
MONTH_RULE = f"YYYY-MM, from {FIRST_MONTH} to {LAST_MONTH}."
# Evaluation moments (as_of) and days: the clocks and scores computed at them run on the
# business-hours engine, which counts the years MIN_YEAR to MAX_YEAR; a year short of its
# end leaves room for the deadlines that run past the moment.
FIRST_DAY = date.fromisoformat(f"{FIRST_MONTH}-01")
LAST_DAY = date(MAX_YEAR - 1, 12, 31)
FIRST_MOMENT = datetime.combine(FIRST_DAY, time(), UTC)
END_OF_MOMENTS = datetime.combine(LAST_DAY + timedelta(days=1), time(), UTC)
DAY_RULE = f"YYYY-MM-DD, from {FIRST_DAY} to {LAST_DAY}."
MOMENT_RULE = f"From {FIRST_DAY} to {LAST_DAY}, in UTC."


def _in_utc_range(value: datetime) -> datetime:
    """The instant in UTC; an offset that takes it past year 9999 or before year 1 is an
    error here, not an overflow in the database driver."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("outside the years 1 to 9999 once in UTC") from None


def _day_in_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"{value} is outside {FIRST_DAY} to {LAST_DAY}")
    return value


def _moment_in_range(value: datetime) -> datetime:
    if not FIRST_MOMENT <= value < END_OF_MOMENTS:
        raise ValueError(f"{value.isoformat()} is outside {FIRST_DAY} to {LAST_DAY} in UTC")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_in_utc_range)]
Moment = Annotated[Instant, AfterValidator(_moment_in_range)]
Day = Annotated[date, AfterValidator(_day_in_range)]
# parse_month's MonthError is a ValueError: FastAPI answers 422 naming the parameter.
_MonthText = Annotated[str, AfterValidator(parse_month)]
_MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
Month = Annotated[_MonthText, Query(pattern=_MONTH_PATTERN, description=MONTH_RULE)]
# Optional: the Query outside the union, or FastAPI leaves it out of the document.
OptionalMonth = Annotated[_MonthText | None, Query(pattern=_MONTH_PATTERN, description=MONTH_RULE)]
