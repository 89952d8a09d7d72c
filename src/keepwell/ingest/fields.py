"""Field parsers for import lines: each turns a JSON value into a column value or raises.

A parser raises `FieldError` with a message a person can act on; the importer adds the line
number and the field name (PRODUCT.md 9: "an error naming the line number and the field").

Most parsers also declare the same rule as a msgspec type (`fast_type`). The importer decodes
lines with those types first, in C; a line they reject is parsed again with the parsers here,
which are the authority and name what is wrong. So a fast type may be stricter than its
parser (it only sends more lines down the careful path) but never looser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msgspec import Meta

from keepwell.store.types import to_micros

Parser = Callable[[Any], Any]
MAX_ID = 200


class FieldError(ValueError):
    """A value that cannot be imported; the message says why."""


def fast(msgspec_type: Any) -> Callable[[Parser], Parser]:
    """Declare the msgspec type that checks what `parse` checks (or less)."""

    def attach(parse: Parser) -> Parser:
        setattr(parse, "fast_type", msgspec_type)  # noqa: B010 - read back with getattr
        return parse

    return attach


def fast_type(parse: Parser) -> Any | None:
    return getattr(parse, "fast_type", None)


def text(max_length: int = 10_000) -> Parser:
    @fast(Annotated[str, Meta(max_length=max_length)])
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise FieldError(f"expected a string, got {_kind(value)}")
        if len(value) > max_length:
            raise FieldError(f"longer than {max_length} characters")
        return value

    return parse


@fast(Annotated[str, Meta(min_length=1, max_length=MAX_ID)])
def identifier(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise FieldError(f"expected a non-empty id, got {_kind(value)}")
    if len(value) > MAX_ID:
        raise FieldError(f"ids are at most {MAX_ID} characters")
    return value


@fast(Annotated[datetime, Meta(tz=True)])
def instant(value: Any) -> int:
    """ISO 8601 with an offset or `Z` (PRODUCT.md 9), as microseconds since the epoch.

    Imports carry instants as exact integers: the storage form on SQLite, and what the
    business-hours engine computes with.
    """
    if not isinstance(value, str):
        raise FieldError(f"expected an ISO 8601 time, got {_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError(f"not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise FieldError(f"time {value!r} has no offset: add 'Z' or '+HH:MM'")
    return to_micros(parsed)


@fast(date)
def day(value: Any) -> date:
    if not isinstance(value, str):
        raise FieldError(f"expected a date YYYY-MM-DD, got {_kind(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(f"not a date YYYY-MM-DD: {value!r}") from None


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@fast(Annotated[str, Meta(pattern=_MONTH.pattern)])
def month(value: Any) -> str:
    if not isinstance(value, str) or not _MONTH.match(value):
        raise FieldError(f"expected a month YYYY-MM, got {value!r}")
    return value


def one_of(*choices: str) -> Parser:
    allowed = frozenset(choices)

    @fast(Literal[choices])
    def parse(value: Any) -> str:
        if value not in allowed:
            raise FieldError(f"{value!r} is not one of {', '.join(choices)}")
        return str(value)

    return parse


def money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FieldError(f"expected an amount, got {_kind(value)}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise FieldError(f"not an amount: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise FieldError(f"amounts are finite and not negative, got {value!r}")
    if amount.as_tuple().exponent < -4:  # type: ignore[operator]
        raise FieldError(f"at most 4 decimal places, got {value!r}")
    return amount


def integer(low: int, high: int) -> Parser:
    @fast(Annotated[int, Meta(ge=low, le=high)])
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError(f"expected a whole number, got {_kind(value)}")
        if not low <= value <= high:
            raise FieldError(f"{value} is outside {low}..{high}")
        return value

    return parse


@fast(bool)
def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldError(f"expected true or false, got {_kind(value)}")
    return value


def timezone(value: Any) -> str:
    if not isinstance(value, str) or not _known_zone(value):
        raise FieldError(f"unknown time zone {value!r} (use an IANA name like 'Europe/Kyiv')")
    return value


@cache
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def country(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2}", value):
        raise FieldError(f"expected a two-letter country code, got {value!r}")
    return value.upper()


def currency(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise FieldError(f"expected a three-letter currency code, got {value!r}")
    return value.upper()


def list_of_text(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FieldError("expected a list of strings")
    return value


def ratings(metrics: Iterable[str]) -> Parser:
    keys = tuple(metrics)

    def parse(value: Any) -> dict[str, str]:
        if not isinstance(value, dict) or not value:
            raise FieldError("expected an object of metric: green|yellow|red")
        for metric, rating in value.items():
            if metric not in keys:
                raise FieldError(f"unknown metric {metric!r} (one of {', '.join(keys)})")
            if rating not in ("green", "yellow", "red"):
                raise FieldError(f"{metric}: {rating!r} is not green, yellow or red")
        return dict(sorted(value.items()))

    return parse


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "an object" if isinstance(value, dict) else "a list"
    )
