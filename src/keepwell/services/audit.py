"""The audit log: every write records who made it, when, and the record before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from keepwell.store.models import AuditEntry


def record(
    session: Session,
    *,
    at: datetime,
    by: str | None,
    action: str,
    subject: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry (never a secret: callers pass what a reader of the history may see)."""
    entry = AuditEntry(at=at, by_id=by, action=action, subject=subject, before=before, after=after)
    session.add(entry)
    session.flush()
    return entry


def recent(session: Session, *prefixes: str, limit: int = 20) -> list[AuditEntry]:
    """The latest entries whose action starts with one of `prefixes` (`user.`, say), newest
    first: the short history a settings page shows."""
    query = select(AuditEntry).where(or_(*(AuditEntry.action.startswith(p) for p in prefixes)))
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return list(session.scalars(query))


def history(session: Session, subject: str) -> list[AuditEntry]:
    """A subject's entries, oldest first."""
    query = select(AuditEntry).where(AuditEntry.subject == subject)
    return list(session.scalars(query.order_by(AuditEntry.at, AuditEntry.id)))
