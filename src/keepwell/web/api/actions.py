"""The writes of issue 13 §2 as JSON: each answers with the updated record."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from keepwell.domain.access import Action
from keepwell.services import actions
from keepwell.store.models import User
from keepwell.web.api.schemas import RequestOut
from keepwell.web.auth import require
from keepwell.web.deps import NowDep
from keepwell.web.writes import run_write, write_context

router = APIRouter(prefix="/api", tags=["writes"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique text: the same key from the same person again writes nothing "
        "new and answers with the record as it is.",
    ),
]
Kind = Literal[
    "check_in", "call", "meeting", "ebr", "testimonial_request", "case_study_request",
    "referral_request", "note",
]  # fmt: skip


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=10_000)


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str | None = Field(None, description="The user id escalated to.", max_length=200)
    reason: str | None = Field(None, max_length=10_000)
    novel: bool = False


class NextStepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)
    due: date


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Kind
    text: str | None = Field(None, max_length=10_000)


class NextStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    account_id: str
    at: datetime
    by_id: str | None
    text: str
    due: date


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    account_id: str
    at: datetime
    by_id: str | None
    kind: str
    text: str | None


def _request_out(request: object) -> RequestOut:
    return RequestOut.model_validate(request, from_attributes=True)


@router.post("/requests/{request_id}/resolve", response_model=RequestOut)
def resolve(
    request_id: str,
    body: ResolveIn,
    request: Request,
    now: NowDep,
    key: IdempotencyKey = None,
    user: User = Depends(require(Action.RESOLVE)),
) -> RequestOut:
    """Resolve the request now, with a note (a `resolve` record on its thread). Resolving a
    resolved request changes nothing."""
    ctx = write_context(user, now, key)
    return run_write(
        request,
        lambda s: _request_out(actions.resolve_request(s, ctx, request_id, body.note)),
    )


@router.post("/requests/{request_id}/escalate", response_model=RequestOut)
def escalate(
    request_id: str,
    body: EscalateIn,
    request: Request,
    now: NowDep,
    key: IdempotencyKey = None,
    user: User = Depends(require(Action.ESCALATE)),
) -> RequestOut:
    """Escalate the request now (an `escalate` record): to whom, why, and whether the
    situation is novel. The same escalation as the thread's latest changes nothing."""
    ctx = write_context(user, now, key)
    return run_write(
        request,
        lambda s: _request_out(
            actions.escalate_request(s, ctx, request_id, body.to, body.reason, body.novel)
        ),
    )


@router.post("/accounts/{account_id}/next-steps", response_model=NextStepOut)
def next_step(
    account_id: str,
    body: NextStepIn,
    request: Request,
    now: NowDep,
    key: IdempotencyKey = None,
    user: User = Depends(require(Action.SET_NEXT_STEP)),
) -> NextStepOut:
    """Set the account's next step from now (a `next_step` record). The same text and due
    date as the current one change nothing."""
    ctx = write_context(user, now, key)
    return run_write(
        request,
        lambda s: NextStepOut.model_validate(
            actions.set_next_step(s, ctx, account_id, body.text, body.due)
        ),
    )


@router.post("/accounts/{account_id}/activities", response_model=ActivityOut)
def activity(
    account_id: str,
    body: ActivityIn,
    request: Request,
    now: NowDep,
    key: IdempotencyKey = None,
    user: User = Depends(require(Action.LOG_ACTIVITY)),
) -> ActivityOut:
    """Log an activity on the account now (an `activity` record). Its id comes from the
    `Idempotency-Key`: send one, and a repeated call makes no second activity."""
    ctx = write_context(user, now, key)
    return run_write(
        request,
        lambda s: ActivityOut.model_validate(
            actions.log_activity(s, ctx, account_id, body.kind, body.text)
        ),
    )
