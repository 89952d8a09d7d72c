"""Calendar months as people type them, "YYYY-MM", checked once for every report.

Revenue and NPS months are calendar months in the company zone (PRODUCT.md 6), scorecards
are monthly too (PRODUCT.md 4). A report of month M reads from the start of M−11 (the
trailing twelve months) to the start of M+1, each shifted by up to a day into the company
zone, so a month is accepted only when all of that stays inside the calendar Python can
count: from FIRST_MONTH to LAST_MONTH. Without the bound, 9999-12 or 0001-01 fail deep
inside a report instead of naming the input.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

FIRST_MONTH = "1900-01"
LAST_MONTH = "9998-12"
_SHAPE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


class MonthError(ValueError):
    """A month that is not "YYYY-MM", or outside FIRST_MONTH..LAST_MONTH."""


def parse_month(value: str) -> str:
    """`value` when it is a month "YYYY-MM" from FIRST_MONTH to LAST_MONTH; MonthError
    saying what is wrong otherwise (PRODUCT.md 4 and 6: reports are by calendar month)."""
    if not _SHAPE.fullmatch(value):
        raise MonthError(f"expected YYYY-MM, got {value!r}")
    if not FIRST_MONTH <= value <= LAST_MONTH:  # same shape: text order is time order
        raise MonthError(f"{value} is out of range: from {FIRST_MONTH} to {LAST_MONTH}")
    return value


def last_closed_month(now: datetime, timezone: str) -> str:
    """The month before the one `now` falls in, in `timezone`: the month a scorecard is looked
    at by default (the month in progress is still moving; PRODUCT.md 4)."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"
