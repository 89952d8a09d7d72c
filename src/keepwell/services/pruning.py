"""Forgetting what nobody needs any more (the daily `prune` job): finished jobs after a week,
sign-in attempts once they can no longer throttle (the log keeps every sign-in), web
sessions a month after they ended. The book and the audit log are never pruned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from keepwell.services import jobs, sessions, users
from keepwell.store.db import transaction


def prune(engine: Engine, now: datetime) -> dict[str, int]:
    """How many rows of each kind were forgotten."""
    with transaction(engine, writes=True) as session:
        forgotten = {
            "sign_in_attempts": users.prune_attempts(session, now),
            "web_sessions": sessions.prune_sessions(session, now),
        }
    return {"jobs": jobs.prune(engine, now), **forgotten}
