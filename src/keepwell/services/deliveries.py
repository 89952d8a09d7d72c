"""Webhook deliveries (issue 15 §1): stored raw and answered at once, applied by a job,
exactly once, retried with backoff, dead after the last try.

Exactly once: the job claims a delivery with an optimistic update (`state` from pending or
failed to applying, on one row: only one claim can win) and applies it and marks it applied
in the same transaction. A worker killed in the middle leaves nothing of it written and the
delivery pending, and it is run again (the periodic sweep re-enqueues what waits too long).
Applying is idempotent besides: it goes through the import, keyed by the source's ids.

Pending deliveries of one source are applied together (`apply_oldest`: up to `BATCH` in one
transaction, one import instead of hundreds); if that fails, half as many are tried, down to
the oldest alone, so one bad delivery never holds the others back: it fails on its own, and
is retried by a job of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from keepwell.services import audit
from keepwell.store.db import one_book_writer_at_a_time, transaction
from keepwell.store.models import Delivery
from keepwell.store.upsert import insert

log = logging.getLogger(__name__)

PENDING, APPLYING, APPLIED = "pending", "applying", "applied"
FAILED, DEAD, HELD = "failed", "dead", "held"
STATES = (PENDING, APPLIED, FAILED, DEAD, HELD)
MAX_ATTEMPTS = 5
RETRY_DELAY = 2.0  # seconds before the second attempt; doubled for each one after
RETRY_BACKOFF = 2.0
BATCH = 200
# A delivery pending (or failed past its retry time) this long has lost its job: a worker
# was killed while holding it. The sweep enqueues it again.
STALE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class StoredDelivery:
    id: int
    source: str
    external_id: str
    scope: str | None
    body: str


# What applies a source's deliveries into the session's transaction; returns the ids of
# those held (waiting for a mapping) with the scope that holds them.
Applier = Callable[[Session, Sequence[StoredDelivery]], dict[int, str]]


@dataclass(frozen=True)
class Received:
    id: int | None  # None: a repeat of a delivery already stored
    new: bool


class DeliveryFailed(Exception):
    """Applying a delivery failed; it will be tried again."""


class UnknownDelivery(Exception):
    """No delivery has this id."""


@dataclass(frozen=True)
class Incoming:
    """A verified delivery, to store."""

    source: str
    external_id: str
    body: str
    scope: str | None = None


def receive(
    engine: Engine,
    source: str,
    external_id: str,
    body: str,
    now: datetime,
    scope: str | None = None,
) -> Received:
    """Store a verified delivery as it came, once per source and external id."""
    return receive_many(engine, [Incoming(source, external_id, body, scope)], now)[0]


def receive_many(engine: Engine, incoming: Sequence[Incoming], now: datetime) -> list[Received]:
    """Store verified deliveries in one transaction (requests that arrive together share
    one commit), each once per source and external id; answers in the same order."""
    fresh = list({(i.source, i.external_id): i for i in incoming}.values())
    rows = [_row(i, now) for i in fresh]
    with transaction(engine, writes=True) as session:
        # One statement for every batch size, its rows as parameters: compiled once and
        # cached, where rows given as VALUES compiled anew for each (half the cost of a
        # webhook's commit).
        statement = (
            insert(session, Delivery.__table__)
            .on_conflict_do_nothing(index_elements=["source", "external_id"])
            .returning(Delivery.id, Delivery.source, Delivery.external_id)
        )
        stored = {(source, key): id_ for id_, source, key in session.execute(statement, rows)}
    answers, seen = [], set()
    for i in incoming:
        key = (i.source, i.external_id)
        new_id = stored.get(key) if key not in seen else None
        seen.add(key)
        answers.append(Received(new_id, new_id is not None))
    return answers


def _row(incoming: Incoming, now: datetime) -> dict[str, object]:
    return {
        "source": incoming.source,
        "external_id": incoming.external_id,
        "scope": incoming.scope,
        "received_at": now,
        "body": incoming.body,
        "state": PENDING,
        "attempts": 0,
    }


def retry_delay(attempts: int) -> float:
    """Seconds before the attempt after `attempts` failed ones."""
    return RETRY_DELAY * RETRY_BACKOFF ** max(attempts - 1, 0)


def apply_delivery(
    engine: Engine, delivery_id: int, appliers: dict[str, Applier], now: datetime
) -> str | None:
    """Apply one delivery (and the fresh ones of its source beside it). Returns the state it
    ended in, or None when it was not pending (applied by another job, say). Raises
    `DeliveryFailed` when it failed and will be tried again; after the last attempt it is
    dead, and nothing is raised."""
    return _apply_or_fail(engine, delivery_id, appliers, now).state


@dataclass(frozen=True)
class _Applied:
    state: str | None  # of the delivery asked for; None: it was not pending
    taken: int  # deliveries the transaction took, that one included


def _apply_or_fail(
    engine: Engine, delivery_id: int, appliers: dict[str, Applier], now: datetime
) -> _Applied:
    # A batch that fails is tried again with half as many, down to the delivery alone: the
    # good deliveries before a bad one are applied together, and the bad one is soon the
    # oldest, failing on its own (in a few tries rather than a round for each good one).
    error: BaseException
    limit = BATCH
    while True:
        try:
            return _apply(engine, delivery_id, appliers, now, limit)
        except _NothingElse as alone:  # it was alone: the failure is its own
            error = alone.__cause__ or alone
            break
        except Exception as exc:
            if limit == 1:
                error = exc
                break
            if limit == BATCH:
                log.exception("applying a batch from delivery %s failed; halving it", delivery_id)
            limit //= 2
    state = _record_failure(engine, delivery_id, error, now)
    if state == FAILED:
        raise DeliveryFailed(f"delivery {delivery_id}: {type(error).__name__}: {error}") from error
    return _Applied(state, 1)


@dataclass(frozen=True)
class Round:
    """One round of `apply_oldest`."""

    found: bool  # a delivery was pending: there may be more
    taken: int = 0  # deliveries this round applied or held
    failed: int | None = None  # the one that failed, to retry on its own with backoff


def apply_oldest(engine: Engine, appliers: dict[str, Applier], now: datetime) -> Round:
    """Apply the oldest pending delivery and the pending ones of its source after it (up to
    `BATCH`, in one transaction: the cost of a round is mostly fixed, so a round that takes
    200 costs about what one that takes 10 does)."""
    with transaction(engine) as session:
        oldest = session.scalar(
            select(Delivery.id).where(Delivery.state == PENDING).order_by(Delivery.id).limit(1)
        )
    if oldest is None:
        return Round(found=False)
    try:
        return Round(found=True, taken=_apply_or_fail(engine, oldest, appliers, now).taken)
    except DeliveryFailed:
        return Round(found=True, failed=oldest)


class _NothingElse(Exception):
    """Applying failed, and the batch held only the job's own delivery."""


