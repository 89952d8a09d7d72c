"""What each Slack event does to the book (issue 15 §2), posted signed and applied by the
real queue's jobs."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from book import load
from integrations.conftest import Live
from keepwell.jobs.periodic import requeue_lost
from keepwell.services import slack
from keepwell.store.db import transaction
from keepwell.store.models import Delivery, Message, MessageEdit, Request, SlackChannel
from slackbook import ANA, CHANNEL, JOE, message

ASK, REPLY = "1712345678.000100", "1712346000.000200"


def _message(live: Live, ts: str, channel: str = CHANNEL) -> Message:
    with transaction(live.engine) as session:
        found = session.get(Message, f"slack:{channel}:{ts}")
        assert found is not None
        return found


def _request(live: Live, ts: str = ASK) -> Request:
    with transaction(live.engine) as session:
        found = session.get(Request, f"slack:{CHANNEL}:{ts}")
        assert found is not None
        return found


def test_it_takes_a_team_members_thread_reply_as_the_first_response(live: Live) -> None:
    live.post(message(ASK))
    live.post(message(REPLY, ANA, "On it", thread_ts=ASK))
    live.apply()
    reply = _message(live, REPLY)
    assert (reply.direction, reply.author_id, reply.thread_id) == (
        "outbound", "u-ana", f"slack:{CHANNEL}:{ASK}"
    )  # fmt: skip
    assert _request(live).first_response_id == f"slack:{CHANNEL}:{REPLY}"
    assert _message(live, ASK).author_id == "c-joe"


def test_it_takes_a_thread_broadcast_as_a_reply_in_its_thread(live: Live) -> None:
    live.post(message(ASK))
    live.post(message(REPLY, ANA, "Fixed", thread_ts=ASK, subtype="thread_broadcast"))
    live.apply()
    assert _request(live).first_response_id == f"slack:{CHANNEL}:{REPLY}"


def test_it_replaces_an_edited_text_and_keeps_the_edit(live: Live) -> None:
    live.post(message(ASK, text="The report is wrnog"))
    live.apply()
    edited = message(
        ASK, text="The report is wrong", edited={"user": JOE, "ts": "1712345700.000000"}
    )
    live.post({"type": "message", "subtype": "message_changed", "hidden": True, "channel": CHANNEL,
               "ts": "1712345700.000300", "event_ts": "1712345700.000300", "message": edited,
               "previous_message": message(ASK, text="The report is wrnog")})  # fmt: skip
    live.apply()
    assert _message(live, ASK).text == "The report is wrong"
    with transaction(live.engine) as session:
        edit = session.scalars(select(MessageEdit)).one()
    assert (edit.previous_text, edit.text) == ("The report is wrnog", "The report is wrong")


def test_it_keeps_a_deleted_reply_but_no_longer_counts_it_as_a_first_response(live: Live) -> None:
    live.post(message(ASK))
    live.post(message(REPLY, ANA, "On it", thread_ts=ASK))
    live.apply()
    assert _request(live).first_response_id is not None
    live.post({"type": "message", "subtype": "message_deleted", "hidden": True, "channel": CHANNEL,
               "ts": "1712346100.000000", "deleted_ts": REPLY, "event_ts": "1712346100.000000",
               "previous_message": message(REPLY, ANA, "On it", thread_ts=ASK)})  # fmt: skip
    live.apply()
    reply = _message(live, REPLY)
    assert (reply.deleted, reply.text) == (True, "On it")
    assert _request(live).first_response_id is None


def test_it_keeps_the_names_of_shared_files(live: Live) -> None:
    files = [{"id": "F1", "name": "export.csv"}, {"id": "F2", "name": "screenshot.png"}]
    live.post(message(ASK, text="See attached", subtype="file_share", files=files))
    live.apply()
    assert _message(live, ASK).text == "See attached\n[file: export.csv]\n[file: screenshot.png]"


def test_it_never_takes_a_bot_message_as_a_first_response(live: Live) -> None:
    live.post(message(ASK))
    live.post(
        message(
            REPLY, None, "Ticket #42 created", thread_ts=ASK, subtype="bot_message", bot_id="B0BOT"
        )
    )
    live.apply()
    assert _message(live, REPLY).automated is True
    assert _request(live).first_response_id is None


def test_it_ignores_joins_and_leaves(live: Live) -> None:
    live.post(message(ASK, JOE, "<@U0JOE> has joined the channel", subtype="channel_join"))
    live.post(message(REPLY, JOE, "<@U0JOE> has left the channel", subtype="channel_leave"))
    live.apply()
    assert live.count(Message) == 0
    assert live.count(Delivery, Delivery.state == "applied") == 2


def _reaction(user: str, ts: str = ASK, reaction: str = "white_check_mark") -> dict[str, object]:
    return {"type": "reaction_added", "user": user, "reaction": reaction, "item_user": JOE,
            "item": {"type": "message", "channel": CHANNEL, "ts": ts},
            "event_ts": "1712350000.000100"}  # fmt: skip


def test_it_resolves_a_request_when_a_team_member_checks_the_clients_message(live: Live) -> None:
    live.post(message(ASK))
    live.apply()
    live.post(_reaction(ANA))
    live.apply()
    request = _request(live)
    assert request.resolved_by == "u-ana"
    assert request.resolved_at == datetime(2024, 4, 5, 20, 46, 40, 100, tzinfo=UTC)


def test_it_does_not_resolve_on_a_clients_reaction_or_another_emoji(live: Live) -> None:
    live.post(message(ASK))
    live.apply()
    live.post(_reaction(JOE))
    live.post(_reaction(ANA, reaction="eyes"))
    live.apply()
    assert _request(live).resolved_at is None


def test_it_holds_events_of_an_unmapped_channel_until_it_is_mapped(live: Live) -> None:
    load(
        live.engine, {"type": "account", "id": "globex", "name": "Globex", "started": "2026-01-05"}
    )
    live.post({**message(ASK), "channel": "C0GLOBEX"})
    live.apply()
    assert live.count(Delivery, Delivery.state == "held") == 1
    channels, _ = slack.list_channels(live.engine)
    assert [(c.channel_id, c.account_id, c.held) for c in channels] == [
        ("C0ACME", "acme", 0), ("C0GLOBEX", None, 1)
    ]  # fmt: skip
    released = slack.map_channel(live.engine, "C0GLOBEX", "globex", datetime.now(UTC))
    for delivery_id in released:
        live.client.app.state.jobs.apply_delivery(delivery_id)  # type: ignore[attr-defined]
    live.apply()
    assert _message(live, ASK, "C0GLOBEX").account_id == "globex"
    assert live.count(Delivery, Delivery.state == "applied") == 1


def test_it_takes_an_unknown_person_as_the_client_and_lists_them(live: Live) -> None:
    live.post(message(ASK, "U0STRANGER", "Hello?"))
    live.apply()
    asked = _message(live, ASK)
    assert (asked.direction, asked.author_id) == ("inbound", None)
    assert live.count(Request) == 1
    _, people = slack.list_channels(live.engine)
    assert [(p.slack_user_id, p.channel_id) for p in people] == [("U0STRANGER", CHANNEL)]


def test_it_matches_an_export_reimported_later(live: Live) -> None:
    live.post(message(ASK))
    live.apply()
    summary = load(live.engine, {
        "type": "message", "id": f"slack:{CHANNEL}:{ASK}", "account": "acme",
        "thread": f"slack:{CHANNEL}:{ASK}", "at": "2024-04-05T19:34:38.000100Z",
        "author": "c-joe", "direction": "inbound", "channel": "slack",
        "text": "The report is wrong",
    })  # fmt: skip
    assert summary.types["message"].added == 0
    assert live.count(Message) == 1


def test_the_sweep_releases_a_delivery_held_after_its_channel_was_mapped(live: Live) -> None:
    load(
        live.engine, {"type": "account", "id": "globex", "name": "Globex", "started": "2026-01-05"}
    )
    live.post({**message(ASK), "channel": "C0GLOBEX"})
    live.apply()
    # As if the job had read no mapping while the mapping was being committed.
    with transaction(live.engine) as session:
        session.add(
            SlackChannel(channel_id="C0GLOBEX", account_id="globex", mapped_at=datetime.now(UTC))
        )
    assert requeue_lost(live.client.app.state.jobs) == 1  # type: ignore[attr-defined]
    live.apply()
    assert _message(live, ASK, "C0GLOBEX").account_id == "globex"


def _deletion(ts: str, **previous: object) -> dict[str, object]:
    return {"type": "message", "subtype": "message_deleted", "hidden": True, "channel": CHANNEL,
            "ts": "1712346100.000000", "deleted_ts": ts, "event_ts": "1712346100.000000",
            "previous_message": message(ts, **previous)}  # fmt: skip


def test_a_deletion_that_arrives_before_its_message_keeps_it_deleted(live: Live) -> None:
    live.post(_deletion(ASK))
    live.apply()
    live.post(message(ASK))  # Slack's delivery of the message itself, late
    live.apply()
    assert _message(live, ASK).deleted is True
    assert live.count(Request) == 0


def test_an_edit_that_arrives_before_its_message_stores_the_edited_text(live: Live) -> None:
    edited = message(ASK, text="The report is wrong (edited)")
    at = "1712345700.000300"
    live.post({"type": "message", "subtype": "message_changed", "hidden": True, "channel": CHANNEL,
               "ts": at, "event_ts": at, "message": edited})  # fmt: skip
    live.apply()
    live.post(message(ASK, text="The report is wrnog"))
    live.apply()
    assert _message(live, ASK).text == "The report is wrong (edited)"
