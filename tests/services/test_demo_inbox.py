"""The demo's inbox looks like a real team's on its today: nothing months overdue, one CSM
visibly behind."""

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from keepwell.domain.sla import SlaTargets
from keepwell.ingest.demo import PERSONAS, TEAM, generate_demo
from keepwell.services.demo import load_demo
from keepwell.services.inbox import inbox
from keepwell.store.db import transaction

TODAY = date(2026, 12, 4)
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def test_no_csm_carries_a_request_more_than_two_weeks_overdue(engine: Engine) -> None:
    with transaction(engine) as session:
        load_demo(session, generate_demo(seed=7, today=TODAY), TODAY, targets=SlaTargets())
    overdue_days: dict[str, list[int]] = {}
    with transaction(engine) as session:
        for member in TEAM:
            if member.role != "csm":
                continue
            items = inbox(session, member.id, NOW)
            assert all(item.opened_at > NOW - timedelta(days=21) for item in items), member.id
            overdue_days[member.id] = [
                int(found.group(1)) if (found := re.match(r"(\d+) bd", item.time_left)) else 0
                for item in items
                if item.seconds_left < 0
            ]
    assert max(max(days, default=0) for days in overdue_days.values()) <= 10
    slow = PERSONAS["slow"]
    most_behind = max(overdue_days, key=lambda csm: (sum(overdue_days[csm]), csm == slow))
    assert most_behind == slow and max(overdue_days[slow]) >= 2
