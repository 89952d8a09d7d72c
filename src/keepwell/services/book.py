"""The book of business as plain data: accounts, their owners over time, revenue, surveys.

Loaded with a handful of set-based queries and handed to the pure domain modules. Shared by
the revenue, NPS, scorecard and health use cases.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from keepwell.domain.revenue import ZERO, MrrChange, RevenueAccount, day_start
from keepwell.domain.timeline import Lifecycle, Ownership
from keepwell.store.models import Account, Assignment, Churn, Survey, User
from keepwell.store.models import MrrChange as MrrRow


@dataclass
class Book:
    accounts: dict[str, Account]
    users: dict[str, User]
    owners: dict[str, Ownership]
    churns: dict[str, list[datetime]] = field(default_factory=dict)
    mrr_changes: dict[str, list[MrrChange]] = field(default_factory=dict)

    def owners_at(self, instant: datetime) -> dict[str, str | None]:
        return {account_id: owners.owner_at(instant) for account_id, owners in self.owners.items()}

    def teams_at(self, instant: datetime) -> dict[str, str | None]:
        """Each account's team at `instant`: the manager of its owner then."""
        return {
            account_id: self.users[owner].manager_id if owner in self.users else None
            for account_id, owner in self.owners_at(instant).items()
        }

    def segments(self) -> dict[str, str | None]:
        return {account_id: account.segment for account_id, account in self.accounts.items()}

    def groupings(self, instant: datetime) -> dict[str, dict[str, str | None]]:
        """The breakdowns of PRODUCT.md 6: by CSM and team as owned at `instant`, by segment."""
        return {
            "csm": self.owners_at(instant),
            "team": self.teams_at(instant),
            "segment": self.segments(),
        }

    def lifecycles(self, tz: str) -> dict[str, Lifecycle]:
        """When each account is active (domain.timeline), from the start of its `started`
        day in the company zone."""
        return {
            account.id: Lifecycle.of(
                day_start(account.started, tz),
                self.churns.get(account.id, ()),
                [c.at for c in self.mrr_changes.get(account.id, ()) if c.mrr > 0],
            )
            for account in self.accounts.values()
        }

    def revenue_accounts(self, tz: str) -> list[RevenueAccount]:
        """Each account's MRR history; the account line's `mrr` holds from the start of its
        `started` day in the company zone (PRODUCT.md 6)."""
        return [
            RevenueAccount(
                id=account.id,
                currency=account.currency,
                started_at=day_start(account.started, tz),
                mrr=account.mrr if account.mrr is not None else ZERO,
                changes=tuple(self.mrr_changes.get(account.id, ())),
                churns=tuple(self.churns.get(account.id, ())),
            )
            for account in self.accounts.values()
        ]


def load_book(session: Session) -> Book:
    accounts = {a.id: a for a in session.scalars(select(Account))}
    users = {u.id: u for u in session.scalars(select(User))}
    moves: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for row in session.execute(select(Assignment.account_id, Assignment.at, Assignment.owner_id)):
        moves[row.account_id].append((row.at, row.owner_id))
    owners = {
        account_id: Ownership.of(account.owner_id, moves.get(account_id, ()))
        for account_id, account in accounts.items()
    }
    churns: dict[str, list[datetime]] = defaultdict(list)
    for churn in session.execute(select(Churn.account_id, Churn.at)):
        churns[churn.account_id].append(churn.at)
    changes: dict[str, list[MrrChange]] = defaultdict(list)
    for change in session.execute(select(MrrRow.account_id, MrrRow.at, MrrRow.mrr)):
        changes[change.account_id].append(MrrChange(change.at, Decimal(change.mrr)))
    return Book(accounts, users, owners, dict(churns), dict(changes))


def load_surveys(session: Session, since: datetime | None = None) -> list[Survey]:
    query = select(Survey)
    if since is not None:
        query = query.where(Survey.at >= since)
    return list(session.scalars(query))
