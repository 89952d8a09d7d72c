"""The demo book: generated, imported through the importer like any file, given the health
history a real book would have from its daily recomputes, and the exchange rates an admin
would have set for its euro and pound accounts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from keepwell.domain.access import ROLES
from keepwell.domain.health import DEFAULT_WEIGHTS
from keepwell.domain.sla import SlaTargets
from keepwell.ingest.demo import demo_rates
from keepwell.services import audit
from keepwell.services.health import recompute_health_days
from keepwell.services.importing import ImportSummary, import_lines
from keepwell.services.rates import set_missing_rates
from keepwell.services.users import hash_password
from keepwell.store.models import User

HEALTH_HISTORY_DAYS = 90


def load_demo(
    session: Session,
    records: Iterable[dict[str, Any]],
    today: date,
    *,
    targets: SlaTargets,
    timezone: str = "UTC",
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    base_currency: str = "USD",
) -> ImportSummary:
    """Import the demo's records, then keep the health of the days before `today` (the
    snapshots a daily recompute would have left: trends and the back-test have history),
    and set the demo's exchange rates into `base_currency` that the book has none for yet
    (an admin's own rates stay)."""
    lines = (orjson.dumps(r) for r in records)
    # the demo's today is the import's day: a user whose schedule changed has it from then
    summary = import_lines(session, lines, targets=targets, company_timezone=timezone, today=today)
    set_at = datetime.combine(today, time(), tzinfo=UTC)
    set_missing_rates(session, demo_rates(base_currency), base_currency, set_at)
    days = [today - timedelta(days=d) for d in range(1, HEALTH_HISTORY_DAYS + 1)]
    recompute_health_days(session, days, timezone=timezone, weights=weights)
    return summary


DEMO_PASSWORD = "keepwell-demo"
# The generated team has an admin, a manager and CSMs; a viewer is added so that every role
# can be tried.
DEMO_VIEWER = {"id": "u-vera", "name": "Vera Lindqvist", "email": "vera.lindqvist@example.com"}


@dataclass(frozen=True)
class DemoSignIn:
    role: str
    email: str
    name: str


def give_demo_passwords(session: Session, now: datetime) -> list[DemoSignIn]:
    """Give every demo user without a password the demo password (and add the demo viewer),
    so that anyone can sign in as each role; one user per role to suggest. Empty when the
    team had passwords already: the suggestion is printed once."""
    if session.get(User, DEMO_VIEWER["id"]) is None:
        session.add(User(**DEMO_VIEWER, role="viewer", timezone="Europe/Stockholm", active=True))
        session.flush()
    waiting = session.scalars(
        select(User).where(User.password_hash.is_(None), User.email.is_not(None))
    ).all()
    if not waiting:
        return []
    shared = hash_password(DEMO_PASSWORD)  # argon2 once: a salted hash verifies for anyone
    for user in waiting:
        user.password_hash = shared
    audit.record(session, at=now, by=None, action="demo.passwords", subject="users")
    chosen: dict[str, DemoSignIn] = {}
    for user in sorted(waiting, key=lambda u: u.id):
        chosen.setdefault(user.role, DemoSignIn(user.role, user.email or "", user.name))
    return [chosen[role] for role in ROLES if role in chosen]
