"""People who sign in (issue 13 §1): add, set or change a password, deactivate, sign in.

Passwords are hashed with argon2id and never logged, stored in clear or returned. Sign-in
outcomes are returned, not raised, so that the caller's transaction keeps the attempt that the
throttle counts even when the password was wrong.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from keepwell.domain.access import THROTTLE_WINDOW, Attempt, UnknownRole, role_of, throttled_until
from keepwell.services import audit
from keepwell.services.sessions import end_user_sessions, start_session
from keepwell.services.tokens import revoke_user_tokens
from keepwell.store.models import SignInAttempt, User

log = logging.getLogger("keepwell.auth")
hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
# Checked against when the email is unknown, so a wrong email costs as much time as a wrong
# password and the answer's timing does not tell which emails have accounts.
_DUMMY_HASH = hasher.hash("keepwell: no such user")


class UserError(ValueError):
    """A request about users that cannot be done; the message names the field."""


class UnknownUser(UserError, LookupError):
    pass


def normal_email(email: str) -> str:
    """The form emails are compared and counted in (cut to the column's 320 characters: a
    longer one matches no user, and must not fail the throttle's insert)."""
    return email.strip().lower()[:320]


def find_user(session: Session, email: str) -> User | None:
    """The user with this email, whatever its case."""
    query = select(User).where(func.lower(User.email) == normal_email(email))
    return session.scalars(query.limit(1)).first()


def get_user(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise UnknownUser(f"no user with email {email!r}")
    return user


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password: at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    check_password(password)
    return hasher.hash(password)


def password_matches(user: User | None, password: str) -> bool:
    """Whether `password` is the user's; as slow for no user or no password as for a wrong one."""
    stored = user.password_hash if user is not None else None
    try:
        return hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def add_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    now: datetime,
    user_id: str | None = None,
    timezone: str = "UTC",
    by: str | None = None,
) -> User:
    """A new user who can sign in; the id defaults to `u-` and the email's local part."""
    address = normal_email(email)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
        raise UserError(f"email: not an email address: {email!r}")
    if not name.strip():
        raise UserError("name: must not be empty")
    _check_role_and_zone(role, timezone)
    if find_user(session, address) is not None:
        raise UserError(f"email: a user with {address} exists already")
    new_id = user_id or _free_id(session, address)
    if session.get(User, new_id) is not None:
        raise UserError(f"id: a user with id {new_id!r} exists already")
    user = User(
        id=new_id,
        name=name.strip(),
        email=address,
        role=role,
        timezone=timezone,
        password_hash=hash_password(password),
        active=True,
    )
    session.add(user)
    session.flush()
    audit.record(
        session, at=now, by=by, action="user.add", subject=f"user:{user.id}", after=_shown(user)
    )
    return user


def _check_role_and_zone(role: str, timezone: str) -> None:
    try:
        role_of(role)
    except UnknownRole as exc:
        raise UserError(f"role: {exc}") from None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"timezone: unknown time zone {timezone!r}") from None


def _free_id(session: Session, email: str) -> str:
    base = "u-" + re.sub(r"[^a-z0-9]+", "-", email.split("@")[0]).strip("-")
    candidate, n = base, 1
    while session.get(User, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _shown(user: User) -> dict[str, object]:
    """What the audit log keeps of a user: never the password hash."""
    return {"email": user.email, "name": user.name, "role": user.role, "active": user.active}


def set_password(
    session: Session,
    user: User,
    password: str,
    now: datetime,
    *,
    by: str | None = None,
    keep_session: str | None = None,
) -> None:
    """A new password; every other session of the user ends (one may have been a thief's)."""
    user.password_hash = hash_password(password)
    end_user_sessions(session, user.id, now, keep=keep_session)
    audit.record(session, at=now, by=by, action="user.password", subject=f"user:{user.id}")


def change_password(
    session: Session, user: User, old: str, new: str, now: datetime, *, keep_session: str | None
) -> None:
    """The user's own change: the old password first (a borrowed session cannot lock them out)."""
    if not password_matches(user, old):
        raise UserError("old_password: this is not your current password")
    set_password(session, user, new, now, by=user.id, keep_session=keep_session)


def deactivate(
    session: Session, user: User, now: datetime, *, by: str | None = None
) -> tuple[int, int]:
    """The user can no longer sign in; every session and token of theirs ends now. How many
    sessions and tokens ended."""
    before = _shown(user)
    user.active = False
    sessions = end_user_sessions(session, user.id, now)
    tokens = revoke_user_tokens(session, user.id, now)
    audit.record(
        session,
        at=now,
        by=by,
        action="user.deactivate",
        subject=f"user:{user.id}",
        before=before,
        after={**_shown(user), "sessions_ended": sessions, "tokens_revoked": tokens},
    )
    return sessions, tokens


@dataclass(frozen=True)
class SignIn:
    """What a sign-in came to: a user and a new session id, or neither (and maybe a time
    before which no try is checked)."""

    user: User | None = None
    session_id: str | None = None
    retry_at: datetime | None = None


def sign_in(session: Session, email: str, password: str, now: datetime) -> SignIn:
    """Check an email and password under the throttle (issue 13 §1) and open a session."""
    address = normal_email(email)
    retry_at = throttled_until(_attempts(session, address, now), now)
    if retry_at is not None:
        log.warning(
            "sign-in refused for %s: too many failures, open again at %s", address, retry_at
        )
        return SignIn(retry_at=retry_at)
    user = find_user(session, address)
    ok = password_matches(user, password) and user is not None and user.active
    session.add(SignInAttempt(email=address, at=now, success=ok))
    session.flush()
    if not ok or user is None:
        log.warning("sign-in failed for %s", address)
        return SignIn()
    log.info("sign-in succeeded for %s (%s)", address, user.id)
    return SignIn(user=user, session_id=start_session(session, user.id, now))


def _attempts(session: Session, email: str, now: datetime) -> list[Attempt]:
    # The window is enough: older attempts can neither throttle nor clear the count.
    rows = session.execute(
        select(SignInAttempt.at, SignInAttempt.success).where(
            SignInAttempt.email == email, SignInAttempt.at > now - THROTTLE_WINDOW
        )
    )
    return [Attempt(at, success) for at, success in rows]


def prune_attempts(session: Session, now: datetime) -> int:
    """Forget the sign-in attempts too old to throttle (the log keeps every sign-in)."""
    result = session.execute(delete(SignInAttempt).where(SignInAttempt.at <= now - THROTTLE_WINDOW))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
