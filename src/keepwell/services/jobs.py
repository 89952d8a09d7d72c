"""The record of background jobs (issue 15): state, attempts and the last error of each,
for the admin (`keepwell jobs`, and /settings/jobs later).

Most jobs are recorded by the queue's signals as they run (`record`). A long job that says how
far it has got (a recompute, `keepwell.jobs.recompute`) keeps its own record: QUEUED when it
is enqueued, then claimed by one worker (`claim`), its progress written as it goes (`advance`,
which is also its heartbeat), and ended (`finish`). A worker that dies holding it leaves it
RUNNING with an old heartbeat: `lost` finds it and `release` puts it back to QUEUED, once."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.orm import Session

from keepwell.store.db import transaction
from keepwell.store.models import Job
from keepwell.store.upsert import insert

QUEUED, RUNNING, DONE, RETRYING, FAILED = "queued", "running", "done", "retrying", "failed"
KEPT_FOR = timedelta(days=7)
NOTE_LENGTH = 200


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
    queued_at: datetime | None = None
    progress_done: int | None = None
    progress_total: int | None = None
    progress_note: str | None = None

    @property
    def progress(self) -> float | None:
        """How far the job has got, 0 to 1; None for a job that does not say."""
        if self.progress_total is None:
            return None
        if self.progress_total == 0:
            return 1.0
        return min(1.0, (self.progress_done or 0) / self.progress_total)


_COLUMNS = (Job.id, Job.name, Job.args, Job.state, Job.attempts, Job.error, Job.started_at,
            Job.finished_at, Job.queued_at, Job.progress_done, Job.progress_total,
            Job.progress_note)  # fmt: skip


def list_jobs(engine: Engine, *, limit: int = 100) -> list[JobRow]:
    """The latest jobs, most recently finished (or started, while running; or queued) first."""
    with transaction(engine) as session:
        latest = func.coalesce(Job.finished_at, Job.started_at, Job.queued_at).desc()
        rows = session.execute(select(*_COLUMNS).order_by(latest).limit(limit))
        return [JobRow(*row) for row in rows]


def get_job(session: Session, job_id: str) -> JobRow | None:
    """One job's record, or None (never recorded, or pruned)."""
    row = session.execute(select(*_COLUMNS).where(Job.id == job_id)).first()
    return JobRow(*row) if row else None


def prune(engine: Engine, now: datetime) -> int:
    """Forget the jobs finished more than KEPT_FOR ago."""
    with transaction(engine, writes=True) as session:
        result = session.execute(delete(Job).where(Job.finished_at < now - KEPT_FOR))
        return int(result.rowcount)  # type: ignore[attr-defined]


# -- jobs that keep their own record (a recompute)


def queue(session: Session, job_id: str, name: str, args: str | None, now: datetime) -> None:
    """Record a job as QUEUED, in the caller's transaction: before it is enqueued, so that a
    job whose enqueueing was lost is still found (`lost`) and run."""
    session.add(Job(id=job_id, name=name, args=args, state=QUEUED, attempts=0,
                    queued_at=now, heartbeat_at=now))  # fmt: skip
    session.flush()


def claim(engine: Engine, job_id: str, worker: str, now: datetime, note: str) -> bool:
    """Take a QUEUED (or RETRYING) job for `worker`: True for the one claim that wins; False
    when it is running elsewhere, finished, or unknown."""
    with transaction(engine, writes=True) as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state.in_((QUEUED, RETRYING)))
            .values(
                state=RUNNING,
                worker=worker,
                heartbeat_at=now,
                started_at=now,
                finished_at=None,
                attempts=Job.attempts + 1,
                progress_done=None,
                progress_total=None,
                progress_note=note[:NOTE_LENGTH],
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class Superseded(RuntimeError):
    """The job is no longer this worker's (taken for dead and claimed again): stop."""


def advance(
    session: Session, job_id: str, worker: str, now: datetime, done: int, note: str,
    total: int | None = None,
) -> None:  # fmt: skip
    """Write the job's progress (`done` units, of `total` when given) in the caller's
    transaction (the work it stands for commits with it); it is also the job's heartbeat.
    Superseded when the job is no longer `worker`'s."""
    values: dict[str, Any] = {"progress_done": done, "progress_note": note[:NOTE_LENGTH],
                              "heartbeat_at": now}  # fmt: skip
    if total is not None:
        values["progress_total"] = total
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.worker == worker, Job.state == RUNNING)
        .values(**values)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise Superseded(job_id)


def finish(
    engine: Engine, job_id: str, worker: str, state: str, now: datetime, error: str | None = None
) -> None:
    """End `worker`'s run of the job: DONE, or RETRYING / FAILED with the error."""
    with transaction(engine, writes=True) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker == worker, Job.state == RUNNING)
            .values(state=state, error=error, finished_at=now, heartbeat_at=now)
        )


@dataclass(frozen=True)
class Lost:
    id: str
    name: str
    args: str | None
    state: str
    heartbeat_at: datetime | None


def lost(
    engine: Engine, names: Collection[str], now: datetime, stale_after: timedelta,
    dead: Callable[[str], bool],
) -> list[Lost]:  # fmt: skip
    """Self-recorded jobs (of `names`) that nobody will finish: QUEUED or RUNNING without a
    heartbeat for `stale_after`, or RUNNING in a worker that `dead` says is gone."""
    with transaction(engine) as session:
        rows = session.execute(
            select(Job.id, Job.name, Job.args, Job.state, Job.heartbeat_at, Job.worker).where(
                Job.name.in_(list(names)), Job.state.in_((QUEUED, RUNNING))
            )
        ).all()
    stale = now - stale_after
    return [
        Lost(row.id, row.name, row.args, row.state, row.heartbeat_at)
        for row in rows
        if row.heartbeat_at is None
        or row.heartbeat_at < stale
        or (row.state == RUNNING and row.worker and dead(row.worker))
    ]


def release(engine: Engine, job: Lost, now: datetime) -> bool:
    """Put a lost job back to QUEUED, if it is still as `lost` saw it: True for the one
    caller that did (it enqueues the job again), False if it moved meanwhile."""
    with transaction(engine, writes=True) as session:
        beat = Job.heartbeat_at.is_(None) if job.heartbeat_at is None else (
            Job.heartbeat_at == job.heartbeat_at)  # fmt: skip
        result = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.state == job.state, or_(beat))
            .values(state=QUEUED, worker=None, heartbeat_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
