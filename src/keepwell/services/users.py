"""People who sign in (issue 13 §1, §4 of issue 14): add, change role and manager, set or
change a password, deactivate and reactivate, sign in.

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

from keepwell.domain.access import (
    THROTTLE_WINDOW,
    Attempt,
    Role,
    UnknownRole,
    role_of,
    throttled_until,
)
from keepwell.services import audit
from keepwell.services.sessions import end_user_sessions, start_session
from keepwell.services.tokens import revoke_user_tokens
from keepwell.store.models import SignInAttempt, User

log = logging.getLogger("keepwell.auth")
hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
MAX_NAME_LENGTH = 200  # the column's
MANAGING_ROLES = (Role.MANAGER.value, Role.ADMIN.value)  # who may be someone's manager
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
    manager_id: str | None = None,
    confirm_password: str | None = None,
) -> User:
    """A new user who can sign in; the id defaults to `u-` and the email's local part.
    `confirm_password`, when given (a form's second typing), must equal `password`."""
    address = normal_email(email)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
        raise UserError(f"email: not an email address: {email!r}")
    if not name.strip():
        raise UserError("name: must not be empty")
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise UserError(f"name: at most {MAX_NAME_LENGTH} characters")
    _check_role_and_zone(role, timezone)
    if find_user(session, address) is not None:
        raise UserError(f"email: a user with {address} exists already")
    new_id = user_id or _free_id(session, address)
    if session.get(User, new_id) is not None:
        raise UserError(f"id: a user with id {new_id!r} exists already")
    _check_manager(session, manager_id, new_id)
    check_password(password)
    if confirm_password is not None and confirm_password != password:
        raise UserError("confirm_password: the two passwords differ")
    user = User(
        id=new_id,
        name=name.strip(),
        email=address,
        role=role,
        timezone=timezone,
        manager_id=manager_id or None,
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


def _check_manager(session: Session, manager_id: str | None, user_id: str) -> None:
    """A manager must be an active manager or admin, and not the user themself."""
    if not manager_id:
        return
    manager = session.get(User, manager_id)
    if manager is None:
        raise UserError(f"manager_id: no user with id {manager_id!r}")
    if manager.id == user_id:
        raise UserError("manager_id: nobody manages themself")
    if manager.role not in MANAGING_ROLES:
        raise UserError(f"manager_id: {manager.name} is a {manager.role}, not a manager or admin")
    if not manager.active:
        raise UserError(f"manager_id: {manager.name} is deactivated")


def _shown(user: User) -> dict[str, object]:
    """What the audit log keeps of a user: never the password hash."""
    return {"email": user.email, "name": user.name, "role": user.role,
            "manager_id": user.manager_id, "timezone": user.timezone,
            "active": user.active}  # fmt: skip


def _other_active_admins(session: Session, user: User) -> int:
    query = select(func.count()).where(
        User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id
    )
    return int(session.scalar(query.select_from(User)) or 0)


def _reports(session: Session, user: User) -> int:
    """How many active users name `user` as their manager."""
    query = select(func.count()).where(User.manager_id == user.id, User.active.is_(True))
    return int(session.scalar(query.select_from(User)) or 0)


def change_user(
    session: Session,
    user: User,
    *,
    role: str,
    manager_id: str | None,
    now: datetime,
    by: str | None = None,
) -> bool:
    """Change a user's role and manager (issue 14 §4); whether anything changed. The last
    active admin stays an admin, nobody changes their own role (another admin does), and
    a manager who still manages people stays a manager or admin until they have another."""
    try:
        role_of(role)
    except UnknownRole as exc:
        raise UserError(f"role: {exc}") from None
    manager_id = manager_id or None
    if role != user.role:
        if by is not None and by == user.id:
            raise UserError("role: you cannot change your own role; another admin can")
        if user.role == Role.ADMIN and user.active and not _other_active_admins(session, user):
            raise UserError(f"role: {user.name} is the last admin; make another admin first")
        if role not in MANAGING_ROLES and (reports := _reports(session, user)):
            raise UserError(
                f"role: {user.name} manages {reports} people; give them another manager first"
            )
    if manager_id != user.manager_id:
        _check_manager(session, manager_id, user.id)
    if role == user.role and manager_id == user.manager_id:
        return False
    before = _shown(user)
    user.role, user.manager_id = role, manager_id
    session.flush()
    audit.record(session, at=now, by=by, action="user.change", subject=f"user:{user.id}",
                 before=before, after=_shown(user))  # fmt: skip
    return True


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
    """The user can no longer sign in; every session and token of theirs ends now; their
    history (accounts owned, reviews, audit) stays. How many sessions and tokens ended.
    Nobody deactivates themself (`by`), nor the last active admin."""
    if not user.active:
        raise UserError(f"active: {user.email or user.id} is deactivated already")
    if by is not None and by == user.id:
        raise UserError("active: you cannot deactivate yourself; another admin can")
    if user.role == Role.ADMIN and not _other_active_admins(session, user):
        raise UserError(f"active: {user.email or user.id} is the last admin; make another first")
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


def reactivate(session: Session, user: User, now: datetime, *, by: str | None = None) -> None:
    """The user can sign in again with their password (sessions and tokens ended by the
    deactivation stay ended: they sign in afresh and get new tokens)."""
    if user.active:
        raise UserError(f"active: {user.email or user.id} is active already")
    before = _shown(user)
    user.active = True
    session.flush()
    audit.record(session, at=now, by=by, action="user.reactivate", subject=f"user:{user.id}",
                 before=before, after=_shown(user))  # fmt: skip


@dataclass(frozen=True)
class UserRow:
    """A user as the settings page lists them (never the password hash)."""

    id: str
    name: str
    email: str | None
    role: str
    timezone: str
    manager_id: str | None
    manager_name: str | None
    active: bool
    may_sign_in: bool  # has a password


def list_users(session: Session) -> list[UserRow]:
    """Every user, active first, by name."""
    users = list(session.scalars(select(User).order_by(User.active.desc(), User.name, User.id)))
    names = {u.id: u.name for u in users}
    return [
        UserRow(u.id, u.name, u.email, u.role, u.timezone, u.manager_id,
                names.get(u.manager_id) if u.manager_id else None, u.active,
                u.password_hash is not None)
        for u in users
    ]  # fmt: skip


def get_user_by_id(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UnknownUser(f"no user with id {user_id!r}")
    return user


def manager_choices(session: Session) -> list[tuple[str, str]]:
    """The users who may manage others: active managers and admins, (id, name) by name."""
    query = select(User.id, User.name).where(User.role.in_(MANAGING_ROLES), User.active.is_(True))
    return [(id_, name) for id_, name in session.execute(query.order_by(User.name, User.id))]


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
