"""Alerts to CSMs (PRODUCT.md 8, issue 15 section 4): when they are due, how a failed send
is retried, and what a digest says. Plain data in, results out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WARNING, BREACH, DIGEST = "sla_warning", "sla_breach", "digest"
PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"
# Sends tried before an alert is given up as failed (listed for the admin).
MAX_ATTEMPTS = 6
# Alerts are planned only for deadlines less than this far behind: an import of last
# quarter's unanswered mail must not page anyone about it.
MAX_LATE = timedelta(hours=1)
DIGEST_HOUR = time(8, 0)


def request_alerts(
    first_response_due: datetime, warn_at: datetime, now: datetime
) -> list[tuple[str, datetime]]:
    """The alerts a request waiting for its first response gets (PRODUCT.md 8): a warning
    a lead time before the deadline (`warn_at`, computed in business time) and one at the
    breach, each (kind, due at); none for a moment more than MAX_LATE ago."""
    wanted = [(WARNING, warn_at), (BREACH, first_response_due)]
    return [(kind, at) for kind, at in wanted if at >= now - MAX_LATE]


def retry_delay(attempts: int) -> timedelta:
    """How long after a temporary failure the next attempt waits: 30 s, doubling with each
    attempt, at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def digest_moment(now: datetime, zone: str) -> tuple[date, datetime] | None:
    """Today's digest for a CSM in `zone` (PRODUCT.md 8: daily at 08:00 in their zone): its
    local date and its moment, once that moment has come; None before 08:00."""
    local = now.astimezone(ZoneInfo(zone))
    moment = datetime.combine(local.date(), DIGEST_HOUR, tzinfo=ZoneInfo(zone))
    if local < moment:
        return None
    return local.date(), moment


@dataclass(frozen=True)
class WaitingRequest:
    account: str
    time_left: str  # "10 min left", "1 h overdue"
    last_client_message: str | None


@dataclass(frozen=True)
class OverdueStep:
    account: str
    text: str
    due: date


def request_alert_text(kind: str, account: str, time_left: str, message: str | None) -> str:
    """The words of a warning or a breach alert."""
    head = "SLA breached" if kind == BREACH else "First response due soon"
    quoted = f'\n"{_short(message)}"' if message else ""
    return f"{head}: {account}, {time_left}.{quoted}"


def digest_text(
    day: date,
    waiting: Sequence[WaitingRequest],
    overdue_steps: Sequence[OverdueStep],
    at_risk: Sequence[str],
) -> str:
    """A CSM's morning digest: their inbox, overdue next steps, accounts at risk."""
    lines = [f"Keepwell digest for {day.isoformat()}"]
    lines.append(f"\nWaiting for you ({len(waiting)}):")
    lines += [f"- {w.account}: {w.time_left}" for w in waiting] or ["- nothing"]
    lines.append(f"\nOverdue next steps ({len(overdue_steps)}):")
    lines += [f"- {s.account}: {s.text} (due {s.due.isoformat()})" for s in overdue_steps] or [
        "- none"
    ]
    lines.append(f"\nAccounts at risk ({len(at_risk)}):")
    lines += [f"- {name}" for name in at_risk] or ["- none"]
    return "\n".join(lines)


def _short(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
