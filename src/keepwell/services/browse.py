"""Read use cases behind the JSON API: filtered, paginated lists and single records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from keepwell.services.ownership import active_at, owner_at
from keepwell.store.models import Account, Message, Request, User

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def _page(session: Session, query: Select, limit: int, offset: int) -> Page[Any]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.limit(limit).offset(offset)).all()
    items = [row[0] if len(row) == 1 else tuple(row) for row in rows]
    return Page(items=items, total=total or 0, limit=limit, offset=offset)


@dataclass(frozen=True)
class AccountFilter:
    owner: str | None = None
    country: str | None = None
    segment: str | None = None
    search: str | None = None
    active: bool | None = None


def list_accounts(
    session: Session,
    where: AccountFilter,
    now: datetime,
    limit: int,
    offset: int,
    company_timezone: str = "UTC",
) -> Page[tuple[Account, str | None]]:
    """Accounts with their owner at `now`, by name; `active` as domain.timeline says (a
    churned account that paid again is active)."""
    owner = owner_at(now).label("current_owner")
    query = select(Account, owner).order_by(Account.name, Account.id)
    if where.owner:
        query = query.where(owner_at(now) == where.owner)
    if where.country:
        query = query.where(Account.country == where.country.upper())
    if where.segment:
        query = query.where(Account.segment == where.segment)
    if where.search:
        # autoescape: a % or _ in the search is that character, not a LIKE wildcard
        in_name = func.lower(Account.name).contains(where.search.lower(), autoescape=True)
        query = query.where(or_(in_name, Account.id == where.search))
    if where.active is not None:
        active = active_at(now, company_timezone)
        query = query.where(active if where.active else ~active)
    return _page(session, query, limit, offset)


def get_account(
    session: Session, account_id: str, now: datetime
) -> tuple[Account, str | None] | None:
    row = session.execute(select(Account, owner_at(now)).where(Account.id == account_id)).first()
    return (row[0], row[1]) if row else None


def get_user(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)


def get_request(session: Session, request_id: str) -> Request | None:
    return session.get(Request, request_id)


def get_message(session: Session, message_id: str) -> Message | None:
    return session.get(Message, message_id)


def database_answers(session: Session) -> None:
    """A round trip to the database (the health check): raises when it cannot answer."""
    session.execute(select(1))


def list_users(session: Session, role: str | None, limit: int, offset: int) -> Page[User]:
    query = select(User).order_by(User.name, User.id)
    if role:
        query = query.where(User.role == role)
    return _page(session, query, limit, offset)


@dataclass(frozen=True)
class RequestFilter:
    account: str | None = None
    owner: str | None = None
    status: str | None = None  # open | answered | resolved | unanswered
    opened_from: datetime | None = None
    opened_to: datetime | None = None


def list_requests(
    session: Session, where: RequestFilter, now: datetime, limit: int, offset: int
) -> Page[Request]:
    """Requests, newest first."""
    query = select(Request).order_by(Request.opened_at.desc(), Request.id)
    if where.account:
        query = query.where(Request.account_id == where.account)
    if where.owner:
        owned = select(Account.id).where(owner_at(now) == where.owner)
        query = query.where(Request.account_id.in_(owned))
    if where.status == "open":
        query = query.where(Request.resolved_at.is_(None))
    elif where.status == "resolved":
        query = query.where(Request.resolved_at.is_not(None))
    elif where.status == "unanswered":
        query = query.where(Request.first_response_at.is_(None))
    elif where.status == "answered":
        query = query.where(Request.first_response_at.is_not(None))
    if where.opened_from:
        query = query.where(Request.opened_at >= where.opened_from)
    if where.opened_to:
        query = query.where(Request.opened_at < where.opened_to)
    return _page(session, query, limit, offset)


@dataclass(frozen=True)
class MessageFilter:
    account: str | None = None
    thread: str | None = None
    direction: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_messages(session: Session, where: MessageFilter, limit: int, offset: int) -> Page[Message]:
    """Messages, newest first (a thread's messages oldest first)."""
    order = (Message.at, Message.id) if where.thread else (Message.at.desc(), Message.id)
    query = select(Message).order_by(*order)
    if where.account:
        query = query.where(Message.account_id == where.account)
    if where.thread:
        query = query.where(Message.thread_id == where.thread)
    if where.direction:
        query = query.where(Message.direction == where.direction)
    if where.since:
        query = query.where(Message.at >= where.since)
    if where.until:
        query = query.where(Message.at < where.until)
    return _page(session, query, limit, offset)
