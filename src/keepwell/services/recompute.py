"""Recomputes after a change of rules (issue 14 §4, §5): the SLA clocks after a schedule or
target change, the health of recent days after new weights, the kept scorecards after new
targets. Each is cut into steps (a batch of accounts, a week of days, a month) that commit one
by one with the job's progress, so that a page can show how far it has got.

Every step computes its rows from the book and the rules alone, never from what an earlier
step or run wrote: a recompute killed half-way and run again from the start gives the same
tables as one run through (and the SLA steps write only the clocks that change).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from keepwell.domain.health import DEFAULT_WEIGHTS
from keepwell.domain.scorecard import previous_month
from keepwell.domain.sla import SlaTargets
from keepwell.domain.targets import DEFAULT_TARGETS, Targets
from keepwell.services import jobs
from keepwell.services.health import recompute_health_days, today_in
from keepwell.services.scorecard import keep_scorecards, kept_months, last_closed_month
from keepwell.services.sla import recompute_sla
from keepwell.store import bulk
from keepwell.store.db import transaction
from keepwell.store.models import Account, Base, HealthSnapshot

# In the order they run: health reads the SLA clocks (breaches, requests open a business day).
KINDS = ("sla", "health", "scorecards")
NAMES = {"sla": "SLA clocks", "health": "health", "scorecards": "scorecards"}
# At least this many accounts a step, and at most SLA_STEPS steps: each step reads the book's
# schedules and ownership again, which a large book should not pay for thousands of times.
ACCOUNTS_A_STEP = 50
SLA_STEPS = 40
HEALTH_DAYS = 30  # the health trend's reach: the days recomputed, up to the day just ended
DAYS_A_STEP = 7
SCORECARD_MONTHS = 12  # kept months recomputed, up to the last closed one
REQUESTS = Base.metadata.tables["requests"]
RECOMPUTE = "recompute"  # the job's name


class UnknownKind(ValueError):
    """A recompute nobody knows."""


def checked_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """`kinds` without repeats, in the order they must run; UnknownKind for any other."""
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        raise UnknownKind(f"kinds: {unknown or 'none'}; use some of {', '.join(KINDS)}")
    return tuple(kind for kind in KINDS if kind in kinds)


@dataclass(frozen=True)
class Rules:
    """What the recomputes compute with: the settings in force when the job runs."""

    sla_targets: SlaTargets = field(default_factory=SlaTargets)
    timezone: str = "UTC"  # the company zone
    weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    targets: Targets = DEFAULT_TARGETS


@dataclass(frozen=True)
class Step:
    note: str  # what it does, for the progress shown
    run: Callable[[Session], Any]


def plan(engine: Engine, kinds: Sequence[str], rules: Rules, now: datetime) -> list[Step]:
    """The steps of a recompute of `kinds` at `now`, in order."""
    steps: list[Step] = []
    with transaction(engine) as session:
        for kind in checked_kinds(kinds):
            steps += _PLANNERS[kind](session, rules, now)
    return steps


def _sla_steps(session: Session, rules: Rules, now: datetime) -> list[Step]:
    accounts = list(session.scalars(select(Account.id).order_by(Account.id)))
    size = max(ACCOUNTS_A_STEP, -(-len(accounts) // SLA_STEPS))
    steps = []
    for start in range(0, len(accounts), size):
        batch = accounts[start : start + size]
        note = f"SLA clocks: accounts {start + 1}–{start + len(batch)} of {len(accounts)}"
        steps.append(Step(note, _sla_of(batch, rules.sla_targets)))
    return steps


def _sla_of(accounts: list[str], targets: SlaTargets) -> Callable[[Session], Any]:
    def run(session: Session) -> Any:
        ids = [row[0] for row in bulk.rows_where_in(
            session.connection(), REQUESTS, ("id",), "account_id", accounts)]  # fmt: skip
        return recompute_sla(session, targets, only=ids) if ids else None

    return run


def health_days(session: Session, timezone: str, now: datetime) -> list[date]:
    """The days whose health a recompute scores again: those kept among the HEALTH_DAYS up to
    the day just ended (company zone), and that day in any case."""
    last = today_in(now, timezone) - timedelta(days=1)
    first = last - timedelta(days=HEALTH_DAYS - 1)
    kept = session.scalars(
        select(HealthSnapshot.day).distinct().where(
            HealthSnapshot.day >= first, HealthSnapshot.day <= last)
    )  # fmt: skip
    return sorted({last, *kept})


def _health_steps(session: Session, rules: Rules, now: datetime) -> list[Step]:
    days = health_days(session, rules.timezone, now)
    steps = []
    for batch in bulk.chunks(days, DAYS_A_STEP):
        chosen = list(batch)
        note = f"health: {chosen[0]} to {chosen[-1]}"
        steps.append(Step(note, _health_of(chosen, rules)))
    return steps


def _health_of(days: list[date], rules: Rules) -> Callable[[Session], Any]:
    def run(session: Session) -> Any:
        return recompute_health_days(session, days, timezone=rules.timezone, weights=rules.weights)

    return run


def scorecard_months(session: Session, timezone: str, now: datetime) -> list[str]:
    """The months whose kept scorecards a recompute keeps again: those kept among the
    SCORECARD_MONTHS up to the last closed month, and that month in any case."""
    last = last_closed_month(now, timezone)
    first = last
    for _ in range(SCORECARD_MONTHS - 1):
        first = previous_month(first)
    return sorted({last, *(m for m in kept_months(session, first) if m <= last)})


def _scorecard_steps(session: Session, rules: Rules, now: datetime) -> list[Step]:
    return [
        Step(f"scorecards: {month}", _keep(month, rules, now))
        for month in scorecard_months(session, rules.timezone, now)
    ]


def _keep(month: str, rules: Rules, now: datetime) -> Callable[[Session], Any]:
    def run(session: Session) -> Any:
        return keep_scorecards(
            session, month, now, targets=rules.targets, company_timezone=rules.timezone
        )

    return run


_PLANNERS: dict[str, Callable[[Session, Rules, datetime], list[Step]]] = {
    "sla": _sla_steps,
    "health": _health_steps,
    "scorecards": _scorecard_steps,
}


def record_recompute(
    session: Session, kinds: Sequence[str], *, reason: str, by: str | None, now: datetime
) -> str:
    """Record a recompute of `kinds` as QUEUED in the caller's transaction (beside the change
    it follows, so that the two commit together) and return its job id; the job is then
    enqueued with that id (`Jobs.send_recompute`). UnknownKind for a kind nobody knows."""
    chosen = checked_kinds(kinds)
    job_id = uuid.uuid4().hex
    args = orjson.dumps({"kinds": chosen, "reason": reason, "by": by}).decode()
    jobs.queue(session, job_id, RECOMPUTE, args, now)
    return job_id


def kinds_of(args: str | None) -> tuple[str, ...]:
    """The kinds a recompute job's recorded arguments name."""
    return checked_kinds(orjson.loads(args or "{}").get("kinds") or [])


def run_recompute(
    engine: Engine, job_id: str, rules: Rules, worker: str, clock: Callable[[], datetime]
) -> bool:
    """Run the recompute job `job_id` as `worker`: claim it, run its steps, each in a
    transaction of its own with the job's progress, and mark it DONE. False when it was not
    ours to run (claimed by another worker, finished, or unknown). An error propagates (the
    caller records it: `jobs.finish`); `jobs.Superseded` when another worker took it over."""
    if not jobs.claim(engine, job_id, worker, clock(), "planning"):
        return False
    with transaction(engine) as session:
        recorded = jobs.get_job(session, job_id)
    steps = plan(engine, kinds_of(recorded.args if recorded else None), rules, clock())
    with transaction(engine, writes=True) as session:
        first = steps[0].note if steps else "nothing to do"
        jobs.advance(session, job_id, worker, clock(), 0, first, total=len(steps))
    for done, step in enumerate(steps, 1):
        with transaction(engine, writes=True) as session:
            step.run(session)
            after = steps[done].note if done < len(steps) else "done"
            jobs.advance(session, job_id, worker, clock(), done, after)
    jobs.finish(engine, job_id, worker, jobs.DONE, clock())
    return True
