"""The month a scorecard is looked at by default: the last closed one, in the company zone."""

from datetime import UTC, datetime

from keepwell.domain.months import last_closed_month


def test_it_is_the_month_before_the_current_one() -> None:
    assert last_closed_month(datetime(2026, 12, 5, 4, tzinfo=UTC), "UTC") == "2026-11"


def test_it_reads_the_current_month_in_the_zone_given() -> None:
    # 02:00 UTC on 1 December is still 30 November in New York: October is the last closed
    assert last_closed_month(datetime(2026, 12, 1, 2, tzinfo=UTC), "America/New_York") == "2026-10"


def test_it_crosses_the_year() -> None:
    assert last_closed_month(datetime(2027, 1, 10, tzinfo=UTC), "UTC") == "2026-12"
