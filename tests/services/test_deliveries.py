"""Deliveries (issue 15 §1): stored once, applied exactly once, retried, dead, replayed."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from keepwell.services import deliveries
from keepwell.services.deliveries import StoredDelivery
from keepwell.store.db import transaction
from keepwell.store.models import Delivery

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _state(engine: Engine, delivery_id: int) -> tuple[str, int, str | None]:
    with transaction(engine) as session:
        row = session.execute(
            select(Delivery.state, Delivery.attempts, Delivery.error).where(
                Delivery.id == delivery_id
            )
        ).one()
    return row.state, row.attempts, row.error


class Counting:
    """An applier that counts what it applied, failing while told to."""

    def __init__(self, failures: int = 0, pause: float = 0.0) -> None:
        self.applied: list[str] = []
        self.failures = failures
        self.pause = pause

    def __call__(self, session: Session, batch: Sequence[StoredDelivery]) -> dict[int, str]:
        time.sleep(self.pause)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("vendor said no")
        self.applied.extend(d.external_id for d in batch)
        return {}


def test_it_stores_a_repeated_delivery_once(engine: Engine) -> None:
    first = deliveries.receive(engine, "test", "ev-1", "{}", NOW)
    again = deliveries.receive(engine, "test", "ev-1", "{}", NOW)
    assert first.new and not again.new
    assert len(deliveries.list_deliveries(engine)) == 1


def test_it_applies_fresh_deliveries_of_a_source_together(engine: Engine) -> None:
    ids = [deliveries.receive(engine, "test", f"ev-{n}", "{}", NOW).id for n in range(3)]
    applier = Counting()
    assert deliveries.apply_delivery(engine, ids[0], {"test": applier}, NOW) == "applied"
    assert applier.applied == ["ev-0", "ev-1", "ev-2"]
    for delivery_id in ids:
        assert deliveries.apply_delivery(engine, delivery_id, {"test": applier}, NOW) is None
    assert [_state(engine, i)[:2] for i in ids] == [("applied", 1)] * 3


def test_it_retries_a_failed_delivery_then_declares_it_dead(engine: Engine) -> None:
    delivery_id = deliveries.receive(engine, "test", "ev-1", "{}", NOW).id
    assert delivery_id is not None
    applier = Counting(failures=100)
    for attempt in range(1, deliveries.MAX_ATTEMPTS):
        with pytest.raises(deliveries.DeliveryFailed):
            deliveries.apply_delivery(engine, delivery_id, {"test": applier}, NOW)
        assert _state(engine, delivery_id) == ("failed", attempt, "RuntimeError: vendor said no")
    assert deliveries.apply_delivery(engine, delivery_id, {"test": applier}, NOW) == "dead"
    assert _state(engine, delivery_id)[:2] == ("dead", deliveries.MAX_ATTEMPTS)
    assert [r.id for r in deliveries.list_deliveries(engine, states=("failed", "dead"))] == [
        delivery_id
    ]


def test_it_waits_longer_before_each_retry() -> None:
    assert [deliveries.retry_delay(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]


def test_it_applies_the_others_when_one_of_a_batch_fails(engine: Engine) -> None:
    good = deliveries.receive(engine, "test", "good", "{}", NOW).id
    bad = deliveries.receive(engine, "test", "bad", "{}", NOW).id
    assert good is not None and bad is not None

    def picky(session: Session, batch: Sequence[StoredDelivery]) -> dict[int, str]:
        if any(d.external_id == "bad" for d in batch):
            raise ValueError("cannot parse")
        return {}

    assert deliveries.apply_delivery(engine, good, {"test": picky}, NOW) == "applied"
    with pytest.raises(deliveries.DeliveryFailed):
        deliveries.apply_delivery(engine, bad, {"test": picky}, NOW)
    assert _state(engine, good)[0] == "applied"
    assert _state(engine, bad)[:2] == ("failed", 1)


def test_it_leaves_nothing_claimed_when_applying_fails(engine: Engine) -> None:
    delivery_id = deliveries.receive(engine, "test", "ev-1", "{}", NOW).id
    assert delivery_id is not None
    with pytest.raises(deliveries.DeliveryFailed):
        deliveries.apply_delivery(engine, delivery_id, {"test": Counting(failures=1)}, NOW)
    applier = Counting()
    assert deliveries.apply_delivery(engine, delivery_id, {"test": applier}, NOW) == "applied"
    assert applier.applied == ["ev-1"]


def test_only_one_of_two_concurrent_claims_wins(engine: Engine) -> None:
    delivery_id = deliveries.receive(engine, "test", "ev-1", "{}", NOW).id
    assert delivery_id is not None
    applier = Counting(pause=0.3)
    results: list[str | None] = []

    def run() -> None:
        results.append(deliveries.apply_delivery(engine, delivery_id, {"test": applier}, NOW))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [None, "applied"]
    assert applier.applied == ["ev-1"]


def test_it_replays_a_dead_delivery_from_its_first_attempt(engine: Engine) -> None:
    delivery_id = deliveries.receive(engine, "test", "ev-1", "{}", NOW).id
    assert delivery_id is not None
    with transaction(engine) as session:
        session.get_one(Delivery, delivery_id).state = "dead"
    deliveries.replay(engine, delivery_id, NOW)
    assert _state(engine, delivery_id) == ("pending", 0, None)
    with pytest.raises(deliveries.UnknownDelivery):
        deliveries.replay(engine, delivery_id + 1, NOW)


def test_it_finds_deliveries_whose_job_was_lost(engine: Engine) -> None:
    old = deliveries.receive(engine, "test", "old", "{}", NOW - timedelta(minutes=5)).id
    deliveries.receive(engine, "test", "new", "{}", NOW)
    retried = deliveries.receive(engine, "test", "retried", "{}", NOW - timedelta(minutes=5)).id
    with transaction(engine) as session:
        row = session.get_one(Delivery, retried)
        row.state, row.retry_at = "failed", NOW - timedelta(minutes=2)
    # The pending ones go to the next round of draining; a failed one is retried on its own.
    assert deliveries.lost(engine, NOW) == deliveries.Lost(pending=[old], failed=[retried])


def test_it_stores_deliveries_that_arrive_together_in_one_go_each_once(engine: Engine) -> None:
    deliveries.receive(engine, "test", "ev-0", "{}", NOW)
    incoming = [deliveries.Incoming("test", key, "{}") for key in ("ev-1", "ev-0", "ev-1", "ev-2")]
    answers = deliveries.receive_many(engine, incoming, NOW)
    assert [a.new for a in answers] == [True, False, False, True]
    assert len(deliveries.list_deliveries(engine)) == 3


def test_a_round_applies_the_oldest_pending_deliveries_together(engine: Engine) -> None:
    ids = [deliveries.receive(engine, "test", f"ev-{n}", "{}", NOW).id for n in range(3)]
    batches: list[list[str]] = []

    def record(session: Session, batch: Sequence[StoredDelivery]) -> dict[int, str]:
        batches.append([d.external_id for d in batch])
        return {}

    assert deliveries.apply_oldest(engine, {"test": record}, NOW) == deliveries.Round(True, 3)
    assert batches == [["ev-0", "ev-1", "ev-2"]]
    assert deliveries.apply_oldest(engine, {"test": record}, NOW) == deliveries.Round(False)
    assert [_state(engine, i)[0] for i in ids] == ["applied"] * 3  # type: ignore[arg-type]


def test_rounds_apply_around_a_bad_delivery_and_report_it_failed(engine: Engine) -> None:
    ids = [deliveries.receive(engine, "test", f"ev-{n}", "{}", NOW).id for n in range(3)]
    bad = deliveries.receive(engine, "test", "bad", "{}", NOW).id
    assert bad is not None

    def picky(session: Session, batch: Sequence[StoredDelivery]) -> dict[int, str]:
        if any(d.external_id == "bad" for d in batch):
            raise ValueError("cannot parse")
        return {}

    rounds = []
    while (round_ := deliveries.apply_oldest(engine, {"test": picky}, NOW)).found:
        rounds.append(round_)
    # The 4 fail together, and so on while halving (BATCH 200, 100, ... 6) until a batch of
    # 3 holds only the good ones; then the bad one, the oldest now, fails alone.
    assert [(r.taken, r.failed) for r in rounds] == [(3, None), (0, bad)]
    assert [_state(engine, i)[0] for i in ids] == ["applied"] * 3  # type: ignore[arg-type]
    assert _state(engine, bad)[:2] == ("failed", 1)
