"""Who owns an account at an instant: the account line's owner, then each `assign` from its `at`.

PRODUCT.md 9: "An account line's `owner` holds from `started`; an `assign` line moves the
account to another owner from its `at` on."
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.sql.elements import ColumnElement as Column

from keepwell.store.models import Account, Assignment


def owner_at(instant: datetime) -> ColumnElement[str | None]:
    """A SQL expression: the owner of `Account` at `instant` (to select or filter on)."""
    latest = (
        select(Assignment.owner_id)
        .where(Assignment.account_id == Account.id, Assignment.at <= instant)
        .order_by(Assignment.at.desc())
        .limit(1)
        .scalar_subquery()
    )
    owner: Column[str | None] = func.coalesce(latest, Account.owner_id)
    return owner
