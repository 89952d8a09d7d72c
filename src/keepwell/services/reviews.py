"""The monthly reviews of a CSM (PRODUCT.md 4, "Self-awareness"): the CSM's self-review and
their manager's review, each rating the seven metrics green, yellow or red, with a comment.

One rule for every way in: the page's forms and `PUT /api/reviews/{csm}/{month}` call
`write_review`, which writes the review as the import's own `review` line (PRODUCT.md 9), so
the ratings are parsed, and the reviewer checked (the CSM or their manager), exactly as an
imported file's are. Who may write which review is the role matrix's (`domain.access`):
- the CSM themself writes the self-review;
- the CSM's manager writes the manager review; an admin may write it too, in the manager's
  place (the review is the manager's, `reviewer` their id, and the audit log says who wrote
  it): the scorecard reads the review of the CSM's manager, and the import's rule holds.
Writing the same review twice leaves one review and one audit entry: a review is keyed by
(CSM, month, reviewer), and a write that changes nothing records nothing. Scorecards are
computed when read, so the month's self-awareness is new from the next read on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from keepwell.domain.access import Action, can
from keepwell.domain.months import MonthError, parse_month
from keepwell.services import audit
from keepwell.services.actions import NotAllowed, NotFound, WriteContext, WriteError
from keepwell.services.importing import ImportRejected, ImportSummary, import_lines
from keepwell.store.models import Review, User

SELF, MANAGER = "self", "manager"


@dataclass(frozen=True)
class ReviewView:
    """A review as read back: whose month, by whom, which kind, the ratings, the comment."""

    csm: str
    month: str
    reviewer: str
    kind: str
    ratings: dict[str, str]
    comment: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "csm": self.csm,
            "month": self.month,
            "reviewer": self.reviewer,
            "kind": self.kind,
            "ratings": self.ratings,
            "comment": self.comment,
        }


@dataclass(frozen=True)
class MonthReviews:
    """A CSM's two reviews of a month, each None until written."""

    csm: str
    manager: str | None  # who writes the manager review: the CSM's manager
    month: str
    self_review: ReviewView | None
    manager_review: ReviewView | None


def csm_of(session: Session, csm_id: str) -> User:
    """The CSM `csm_id`; NotFound unless a user with the csm role has that id."""
    user = session.get(User, csm_id)
    if user is None or user.role != "csm":
        raise NotFound(f"no CSM {csm_id!r}")
    return user


def relates(user: User, csm: User) -> bool:
    """Whether `csm` is `user`'s own for the review actions: themself, or one who reports to
    them (`domain.access`, `owns`)."""
    return user.id == csm.id or (csm.manager_id is not None and csm.manager_id == user.id)


def may_read_reviews(user: User, csm: User) -> bool:
    return can(user.role, Action.READ_REVIEWS, owns=relates(user, csm))


def writable_kinds(user: User, csm: User) -> tuple[str, ...]:
    """Which of the CSM's reviews `user` may write: the self-review (the CSM themself), the
    manager review (their manager, or an admin)."""
    kinds = []
    if can(user.role, Action.WRITE_SELF_REVIEW, owns=user.id == csm.id):
        kinds.append(SELF)
    if can(user.role, Action.WRITE_MANAGER_REVIEW, owns=csm.manager_id == user.id):
        kinds.append(MANAGER)
    return tuple(kinds)


def read_reviews(session: Session, user: User, csm_id: str, month: str) -> MonthReviews:
    """The CSM's reviews of `month` as `user` may see them (NotAllowed when they may read
    none; `as_seen_by` hides what they may not see yet)."""
    csm = csm_of(session, csm_id)
    if not may_read_reviews(user, csm):
        raise NotAllowed(f"a {user.role} may not read the reviews of {csm_id}")
    return as_seen_by(month_reviews(session, csm, _month(month)), user)


def as_seen_by(reviews: MonthReviews, user: User) -> MonthReviews:
    """The reviews as one of the two reviewers may see them: the other's ratings only once
    their own review is written. Self-awareness measures how the CSM's view of their month
    matches the manager's; a CSM who could read the manager's ratings first would copy
    them, and the metric would measure nothing. An admin, who reviews nobody's month of
    their own, sees both."""
    if user.id == reviews.csm and reviews.self_review is None:
        return replace(reviews, manager_review=None)
    if user.id == reviews.manager and reviews.manager_review is None:
        return replace(reviews, self_review=None)
    return reviews


def month_reviews(session: Session, csm: User, month: str) -> MonthReviews:
    """The two reviews, without an access check: for callers that made it."""
    rows = session.scalars(
        select(Review).where(Review.csm_id == csm.id, Review.month == month)
    ).all()
    by_reviewer = {row.reviewer_id: row for row in rows}
    own = by_reviewer.get(csm.id)
    theirs = by_reviewer.get(csm.manager_id) if csm.manager_id else None
    return MonthReviews(
        csm.id,
        csm.manager_id,
        month,
        _view(own, SELF) if own else None,
        _view(theirs, MANAGER) if theirs else None,
    )


def write_review(
    session: Session,
    ctx: WriteContext,
    csm_id: str,
    month: str,
    ratings: Mapping[str, str] | None,
    comment: str | None,
    kind: str | None = None,
) -> ReviewView:
    """Write the caller's review of the CSM's month: the self-review when the caller is the
    CSM, else the manager review (`kind` chooses when the caller may write both, which no
    role can today). NotFound: no such CSM; NotAllowed: the caller may write neither;
    WriteError naming the field: a bad month, ratings or comment, or no manager to review."""
    csm = csm_of(session, csm_id)
    month = _month(month)
    allowed = writable_kinds(ctx.user, csm)
    if not allowed or (kind is not None and kind not in allowed):
        what = f"the {kind} review" if kind else "a review"
        raise NotAllowed(f"a {ctx.user.role} may not write {what} of {csm_id}")
    kind = kind or allowed[0]
    reviewer = csm.id if kind == SELF else csm.manager_id
    if reviewer is None:
        raise WriteError("csm", f"{csm_id} reports to no manager: set one before a review")
    before = session.get(Review, (csm.id, month, reviewer))
    before_state = _view(before, kind).to_json() if before else None
    line = {"type": "review", "csm": csm.id, "month": month, "reviewer": reviewer,
            "ratings": dict(ratings) if ratings is not None else None,
            "comment": (comment or "").strip() or None}  # fmt: skip
    summary = _import(session, ctx, line)
    session.expire_all()  # the import wrote through the connection: read the row anew
    written = session.get_one(Review, (csm.id, month, reviewer))
    after = _view(written, kind)
    if summary.changed:
        audit.record(session, at=ctx.now, by=ctx.user.id, action=f"{kind}_review",
                     subject=f"review:{csm.id}:{month}", before=before_state,
                     after=after.to_json())  # fmt: skip
    return after


def _import(session: Session, ctx: WriteContext, line: dict[str, Any]) -> ImportSummary:
    clean = {k: v for k, v in line.items() if v is not None}
    try:
        return import_lines(
            session, [orjson.dumps(clean)], targets=ctx.targets,
            company_timezone=ctx.timezone, today=ctx.now.date(),
        )  # fmt: skip
    except ImportRejected as exc:
        first = exc.errors[0]
        raise WriteError(first.field or "review", first.message) from exc


def _month(month: str) -> str:
    try:
        return parse_month(month)
    except MonthError as exc:
        raise WriteError("month", str(exc)) from exc


def _view(row: Review, kind: str) -> ReviewView:
    return ReviewView(row.csm_id, row.month, row.reviewer_id, kind, dict(row.ratings), row.comment)
