"""JSON endpoints for the stored records: accounts, users, requests, messages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from keepwell.config import get_settings
from keepwell.services import browse
from keepwell.services.company_settings import effective
from keepwell.services.health import (
    FutureDay,
    UnknownAccount,
    account_health,
    backtest_report,
    today_in,
)
from keepwell.web.api.pagination import PagingDep
from keepwell.web.api.params import DAY_RULE, INSTANT_RULE, Day, Instant
from keepwell.web.api.schemas import AccountOut, MessageOut, Page, RequestOut, UserOut
from keepwell.web.deps import NowDep, SessionDep

router = APIRouter(prefix="/api")


def _account_out(account: object, owner: str | None) -> AccountOut:
    out = AccountOut.model_validate(account)
    return out.model_copy(update={"owner_id": owner})


@router.get("/accounts", response_model=Page[AccountOut], tags=["accounts"])
def list_accounts(
    session: SessionDep,
    now: NowDep,
    paging: PagingDep,
    owner: Annotated[str | None, Query(description="The owning CSM's id (now).")] = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    segment: str | None = None,
    q: Annotated[str | None, Query(description="Part of the name, or the id.")] = None,
    active: Annotated[bool | None, Query(description="Only active (or churned) ones.")] = None,
) -> Page[AccountOut]:
    where = browse.AccountFilter(owner, country, segment, q, active)
    zone = get_settings().timezone
    page = browse.list_accounts(session, where, now, paging.limit, paging.offset, zone)
    items = [_account_out(account, owner_id) for account, owner_id in page.items]
    return Page(items=items, total=page.total, limit=page.limit, offset=page.offset)


@router.get("/accounts/{account_id}", response_model=AccountOut, tags=["accounts"])
def get_account(account_id: str, session: SessionDep, now: NowDep) -> AccountOut:
    found = browse.get_account(session, account_id, now)
    if found is None:
        raise HTTPException(404, f"no account {account_id!r}")
    return _account_out(*found)


class HealthOut(BaseModel):
    account_id: str
    day: date | None
    score: float | None
    band: str | None
    computed_band: str | None  # the score's own band, shown beside an override
    trend_30d: float | None
    override: dict[str, Any] | None
    measures: dict[str, dict[str, Any]]  # measure -> value, weight, share, points, lost


@router.get("/accounts/{account_id}/health", response_model=HealthOut, tags=["accounts"])
def get_account_health(
    account_id: str,
    session: SessionDep,
    now: NowDep,
    day: Annotated[
        Day | None, Query(description=f"The snapshot's day (default: the latest). {DAY_RULE}")
    ] = None,
) -> HealthOut:
    """The account's health snapshot, its 30-day trend and why, with the override in force
    at the moment asked (PRODUCT.md 5); every field null when there is no snapshot."""
    timezone = get_settings().timezone
    try:
        shown = account_health(session, account_id, now, timezone, day=day)
    except UnknownAccount:
        raise HTTPException(404, f"no account {account_id!r}") from None
    return HealthOut.model_validate(shown)


@router.get("/health/backtest", tags=["health"])
def get_health_backtest(
    session: SessionDep,
    now: NowDep,
    as_of: Annotated[
        Day | None, Query(description=f"Today (default: today, company zone). {DAY_RULE}")
    ] = None,
    quarters: Annotated[int, Query(ge=1, le=20, description="Past quarters to test.")] = 4,
) -> dict[str, Any]:
    """How well health at each quarter's start predicted that quarter's churn (ROC AUC with
    its 95 % interval), and weights fitted on the book's history, offered only when at
    least 20 churned account-quarters stand behind them and they beat the current weights
    out of sample beyond the interval; otherwise `fitted.why` says why not (PRODUCT.md 5)."""
    settings = get_settings()
    try:
        return backtest_report(
            session,
            as_of or today_in(now, settings.timezone),
            quarters=quarters,
            timezone=settings.timezone,
            weights=effective(session, settings).weights,
            now=now,
        )
    except FutureDay as exc:
        raise HTTPException(422, f"as_of: {exc}") from exc


@router.get("/users", response_model=Page[UserOut], tags=["users"])
def list_users(
    session: SessionDep,
    paging: PagingDep,
    role: Literal["admin", "manager", "csm", "viewer"] | None = None,
) -> Page[UserOut]:
    page = browse.list_users(session, role, paging.limit, paging.offset)
    return Page[UserOut].model_validate(page, from_attributes=True)


@router.get("/users/{user_id}", response_model=UserOut, tags=["users"])
def get_user(user_id: str, session: SessionDep) -> UserOut:
    user = browse.get_user(session, user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id!r}")
    return UserOut.model_validate(user)


@router.get("/requests", response_model=Page[RequestOut], tags=["requests"])
def list_requests(
    session: SessionDep,
    now: NowDep,
    paging: PagingDep,
    account: str | None = None,
    owner: Annotated[str | None, Query(description="The owning CSM's id (now).")] = None,
    status: Literal["open", "resolved", "answered", "unanswered"] | None = None,
    opened_from: Annotated[
        Instant | None, Query(description=f"Opened at or after this instant. {INSTANT_RULE}")
    ] = None,
    opened_to: Annotated[
        Instant | None, Query(description=f"Opened before this instant. {INSTANT_RULE}")
    ] = None,
) -> Page[RequestOut]:
    where = browse.RequestFilter(account, owner, status, opened_from, opened_to)
    page = browse.list_requests(session, where, now, paging.limit, paging.offset)
    return Page[RequestOut].model_validate(page, from_attributes=True)


@router.get("/requests/{request_id}", response_model=RequestOut, tags=["requests"])
def get_request(request_id: str, session: SessionDep) -> RequestOut:
    request = browse.get_request(session, request_id)
    if request is None:
        raise HTTPException(404, f"no request {request_id!r}")
    return RequestOut.model_validate(request)


@router.get("/messages", response_model=Page[MessageOut], tags=["messages"])
def list_messages(
    session: SessionDep,
    paging: PagingDep,
    account: str | None = None,
    thread: str | None = None,
    direction: Literal["inbound", "outbound", "internal"] | None = None,
    since: Annotated[
        Instant | None, Query(description=f"Sent at or after this instant. {INSTANT_RULE}")
    ] = None,
    until: Annotated[
        Instant | None, Query(description=f"Sent before this instant. {INSTANT_RULE}")
    ] = None,
) -> Page[MessageOut]:
    where = browse.MessageFilter(account, thread, direction, since, until)
    page = browse.list_messages(session, where, paging.limit, paging.offset)
    return Page[MessageOut].model_validate(page, from_attributes=True)


@router.get("/messages/{message_id}", response_model=MessageOut, tags=["messages"])
def get_message(message_id: str, session: SessionDep) -> MessageOut:
    message = browse.get_message(session, message_id)
    if message is None:
        raise HTTPException(404, f"no message {message_id!r}")
    return MessageOut.model_validate(message)