def _apply(
    engine: Engine, delivery_id: int, appliers: dict[str, Applier], now: datetime, limit: int
) -> _Applied:
    with transaction(engine, writes=True) as session:
        _one_applier_at_a_time(session)
        own = _claim(session, delivery_id)
        if own is None:
            return _Applied(None, 0)
        batch = [own, *_claim_fresh(session, own, limit - 1)]
        try:
            held = appliers[own.source](session, batch)
        except Exception as exc:
            if len(batch) == 1 and limit > 1:
                raise _NothingElse() from exc
            raise
        _mark_applied(session, [d.id for d in batch if d.id not in held], now)
        for delivery in batch:
            if delivery.id in held:
                _mark_held(session, delivery.id, held[delivery.id])
    return _Applied(HELD if delivery_id in held else APPLIED, len(batch))


def _one_applier_at_a_time(session: Session) -> None:
    """Applying replays whole threads, as every import does (`one_book_writer_at_a_time`),
    taken before the claim so that batches wait their turn, not fail. Batches keep it cheap."""
    one_book_writer_at_a_time(session)


def _claim(session: Session, delivery_id: int) -> StoredDelivery | None:
    claimed = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state.in_((PENDING, FAILED)))
        .values(state=APPLYING, attempts=Delivery.attempts + 1)
        .returning(
            Delivery.id, Delivery.source, Delivery.external_id, Delivery.scope, Delivery.body
        )
    ).first()
    return StoredDelivery(*claimed) if claimed else None


def _claim_fresh(session: Session, own: StoredDelivery, limit: int) -> list[StoredDelivery]:
    """Up to `limit` other pending deliveries of the same source, oldest first. Rows another
    worker holds are skipped on PostgreSQL (SKIP LOCKED); SQLite has one writer at a time."""
    if limit <= 0:
        return []
    ids = select(Delivery.id).where(Delivery.state == PENDING, Delivery.source == own.source)
    ids = ids.order_by(Delivery.id).limit(limit).with_for_update(skip_locked=True)
    chosen = list(session.scalars(ids))
    if not chosen:
        return []
    rows = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(chosen), Delivery.state == PENDING)
        .values(state=APPLYING, attempts=Delivery.attempts + 1)
        .returning(
            Delivery.id, Delivery.source, Delivery.external_id, Delivery.scope, Delivery.body
        )
    ).all()
    return sorted((StoredDelivery(*row) for row in rows), key=lambda d: d.id)


