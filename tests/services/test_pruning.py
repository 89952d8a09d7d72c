"""The daily prune forgets old sign-in attempts and ended sessions, and nothing live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from book import BASICS, load
from keepwell.services.pruning import prune
from keepwell.services.sessions import end_session, start_session
from keepwell.store.db import transaction
from keepwell.store.models import SignInAttempt, WebSession

NOW = datetime(2026, 12, 5, 3, 17, tzinfo=UTC)


def test_it_forgets_what_can_no_longer_matter_and_keeps_the_rest(engine: Engine) -> None:
    load(engine, *BASICS)
    with transaction(engine, writes=True) as session:
        for minutes in (10, 16, 60 * 24):
            session.add(SignInAttempt(email="ana@example.com", at=NOW - timedelta(minutes=minutes),
                                      success=False))  # fmt: skip
        live = start_session(session, "u-ana", NOW - timedelta(days=1))
        ended_lately = start_session(session, "u-ana", NOW - timedelta(days=40))
        end_session(session, ended_lately, NOW - timedelta(days=10))
        ended_long_ago = start_session(session, "u-ana", NOW - timedelta(days=60))
        end_session(session, ended_long_ago, NOW - timedelta(days=31))
        expired = start_session(session, "u-ana", NOW - timedelta(days=60))  # 14 days' life
    forgotten = prune(engine, NOW)
    assert forgotten == {"jobs": 0, "sign_in_attempts": 2, "web_sessions": 2}
    with transaction(engine) as session:
        attempts = session.scalars(select(SignInAttempt.at)).all()
        kept = set(session.scalars(select(WebSession.id)))
    assert attempts == [NOW - timedelta(minutes=10)]
    assert kept == {live, ended_lately}
    assert expired not in kept
