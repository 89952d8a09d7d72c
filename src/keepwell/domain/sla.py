"""SLA targets and how time left is said (PRODUCT.md 3; the priority inbox of section 1).

Targets are business time: the first response within `first_response_seconds` business
seconds of the clock start, the resolution within `resolution_business_days` business days.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SlaTargets:
    """Defaults: first response within 1 business hour, resolution within 1 business day."""

    first_response_seconds: float = 3600.0
    resolution_business_days: float = 1.0

    def __post_init__(self) -> None:
        if self.first_response_seconds <= 0:
            raise ValueError("first_response_seconds: a target must be more than zero")
        if self.resolution_business_days <= 0:
            raise ValueError("resolution_business_days: a target must be more than zero")


def time_left_words(seconds: float, business_day: float | None = None) -> str:
    """Business time left before a deadline as people say it: "38 min left", "2 h 10 min
    overdue"; past a business day of `business_day` seconds (the schedule's, PRODUCT.md 3),
    in business days: "3 bd 2 h overdue". Without `business_day`, hours only.

    Whole minutes are shown, rounded toward the deadline's side: 59.5 s left is "0 min left",
    not "1 min left", so that nobody is told they have more time than they have.
    """
    overdue = seconds < 0
    minutes = int(-(-abs(seconds) // 60)) if overdue else int(abs(seconds) // 60)
    day_minutes = int(business_day // 60) if business_day else 0
    days, rest = divmod(minutes, day_minutes) if day_minutes else (0, minutes)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} bd"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts) + (" overdue" if overdue else " left")
