"""Query parameter types shared by the routes: what a 422 names instead of a 500 later on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime

from keepwell.domain.months import EARLIEST_MONTH, LATEST_MONTH, checked_month

# Offsets beyond this count no page of any book; the databases' integers end not far above.
MAX_OFFSET = 1_000_000_000

INSTANT_RULE = (
    "ISO 8601 with an offset or Z (2026-11-01T00:00:00Z). A date or a date-time without an "
    "offset is refused with 422: which zone it meant is not guessed."
)
MONTH_RULE = f"YYYY-MM, from {EARLIEST_MONTH} to {LATEST_MONTH}."


def _in_utc_range(value: datetime) -> datetime:
    """The instant in UTC; an offset that takes it past year 9999 or before year 1 is an
    error here, not an overflow in the database driver."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("outside the years 1 to 9999 once in UTC") from None


def _month(value: str) -> str:
    return checked_month(value)  # a MonthError is a ValueError: pydantic reports it as a 422


Instant = Annotated[AwareDatetime, AfterValidator(_in_utc_range)]
Month = Annotated[
    str, AfterValidator(_month), Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description=MONTH_RULE)
]
