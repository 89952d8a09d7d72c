"""Two jobs applying a question and its answer at the same moment: the thread's request must
see both (on PostgreSQL, two transactions would each replay the thread without the other's
message; applying is serialized)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from book import lines, load
from keepwell.config import Settings
from keepwell.jobs.tasks import appliers
from keepwell.services import deliveries, slack
from keepwell.services.deliveries import StoredDelivery
from keepwell.services.importing import import_lines
from keepwell.store.db import transaction
from keepwell.store.models import Delivery, Request
from slackbook import ANA, CHANNEL, SLACK_BOOK, body_of, envelope, message

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
ASK, REPLY = "1712345678.000100", "1712346000.000200"


def test_a_question_and_its_answer_applied_at_once_make_an_answered_request(
    engine: Engine,
) -> None:
    load(engine, *SLACK_BOOK)
    slack.map_channel(engine, CHANNEL, "acme", NOW)
    events = (message(ASK), message(REPLY, ANA, "On it", thread_ts=ASK))
    ids = [
        deliveries.receive(engine, "slack", f"Ev{n}", body_of(envelope(e)).decode(), NOW).id
        for n, e in enumerate(events)
    ]
    with transaction(engine) as session:  # the answer is retried: never batched with the ask
        session.execute(update(Delivery).where(Delivery.id == ids[1]).values(state="failed"))
    apply_slack = appliers(Settings())["slack"]

    def slowly(session: Session, batch: Sequence[StoredDelivery]) -> dict[int, str]:
        held = apply_slack(session, batch)
        time.sleep(0.5)  # still uncommitted while the other job runs
        return held

    threads = [
        threading.Thread(target=deliveries.apply_delivery, args=(engine, i, {"slack": slowly}, NOW))
        for i in ids
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    with transaction(engine) as session:
        request = session.get_one(Request, f"slack:{CHANNEL}:{ASK}")
    assert request.first_response_id == f"slack:{CHANNEL}:{REPLY}"


def test_an_import_meanwhile_waits_for_the_delivery_being_applied(engine: Engine) -> None:
    """The answer comes by a JSON Lines import (or a page's write, which imports too) while a
    delivery with the question is being applied: the import's replay must see the question."""
    load(engine, *SLACK_BOOK)
    slack.map_channel(engine, CHANNEL, "acme", NOW)
    ask = deliveries.receive(engine, "slack", "Ev0", body_of(envelope(message(ASK))).decode(), NOW)
    apply_slack = appliers(Settings())["slack"]

    def slowly(session: Session, batch: Sequence[StoredDelivery]) -> dict[int, str]:
        held = apply_slack(session, batch)
        time.sleep(0.5)  # still uncommitted while the import runs
        return held

    applying = threading.Thread(
        target=deliveries.apply_delivery, args=(engine, ask.id, {"slack": slowly}, NOW)
    )
    applying.start()
    time.sleep(0.2)
    answer = {
        "type": "message", "id": f"slack:{CHANNEL}:{REPLY}", "account": "acme",
        "thread": f"slack:{CHANNEL}:{ASK}", "at": "2024-04-05T19:40:00Z",
        "direction": "outbound", "channel": "slack", "author": "u-ana", "text": "On it",
    }  # fmt: skip
    with transaction(engine, writes=True) as session:  # as `keepwell import` and the pages
        import_lines(session, lines(answer))
    applying.join()
    with transaction(engine) as session:
        request = session.get_one(Request, f"slack:{CHANNEL}:{ASK}")
    assert request.first_response_id == f"slack:{CHANNEL}:{REPLY}"
