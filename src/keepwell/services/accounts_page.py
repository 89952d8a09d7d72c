"""The accounts list (issue 13 §3): filters, search, sort and pages in one query, each
account with its owner now and its snapshot of the latest health run (joined, not fetched
per row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from keepwell.services.ownership import owner_at
from keepwell.services.today import latest_run_day
from keepwell.store.models import Account, Contact, HealthSnapshot, User

SORTS = ("name", "mrr", "renewal", "health", "owner")
PAGE_SIZE = 50


@dataclass(frozen=True)
class AccountQuery:
    owner: str | None = None
    band: str | None = None
    segment: str | None = None
    country: str | None = None
    stage: str | None = None
    search: str | None = None
    sort: str = "name"
    descending: bool = False
    page: int = 1


@dataclass(frozen=True)
class AccountRow:
    id: str
    name: str
    owner_id: str | None
    owner_name: str | None
    country: str | None
    segment: str | None
    stage: str | None
    mrr: Decimal | None
    currency: str
    renewal_date: date | None
    score: float | None
    band: str | None


@dataclass(frozen=True)
class AccountList:
    rows: list[AccountRow]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class Choices:
    """The values the filters offer."""

    owners: list[tuple[str, str]]
    segments: list[str]
    countries: list[str]
    stages: list[str]
    bands: tuple[str, ...] = ("green", "yellow", "red")


def choices(session: Session) -> Choices:
    owners = session.execute(
        select(User.id, User.name).where(User.role.in_(("csm", "manager", "admin")))
        .order_by(User.name)
    ).all()  # fmt: skip

    def distinct(column: InstrumentedAttribute[str | None]) -> list[str]:
        values = session.scalars(select(column).where(column.is_not(None)).distinct())
        return sorted(v for v in values if v)

    return Choices(
        owners=[(i, n) for i, n in owners],
        segments=distinct(Account.segment),
        countries=distinct(Account.country),
        stages=distinct(Account.stage),
    )


def _search(text: str) -> ColumnElement[bool]:
    """In the name, a contact's name or email (so an email domain too), or the id."""
    needle = text.strip().lower()
    in_contacts = exists().where(
        Contact.account_id == Account.id,
        or_(
            func.lower(Contact.name).contains(needle, autoescape=True),
            func.lower(Contact.email).contains(needle, autoescape=True),
        ),
    )
    in_name = func.lower(Account.name).contains(needle, autoescape=True)
    return or_(in_name, Account.id == text.strip(), in_contacts)


def list_accounts(
    session: Session, where: AccountQuery, now: datetime, timezone: str
) -> AccountList:
    """One page of accounts as `where` asks, and how many there are in all: the page's ids
    are chosen in one query (the owner and health joined only when a filter or the sort
    needs them), then those 50 rows are read whole."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    run_day = latest_run_day(session, today)  # one day's snapshots, joined by their key
    snap = aliased(HealthSnapshot)
    scored = (snap.account_id == Account.id) & (snap.day == run_day)
    owner = owner_at(now)
    owner_user = aliased(User)
    with_health = where.band is not None or where.sort == "health"
    ids: Select = select(Account.id)
    if with_health:
        ids = ids.outerjoin(snap, scored)
    if where.sort == "owner":
        ids = ids.outerjoin(owner_user, owner_user.id == owner)
    ids = _filtered(ids, where, owner, snap)
    total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, where.page), pages)
    order = _order(where, owner_user, snap)
    chosen = list(
        session.scalars(ids.order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    )
    if not chosen:
        return AccountList([], total, page, pages)
    rows = session.execute(
        select(
            Account.id, Account.name, owner.label("owner_id"), owner_user.name,
            Account.country, Account.segment, Account.stage, Account.mrr, Account.currency,
            Account.renewal_date, snap.score, snap.band,
        )
        .outerjoin(snap, scored)
        .outerjoin(owner_user, owner_user.id == owner)
        .where(Account.id.in_(chosen))
    ).all()  # fmt: skip
    by_id = {row[0]: AccountRow(*tuple(row)) for row in rows}
    return AccountList([by_id[account_id] for account_id in chosen], total, page, pages)


def _filtered(query: Select, where: AccountQuery, owner: ColumnElement, snap: type) -> Select:
    if where.owner:
        query = query.where(owner == where.owner)
    if where.band:
        query = query.where(snap.band == where.band)  # type: ignore[attr-defined]
    if where.segment:
        query = query.where(Account.segment == where.segment)
    if where.country:
        query = query.where(Account.country == where.country.upper())
    if where.stage:
        query = query.where(Account.stage == where.stage)
    if where.search and where.search.strip():
        query = query.where(_search(where.search))
    return query


def _order(where: AccountQuery, owner_user: type, snap: type) -> list[ColumnElement]:
    column = {
        "name": func.lower(Account.name),
        "mrr": Account.mrr,
        "renewal": Account.renewal_date,
        "health": snap.score,  # type: ignore[attr-defined]
        "owner": owner_user.name,  # type: ignore[attr-defined]
    }.get(where.sort, func.lower(Account.name))
    ordered = column.desc() if where.descending else column.asc()
    return [ordered.nulls_last(), Account.id]
