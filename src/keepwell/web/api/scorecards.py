"""The monthly CSM scorecards as JSON (PRODUCT.md 4), and a CSM's last 12 months."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from keepwell.config import get_settings
from keepwell.domain import scorecard as sc
from keepwell.services.company_settings import effective
from keepwell.services.scorecard import UnknownCsm, history, scorecards
from keepwell.web.api.params import INSTANT_RULE, MOMENT_RULE, Moment, Month, OptionalMonth
from keepwell.web.auth import scorecard_filter, scorecard_owner
from keepwell.web.deps import NowDep, SessionDep

router = APIRouter(prefix="/api/scorecards", tags=["scorecards"])


class Metric(BaseModel):
    value: float | None
    band: str | None
    points: float | None
    max: int
    n: int


class Trigger(BaseModel):
    metric: str
    rule: str


class Card(BaseModel):
    csm: str
    total: float | None
    earned: float
    possible: float
    scaled: bool
    band: str | None
    metrics: dict[str, Metric]
    triggers: list[Trigger]


class Scorecards(BaseModel):
    month: str
    as_of: datetime
    scorecards: list[Card]


class History(BaseModel):
    csm: str
    months: list[dict[str, Any]]  # {"month": ..., **card}


def scorecard_options(session: Session) -> dict[str, Any]:
    """The scorecard targets in force (an admin's, else the environment's) and the zone, as
    `keepwell scorecard` computes with them."""
    settings = get_settings()
    return {"targets": effective(session, settings).targets, "company_timezone": settings.timezone}


@router.get("", response_model=Scorecards)
def list_scorecards(
    month: Month,
    session: SessionDep,
    now: NowDep,
    csm: Annotated[str | None, Depends(scorecard_filter)],
    as_of: Annotated[
        Moment | None,
        Query(description=f"The evaluation moment, default now. {INSTANT_RULE} {MOMENT_RULE}"),
    ] = None,
) -> Scorecards:
    """Every CSM's scorecard of a month (or one CSM's), as of now or `as_of`."""
    moment = as_of or now
    try:
        cards = scorecards(session, month, moment, csm_id=csm, **scorecard_options(session))
    except (UnknownCsm, sc.ScorecardError) as exc:
        raise HTTPException(404 if isinstance(exc, UnknownCsm) else 422, str(exc)) from exc
    return Scorecards.model_validate(sc.scorecards_json(month, moment, cards))


@router.get("/{csm}/history", response_model=History)
def csm_history(
    csm: Annotated[str, Depends(scorecard_owner)],
    session: SessionDep,
    now: NowDep,
    month: OptionalMonth = None,
) -> History:
    """A CSM's last 12 monthly scorecards, up to `month` (default: the current month)."""
    last = month or now.strftime("%Y-%m")
    try:
        cards = history(session, csm, last, now, **scorecard_options(session))
    except UnknownCsm as exc:
        raise HTTPException(404, str(exc)) from exc
    return History(csm=csm, months=[{"month": c.month, **c.to_json()} for c in cards])
