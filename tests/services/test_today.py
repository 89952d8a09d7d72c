"""Today's attention reasons (issue 13 §3): a manager's team view says what each CSM's own
Today says, each CSM's week running in their own zone."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from book import BASICS, load
from keepwell.services.today import attention, team_today
from keepwell.store.db import transaction
from keepwell.store.models import User

TOKYO_CSM = {
    "type": "user", "id": "u-kenji", "name": "Kenji", "email": "kenji@example.com",
    "role": "csm", "timezone": "Asia/Tokyo", "manager": "u-kyle",
}  # fmt: skip
KAIJU = {
    "type": "account", "id": "kaiju", "name": "Kaiju", "country": "JP", "owner": "u-kenji",
    "started": "2026-01-05", "mrr": 900, "currency": "USD",
}  # fmt: skip
# Sunday 14:00 UTC: the company's week (UTC) and New York's, but already Sunday night in
# Tokyo, the week before Kenji's.
CHECK_IN = {"type": "activity", "id": "a-1", "account": "kaiju", "kind": "check_in",
            "at": "2026-11-08T14:00:00Z", "by": "u-kenji"}  # fmt: skip
# Monday 08:00 in Tokyo, still Sunday 23:00 in UTC.
NOW = datetime(2026, 11, 8, 23, 0, tzinfo=UTC)


def reasons(items: list) -> dict[str, list[str]]:  # type: ignore[type-arg]
    return {item.account_id: item.reasons for item in items}


def test_a_csm_week_starts_in_their_own_zone(engine: Engine) -> None:
    load(engine, *BASICS, TOKYO_CSM, KAIJU, CHECK_IN)
    with transaction(engine) as session:
        own = attention(session, NOW, "UTC", owner="u-kenji", week_zone="Asia/Tokyo")
        company_week = attention(session, NOW, "UTC", owner="u-kenji", week_zone="UTC")
    assert "no proactive touch this week" in reasons(own)["kaiju"]
    assert "no proactive touch this week" not in reasons(company_week).get("kaiju", [])


def test_the_team_view_says_what_each_csm_today_says(engine: Engine) -> None:
    load(engine, *BASICS, TOKYO_CSM, KAIJU, CHECK_IN)
    with transaction(engine) as session:
        manager = session.scalars(select(User).where(User.id == "u-kyle")).one()
        team = team_today(session, manager, NOW, "UTC")
        for member in team:
            own = attention(
                session, NOW, "UTC", owner=member.user.id, week_zone=member.user.timezone
            )
            assert reasons(member.attention) == reasons(own), member.user.id
    assert {member.user.id for member in team} == {"u-ana", "u-kenji"}
