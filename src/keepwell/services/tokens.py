"""API tokens (issue 13 §1): a random secret shown once, kept only as its SHA-256.

The secrets carry 256 random bits, so a fast hash is enough: no one can guess one from its
digest, and looking a token up by its digest costs one indexed read per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from keepwell.services import audit
from keepwell.services.sessions import TOUCH_EVERY, Live
from keepwell.store.models import ApiToken, User

PREFIX = "kw_"  # makes a leaked token recognisable to secret scanners and to people


class TokenError(ValueError):
    pass


class UnknownToken(TokenError, LookupError):
    pass


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never its secret nor its digest."""

    id: int
    user_id: str
    email: str | None
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, user: User, label: str | None, now: datetime, *, by: str | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user` and its secret, which is not stored and cannot be shown again."""
    if not user.active:
        raise TokenError(f"{user.email or user.id} is deactivated: no new tokens")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, label=label, token_hash=digest(secret), created_at=now)
    session.add(token)
    session.flush()
    audit.record(
        session,
        at=now,
        by=by,
        action="token.create",
        subject=f"user:{user.id}",
        after={"token_id": token.id, "label": label},
    )
    return token, secret


MAX_LABEL_LENGTH = 200  # the column's


def create_token_for(
    session: Session, user_id: str, label: str | None, now: datetime, *, by: str | None = None
) -> tuple[ApiToken, str]:
    """`create_token` for the user with this id, the errors naming the form's fields."""
    label = (label or "").strip() or None
    if label is not None and len(label) > MAX_LABEL_LENGTH:
        raise TokenError(f"label: at most {MAX_LABEL_LENGTH} characters")
    user = session.get(User, user_id) if user_id else None
    if user is None:
        raise TokenError("user_id: choose the user the token acts as")
    if not user.active:
        raise TokenError(f"user_id: {user.email or user.id} is deactivated: no new tokens")
    return create_token(session, user, label, now, by=by)


def revoke_token(session: Session, token_id: int, now: datetime, *, by: str | None = None) -> None:
    """The token stops working now (revoking it twice is no error)."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise UnknownToken(f"no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record(
            session,
            at=now,
            by=by,
            action="token.revoke",
            subject=f"user:{token.user_id}",
            before={"token_id": token.id, "label": token.label},
        )


def revoke_user_tokens(session: Session, user_id: str, now: datetime) -> int:
    """Revoke every live token of a user; how many."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.execute(
        select(ApiToken, User.email).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    )
    return [
        TokenInfo(
            id=token.id,
            user_id=token.user_id,
            email=email,
            label=token.label,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )
        for token, email in rows
    ]


def resolve_token(session: Session, secret: str, now: datetime) -> Live | None:
    """The active user a live token belongs to, or None. Only reads (see `touch_token`)."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest(secret))
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or not user.active:
        return None
    due = token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY
    return Live(user, due)


def touch_token(session: Session, secret: str, now: datetime) -> None:
    """Record that the token was used now (a no-op when it just was)."""
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.token_hash == digest(secret),
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_EVERY),
        )
        .values(last_used_at=now)
    )
