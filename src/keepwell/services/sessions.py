"""Server-side web sessions (issue 13 §1): the browser's cookie carries only a random id, so
ending the row here (sign-out, deactivation, a new password) ends the session at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from keepwell.store.models import User, WebSession

SESSION_LIFETIME = timedelta(days=14)
# `last_seen_at` is written at most this often: not one UPDATE per page view.
TOUCH_EVERY = timedelta(minutes=5)


def start_session(session: Session, user_id: str, now: datetime) -> str:
    """A new session for the user; its id (256 random bits) goes in the cookie."""
    session_id = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=session_id,
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.flush()
    return session_id


@dataclass(frozen=True)
class Live:
    """A live session's or token's user; `touch_due`: it was last seen long enough ago to be
    written again (with `touch_session`/`touch_token`, in a transaction of its own)."""

    user: User
    touch_due: bool


def resolve_session(session: Session, session_id: str, now: datetime) -> Live | None:
    """The active user of a live session, or None (unknown, ended, expired, deactivated).
    Only reads: a page view never writes in the request's own transaction."""
    return live_session(find_session(session, session_id), now)


Found = tuple[WebSession, User] | None


def find_session(session: Session, session_id: str) -> Found:
    """A session's row and its user, live or not (`live_session` says which at a moment)."""
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.id == session_id)
    ).first()
    return None if row is None else (row[0], row[1])


def live_session(found: Found, now: datetime) -> Live | None:
    if found is None:
        return None
    web_session, user = found
    if web_session.revoked_at is not None or web_session.expires_at <= now or not user.active:
        return None
    return Live(user, now - web_session.last_seen_at >= TOUCH_EVERY)


def touch_session(session: Session, session_id: str, now: datetime) -> None:
    """Record that the session was used now (a no-op when someone just did)."""
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.last_seen_at <= now - TOUCH_EVERY)
        .values(last_seen_at=now)
    )


def end_session(session: Session, session_id: str, now: datetime) -> None:
    """Sign out: the session stops working now."""
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def end_user_sessions(
    session: Session, user_id: str, now: datetime, *, keep: str | None = None
) -> int:
    """End every live session of a user (but `keep`, the one asking); how many ended."""
    query = update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(WebSession.id != keep)
    result = session.execute(query.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


ENDED_KEPT_FOR = timedelta(days=30)


def prune_sessions(session: Session, now: datetime) -> int:
    """Forget the sessions that ended (signed out or expired) more than ENDED_KEPT_FOR ago."""
    ended_before = now - ENDED_KEPT_FOR
    result = session.execute(
        delete(WebSession).where(
            (WebSession.expires_at < ended_before) | (WebSession.revoked_at < ended_before)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
