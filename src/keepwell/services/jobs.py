"""The record of background jobs (issue 15): state, attempts and the last error of each,
for the admin (`keepwell jobs`, and /settings/jobs later)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select

from keepwell.store.db import transaction
from keepwell.store.models import Job
from keepwell.store.upsert import insert

RUNNING, DONE, RETRYING, FAILED = "running", "done", "retrying", "failed"
KEPT_FOR = timedelta(days=7)


def record(
    engine: Engine,
    job_id: str,
    name: str,
    args: str | None,
    state: str,
    now: datetime,
    error: str | None = None,
    *,
    attempt: bool = False,
) -> None:
    """Record where a job stands: RUNNING when it starts (an attempt more), then DONE,
    RETRYING or FAILED with the error. `attempt`: count one more attempt with it (a job
    recorded only when it fails was never recorded RUNNING)."""
    started = state == RUNNING
    values = {
        "id": job_id,
        "name": name,
        "args": args,
        "state": state,
        "attempts": 1 if started or attempt else 0,
        "error": error,
        "started_at": now if started else None,
        "finished_at": None if started else now,
    }
    with transaction(engine, writes=True) as session:
        statement = insert(session, Job.__table__).values(**values)
        changes: dict[str, Any] = {"state": state, "error": error}
        if started:
            changes.update(attempts=Job.attempts + 1, started_at=now, finished_at=None)
        else:
            changes.update(finished_at=now)
            if attempt:
                changes.update(attempts=Job.attempts + 1)
        session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=changes))


@dataclass(frozen=True)
class JobRow:
    id: str
    name: str
    args: str | None
    state: str
    attempts: int
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None


def list_jobs(engine: Engine, *, limit: int = 100, offset: int = 0) -> list[JobRow]:
    """The latest jobs, most recently finished (or started, while running) first; `offset`
    skips as many (a page of them)."""
    columns = (Job.id, Job.name, Job.args, Job.state, Job.attempts, Job.error,
               Job.started_at, Job.finished_at)  # fmt: skip
    with transaction(engine) as session:
        latest = func.coalesce(Job.finished_at, Job.started_at).desc()
        query = select(*columns).order_by(latest, Job.id.desc()).limit(limit).offset(offset)
        return [JobRow(*row) for row in session.execute(query)]


def count_jobs(engine: Engine) -> int:
    """How many jobs are on record (the pages of `list_jobs`)."""
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Job)) or 0)


def prune(engine: Engine, now: datetime) -> int:
    """Forget the jobs finished more than KEPT_FOR ago."""
    with transaction(engine, writes=True) as session:
        result = session.execute(delete(Job).where(Job.finished_at < now - KEPT_FOR))
        return int(result.rowcount)  # type: ignore[attr-defined]