def _mark_applied(session: Session, ids: list[int], now: datetime) -> None:
    if ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(state=APPLIED, applied_at=now, error=None, retry_at=None)
        )


def _mark_held(session: Session, delivery_id: int, scope: str) -> None:
    session.execute(
        update(Delivery).where(Delivery.id == delivery_id).values(state=HELD, scope=scope)
    )


def _record_failure(engine: Engine, delivery_id: int, error: BaseException, now: datetime) -> str:
    """Count the failed attempt (its own transaction: the attempt's was rolled back)."""
    with transaction(engine, writes=True) as session:
        row = session.execute(
            select(Delivery.attempts, Delivery.state).where(Delivery.id == delivery_id)
        ).first()
        if row is None or row.state not in (PENDING, FAILED):
            return row.state if row else DEAD
        attempts = row.attempts + 1
        state = DEAD if attempts >= MAX_ATTEMPTS else FAILED
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                state=state,
                attempts=attempts,
                error=f"{type(error).__name__}: {error}"[:2000],
                retry_at=now + timedelta(seconds=retry_delay(attempts)),
            )
        )
    log.warning("delivery %s attempt %s failed (%s): %s", delivery_id, attempts, state, error)
    return state


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    source: str
    external_id: str
    scope: str | None
    received_at: datetime
    state: str
    attempts: int
    error: str | None
    applied_at: datetime | None


def list_deliveries(
    engine: Engine, *, states: Sequence[str] = (), limit: int = 100
) -> list[DeliveryRow]:
    """The latest deliveries, newest first; only those in `states` when given."""
    query = select(
        Delivery.id,
        Delivery.source,
        Delivery.external_id,
        Delivery.scope,
        Delivery.received_at,
        Delivery.state,
        Delivery.attempts,
        Delivery.error,
        Delivery.applied_at,
    ).order_by(Delivery.id.desc())
    if states:
        query = query.where(Delivery.state.in_(states))
    with transaction(engine) as session:
        return [DeliveryRow(*row) for row in session.execute(query.limit(limit))]


def count_by_state(engine: Engine) -> dict[str, int]:
    with transaction(engine) as session:
        rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
    return {state: count for state, count in rows}


def replay(engine: Engine, delivery_id: int, now: datetime, *, by: str | None = None) -> None:
    """Make a delivery pending again, from its first attempt (the caller enqueues it), and
    record who did. Applying is idempotent: an applied delivery replayed changes nothing."""
    with transaction(engine, writes=True) as session:
        found = session.execute(
            select(Delivery.state, Delivery.attempts, Delivery.error).where(
                Delivery.id == delivery_id
            )
        ).first()
        if found is None:
            raise UnknownDelivery(f"no delivery {delivery_id}")
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(state=PENDING, attempts=0, error=None, retry_at=None)
        )
        audit.record(
            session, at=now, by=by, action="delivery.replay", subject=f"delivery:{delivery_id}",
            before={"state": found.state, "attempts": found.attempts, "error": found.error},
            after={"state": PENDING, "attempts": 0},
        )  # fmt: skip


def release_held(session: Session, source: str, scope: str) -> list[int]:
    """Make the deliveries held for `scope` pending again (a mapping now covers them)."""
    rows = session.execute(
        update(Delivery)
        .where(Delivery.source == source, Delivery.scope == scope, Delivery.state == HELD)
        .values(state=PENDING, attempts=0, error=None)
        .returning(Delivery.id)
    )
    return sorted(rows.scalars())


@dataclass(frozen=True)
class Lost:
    """Deliveries whose job was lost (a worker killed while holding it)."""

    pending: list[int]  # the next round of draining applies them
    failed: list[int]  # past their retry time: each is retried by a job of its own


def lost(engine: Engine, now: datetime, stale_after: timedelta = STALE_AFTER) -> Lost:
    """Deliveries pending longer than `stale_after`, and those failed and past their retry
    time by as long."""
    cutoff = now - stale_after
    with transaction(engine) as session:
        rows = session.execute(
            select(Delivery.id, Delivery.state)
            .where(
                ((Delivery.state == PENDING) & (Delivery.received_at <= cutoff))
                | ((Delivery.state == FAILED) & (Delivery.retry_at <= cutoff))
            )
            .order_by(Delivery.id)
        ).all()
    return Lost(
        [id_ for id_, state in rows if state == PENDING],
        [id_ for id_, state in rows if state == FAILED],
    )
