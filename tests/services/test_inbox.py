from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from book import BASICS, load, message, resolve
from keepwell.services.inbox import FIRST_RESPONSE, RESOLUTION, UnknownUser, inbox
from keepwell.store.db import transaction

MONDAY_1000_NY = datetime(2026, 10, 5, 14, 0, tzinfo=UTC)


def items(engine: Engine, csm: str = "u-ana", now: datetime = MONDAY_1000_NY) -> list:
    with transaction(engine) as session:
        return inbox(session, csm, now)


def test_it_orders_by_business_time_left_breached_first(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        message("m-1", "t-1", "2026-10-05T13:50:00Z"),  # 09:50: due 10:50, 50 min left
        message("m-2", "t-2", "2026-10-02T20:00:00Z"),  # Fri 16:00: due Mon 09:00, 1 h over
        message("m-3", "t-3", "2026-10-05T13:10:00Z", text="<b>help</b>"),  # due 10:10
        message("m-4", "t-4", "2026-10-05T13:00:00Z"),
        message("m-5", "t-4", "2026-10-05T13:05:00Z", "outbound"),  # answered: resolution
        message("m-6", "t-5", "2026-10-05T12:00:00Z"),
        resolve("t-5", "2026-10-05T13:30:00Z"),  # resolved: not in the inbox
    )
    found = items(engine)
    assert [i.request_id for i in found] == ["m-2", "m-3", "m-1", "m-4"]
    assert [i.time_left for i in found[:3]] == ["1 h overdue", "10 min left", "50 min left"]
    assert found[1].last_client_message == "<b>help</b>"
    assert (found[0].waiting_for, found[3].waiting_for) == (FIRST_RESPONSE, RESOLUTION)
    assert found[3].seconds_left == 7 * 3600  # 1 bd from 09:00 is 17:00; it is 10:00


def test_it_shows_only_the_accounts_the_csm_owns_now(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        message("m-1", "t-1", "2026-10-05T13:50:00Z"),
        {"type": "assign", "account": "acme", "owner": "u-kyle", "at": "2026-10-05T13:55:00Z"},
    )
    assert items(engine, "u-ana") == []
    assert [i.request_id for i in items(engine, "u-kyle")] == ["m-1"]


def test_it_names_an_unknown_csm(engine: Engine) -> None:
    with pytest.raises(UnknownUser, match="u-nobody"):
        items(engine, "u-nobody")


def test_it_leaves_out_requests_opened_after_the_moment(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        message("m-1", "t-1", "2026-10-05T13:50:00Z"),
        message("m-2", "t-2", "2026-10-05T14:30:00Z"),  # opened after 14:00
    )
    assert [i.request_id for i in items(engine)] == ["m-1"]


def test_it_shows_a_request_answered_later_as_awaiting_its_first_response(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        message("m-1", "t-1", "2026-10-05T13:50:00Z"),  # due 10:50 New York
        message("m-2", "t-1", "2026-10-05T15:00:00Z", "outbound"),  # answered after 14:00
    )
    (item,) = items(engine)
    assert (item.waiting_for, item.time_left) == (FIRST_RESPONSE, "50 min left")
    assert item.due == datetime(2026, 10, 5, 14, 50, tzinfo=UTC)


def test_it_keeps_a_request_resolved_later_open_at_the_moment(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        message("m-1", "t-1", "2026-10-05T13:00:00Z"),
        message("m-2", "t-1", "2026-10-05T13:10:00Z", "outbound"),
        resolve("t-1", "2026-10-05T16:00:00Z"),
    )
    (item,) = items(engine)
    assert (item.request_id, item.waiting_for) == ("m-1", RESOLUTION)


def test_it_shows_the_last_client_message_sent_by_the_moment(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        message("m-1", "t-1", "2026-10-05T13:00:00Z"),
        message("m-2", "t-1", "2026-10-05T13:40:00Z"),
        message("m-3", "t-1", "2026-10-05T15:00:00Z"),  # after 14:00
    )
    (item,) = items(engine)
    assert item.last_client_message == "message m-2"
    assert item.last_client_message_at == datetime(2026, 10, 5, 13, 40, tzinfo=UTC)
