"""The months a report can be asked for: "YYYY-MM" (PRODUCT.md 4 and 6).

A scorecard reads the month before the one asked for and a CSM's history the 12 before it;
revenue reads a trailing 12 months and the first instant of the month after, each in some
time zone. Every instant they touch must exist (years 1 to 9999 in UTC), so months are
bounded with a margin: from 1900-01, before which zone data is local mean time and no book of
business has records, to 9998-12.
"""

from __future__ import annotations

import re

EARLIEST_MONTH = "1900-01"
LATEST_MONTH = "9998-12"
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


class MonthError(ValueError):
    """Not a month a report can be computed for."""


def checked_month(month: str) -> str:
    """`month` itself when it is "YYYY-MM" from EARLIEST_MONTH to LATEST_MONTH (PRODUCT.md 4
    and 6 report by calendar month); MonthError saying what is wrong otherwise."""
    if not _MONTH.fullmatch(month):
        raise MonthError(f"expected YYYY-MM, got {month!r}")
    if not EARLIEST_MONTH <= month <= LATEST_MONTH:
        raise MonthError(f"{month} is outside {EARLIEST_MONTH} to {LATEST_MONTH}")
    return month
