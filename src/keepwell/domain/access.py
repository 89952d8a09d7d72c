"""Who may do what (issue 13 §1, PRODUCT.md 1) and the sign-in throttle: pure rules.

The role matrix is data: for each action, the roles that may take it on anything (`ALL`) and
the roles that may take it only on what is theirs (`OWN`: the account a CSM owns now, their own
scorecard, the review of a CSM who reports to the manager). The web layer asks `can` in one
dependency; nothing else decides access.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    CSM = "csm"
    VIEWER = "viewer"


ROLES = tuple(role.value for role in Role)


class Action(StrEnum):
    READ_BOOK = "read_book"  # accounts, requests, messages, users, inbox, health, revenue
    READ_SCORECARD = "read_scorecard"  # everywhere: every CSM's card (/team); own: one's own
    READ_REVIEWS = "read_reviews"  # a CSM's reviews and page (/team/{csm}): own = self, manager
    OVERRIDE_HEALTH = "override_health"
    WRITE_SELF_REVIEW = "write_self_review"
    WRITE_MANAGER_REVIEW = "write_manager_review"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    SET_NEXT_STEP = "set_next_step"
    LOG_ACTIVITY = "log_activity"
    WRITE_NOTE = "write_note"
    ADMINISTER = "administer"  # users, tokens, schedules, targets, weights, rates, imports


@dataclass(frozen=True)
class Grant:
    """Who may take an action: `everywhere` on anything, `own` only on what is theirs."""

    everywhere: frozenset[Role]
    own: frozenset[Role] = frozenset()


def _grant(everywhere: Iterable[Role], own: Iterable[Role] = ()) -> Grant:
    return Grant(frozenset(everywhere), frozenset(own))


A, M, C, V = Role.ADMIN, Role.MANAGER, Role.CSM, Role.VIEWER
# A CSM writes only on the accounts they own now, an admin on any; a manager reads the whole
# book but writes on accounts only through their own powers (overrides, reviews), as issue
# 13's matrix has it; a viewer writes nothing.
ACCOUNT_WRITE = _grant([A], own=[C])
MATRIX: dict[Action, Grant] = {
    Action.READ_BOOK: _grant([A, M, C, V]),
    Action.READ_SCORECARD: _grant([A, M], own=[C]),
    # A CSM's ratings are theirs, their manager's and an admin's to read (issue 14 §1: "a CSM
    # sees no other CSM's ratings"); `owns` is "the CSM themself or the one they report to".
    Action.READ_REVIEWS: _grant([A], own=[C, M]),
    Action.WRITE_SELF_REVIEW: _grant([], own=[C]),
    Action.OVERRIDE_HEALTH: _grant([A, M]),
    Action.WRITE_MANAGER_REVIEW: _grant([A], own=[M]),
    Action.RESOLVE: ACCOUNT_WRITE,
    Action.ESCALATE: ACCOUNT_WRITE,
    Action.SET_NEXT_STEP: ACCOUNT_WRITE,
    Action.LOG_ACTIVITY: ACCOUNT_WRITE,
    Action.WRITE_NOTE: ACCOUNT_WRITE,
    Action.ADMINISTER: _grant([A]),
}


class UnknownRole(ValueError):
    pass


def role_of(value: str) -> Role:
    """The role named `value`, or UnknownRole naming the four that exist."""
    try:
        return Role(value)
    except ValueError:
        raise UnknownRole(f"unknown role {value!r}: one of {', '.join(ROLES)}") from None


def can(role: str, action: Action | str, *, owns: bool = False) -> bool:
    """Whether `role` may take `action` (issue 13 §1); `owns` says the subject is the user's
    own (the account they own now, their own scorecard, a CSM who reports to them)."""
    grant = MATRIX[Action(action)]
    try:
        who = Role(role)
    except ValueError:
        return False  # an unknown role may do nothing
    return who in grant.everywhere or (owns and who in grant.own)


def may_ever(role: str, action: Action | str) -> bool:
    """Whether `role` may take `action` on anything at all (everywhere, or on its own)."""
    return can(role, action, owns=True)


# -- the sign-in throttle (issue 13 §1)

MAX_FAILURES = 5
THROTTLE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Attempt:
    at: datetime
    success: bool


def throttled_until(attempts: Iterable[Attempt], now: datetime) -> datetime | None:
    """When sign-in for one email opens again, or None when it is open now (issue 13 §1).

    After MAX_FAILURES failed sign-ins within THROTTLE_WINDOW, further tries are refused until
    the oldest of those failures is THROTTLE_WINDOW old; a correct password does not bypass
    it. A successful sign-in before them clears the count (failures before it do not add up).
    """
    ordered = sorted((a for a in attempts if a.at <= now), key=lambda a: a.at)
    failures: list[datetime] = []
    for attempt in ordered:
        failures = [] if attempt.success else [*failures, attempt.at]
    recent = [at for at in failures if now - at < THROTTLE_WINDOW]
    if len(recent) < MAX_FAILURES:
        return None
    return recent[-MAX_FAILURES] + THROTTLE_WINDOW
