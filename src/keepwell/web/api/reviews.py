"""A CSM's monthly reviews as JSON (PRODUCT.md 4, "Self-awareness"; issue 14 §1): read the
two of a month, write one's own. The rules are `services.reviews`'."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from keepwell.services import reviews
from keepwell.web.api.params import MONTH_RULE
from keepwell.web.auth import CurrentUser
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.writes import refusals, run_write, write_context

router = APIRouter(prefix="/api/reviews", tags=["scorecards"])
RATINGS_RULE = (
    "The seven rated metrics of PRODUCT.md 4 (retention, response_time, resolution_time, "
    "independence, proactivity, testimonials, crm_hygiene), each green, yellow or red; at "
    "least one. Only metrics rated in both reviews count for self-awareness."
)
MonthPath = Annotated[str, Path(description=MONTH_RULE)]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ratings: dict[str, str] = Field(description=RATINGS_RULE)
    comment: str | None = Field(None, max_length=10_000)


class ReviewOut(BaseModel):
    csm: str
    month: str
    reviewer: str
    kind: str = Field(description="self: the CSM's own; manager: their manager's")
    ratings: dict[str, str]
    comment: str | None


class MonthReviewsOut(BaseModel):
    csm: str
    month: str
    self_review: ReviewOut | None = Field(
        description="None until written (or, to the manager, until theirs is written)"
    )
    manager_review: ReviewOut | None = Field(
        description="None until written (or, to the CSM, until their self-review is written)"
    )


def _out(view: reviews.ReviewView | None) -> ReviewOut | None:
    return ReviewOut(**view.to_json()) if view else None


@router.get("/{csm}/{month}", response_model=MonthReviewsOut)
def read(csm: str, month: MonthPath, session: SessionDep, user: CurrentUser) -> MonthReviewsOut:
    """The CSM's self-review and manager review of the month: for the CSM, their manager and
    admins; each reviewer sees the other's once their own is written."""
    with refusals():
        found = reviews.read_reviews(session, user, csm, month)
    return MonthReviewsOut(
        csm=found.csm,
        month=found.month,
        self_review=_out(found.self_review),
        manager_review=_out(found.manager_review),
    )


@router.put("/{csm}/{month}", response_model=ReviewOut)
def write(
    csm: str, month: MonthPath, body: ReviewIn, request: Request, now: NowDep, user: CurrentUser
) -> ReviewOut:
    """Write the caller's review of the CSM's month: a CSM their self-review, the CSM's
    manager (or an admin) the manager review; anyone else 403. The same review again changes
    nothing; a bad rating is a 422 naming `ratings`."""
    ctx = write_context(user, now, None)
    view = run_write(
        request,
        lambda s: reviews.write_review(s, ctx, csm, month, body.ratings, body.comment),
    )
    out = _out(view)
    assert out is not None
    return out
