"""The priority inbox as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from keepwell.services.inbox import UnknownUser, inbox
from keepwell.web.api.params import INSTANT_RULE, MOMENT_RULE, Moment
from keepwell.web.deps import NowDep, SessionDep

router = APIRouter(prefix="/api", tags=["inbox"])


class InboxItemOut(BaseModel):
    request_id: str
    account_id: str
    account_name: str
    thread_id: str
    waiting_for: str
    opened_at: datetime
    due: datetime
    seconds_left: float
    time_left: str
    last_client_message: str | None
    last_client_message_at: datetime | None


@router.get("/inbox", response_model=list[InboxItemOut])
def get_inbox(
    csm: str,
    session: SessionDep,
    now: NowDep,
    as_of: Annotated[
        Moment | None,
        Query(description=f"The inbox as it stood then, default now. {INSTANT_RULE} {MOMENT_RULE}"),
    ] = None,
) -> list[InboxItemOut]:
    """A CSM's requests awaiting a first response or a resolution, by business time left
    before the deadline, breached first (PRODUCT.md 1); as at `as_of`, when given."""
    try:
        items = inbox(session, csm, as_of or now)
    except UnknownUser as exc:
        raise HTTPException(404, str(exc)) from exc
    return [InboxItemOut.model_validate(item, from_attributes=True) for item in items]
