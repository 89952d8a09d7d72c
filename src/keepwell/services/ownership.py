"""The timeline's rules (domain.timeline) as SQL expressions, for queries that filter and
page in the database: who owns an account at an instant, and whether it is active then.

They state exactly the rules of `keepwell.domain.timeline` (tests/services/test_timeline_sql.py
holds them equal on the same book); a query that can load the book asks the domain instead.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.sql.elements import ColumnElement as Column

from keepwell.store.models import Account, Assignment, Churn, MrrChange


def owner_at(instant: datetime) -> ColumnElement[str | None]:
    """A SQL expression: the owner of `Account` at `instant` (to select or filter on):
    the latest `assign` at or before it, else the account line's owner (PRODUCT.md 9)."""
    latest = (
        select(Assignment.owner_id)
        .where(Assignment.account_id == Account.id, Assignment.at <= instant)
        .order_by(Assignment.at.desc())
        .limit(1)
        .scalar_subquery()
    )
    owner: Column[str | None] = func.coalesce(latest, Account.owner_id)
    return owner


def active_at(instant: datetime, company_timezone: str) -> ColumnElement[bool]:
    """A SQL expression: whether `Account` is active at `instant` (PRODUCT.md 4): started by
    then (from its `started` day's first instant in the company zone), and no churn at or
    before it that no later `mrr` line above zero, at or before it too, has undone."""
    today = instant.astimezone(ZoneInfo(company_timezone)).date()
    undone = exists().where(
        MrrChange.account_id == Churn.account_id,
        MrrChange.mrr > 0,
        MrrChange.at > Churn.at,
        MrrChange.at <= instant,
    )
    lasting = exists().where(Churn.account_id == Account.id, Churn.at <= instant, ~undone)
    return and_(Account.started <= today, ~lasting)
