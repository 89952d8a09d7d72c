"""Slack events into the import's records, applied through the JSON Lines import (issue 15
§2), so that requests and SLA clocks follow as they do for an imported file.

- Channels map to accounts (`keepwell slack map`); an event in a channel not mapped is held
  and applied when the channel is mapped.
- Slack users are team members and contacts by their `slack_user_id`: a team member's
  message is outbound, a contact's inbound, an unknown person's inbound (and listed for
  mapping). Bot and app messages are automated (never a first response).
- An edit replaces the text and keeps the one it replaced (`message_edits`); a deletion marks
  the message deleted and keeps it; a message already stored is not written again.
- The resolve reaction by a team member on a client's message resolves its thread's request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from keepwell.domain.sla import SlaTargets
from keepwell.integrations.slack.parse import (
    Deleted,
    Edited,
    Posted,
    Reacted,
    SlackEvent,
    instant,
    parse,
)
from keepwell.services.deliveries import StoredDelivery
from keepwell.services.importing import import_lines
from keepwell.store.models import (
    Contact,
    Message,
    MessageEdit,
    SlackChannel,
    SlackUnknownUser,
    User,
)
from keepwell.store.upsert import insert


def message_id(channel: str, ts: str) -> str:
    """The import id of a Slack message: channel and `ts` (so an export re-imported matches)."""
    return f"slack:{channel}:{ts}"


@dataclass
class _Line:
    """A message line of the import, as a dict, with what the rules below need to read."""

    values: dict[str, Any]

    @property
    def inbound(self) -> bool:
        return bool(self.values["direction"] == "inbound")


@dataclass
class _Batch:
    accounts: dict[str, str]  # channel -> account
    users: dict[str, str]  # slack user -> team member id
    contacts: dict[str, str]  # slack user -> contact id
    stored: dict[str, _Line]  # message id -> the stored message, as a line
    messages: dict[str, _Line] = field(default_factory=dict)  # what this batch writes
    resolves: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    unknown: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def current(self, mid: str) -> _Line | None:
        return self.messages.get(mid) or self.stored.get(mid)


def apply(
    session: Session,
    deliveries: Sequence[StoredDelivery],
    *,
    resolve_emoji: str = "white_check_mark",
    targets: SlaTargets | None = None,
) -> dict[int, str]:
    """Apply Slack deliveries in the session's transaction; return those held (delivery id
    -> the channel not mapped)."""
    events = {d.id: parse(d.body) for d in deliveries}
    batch = _load(session, [e for evs in events.values() for e in evs])
    held: dict[int, str] = {}
    for delivery in deliveries:
        unmapped = {_channel(e) for e in events[delivery.id]} - batch.accounts.keys()
        if unmapped:
            held[delivery.id] = sorted(unmapped)[0]
            continue
        for event in events[delivery.id]:
            _take(batch, event, resolve_emoji)
    lines = [line.values for line in batch.messages.values()] + batch.resolves
    if lines:
        import_lines(session, (orjson.dumps(line) for line in lines), targets=targets)
    _write_edits(session, batch.edits)
    _write_unknown(session, batch.unknown)
    return held


def _channel(event: SlackEvent) -> str:
    return event.message.channel if isinstance(event, Edited | Deleted) else event.channel


def _load(session: Session, events: list[SlackEvent]) -> _Batch:
    channels = {_channel(e) for e in events}
    people = {p for e in events for p in _people(e)}
    referred = {_referred(e) for e in events if not isinstance(e, Posted)}
    posted = {message_id(e.channel, e.ts) for e in events if isinstance(e, Posted)}
    return _Batch(
        accounts=dict(_pairs(session, SlackChannel.channel_id, SlackChannel.account_id, channels)),
        users=dict(_pairs(session, User.slack_user_id, User.id, people)),
        contacts=dict(_pairs(session, Contact.slack_user_id, Contact.id, people)),
        stored=_stored_messages(session, referred | posted),
    )


def _people(event: SlackEvent) -> list[str]:
    user = event.user if isinstance(event, Posted | Reacted) else event.message.user
    return [user] if user else []


def _referred(event: SlackEvent) -> str:
    if isinstance(event, Reacted):
        return message_id(event.channel, event.ts)
    assert isinstance(event, Edited | Deleted)
    return message_id(event.message.channel, event.message.ts)


def _pairs(session: Session, key: Any, value: Any, wanted: Iterable[str]) -> list[Any]:
    wanted = list(wanted)
    if not wanted:
        return []
    return list(session.execute(select(key, value).where(key.in_(wanted))))


_STORED_COLUMNS = (
    "id", "account_id", "thread_id", "at", "author_id", "direction", "channel",
    "automated", "text", "deleted",
)  # fmt: skip
_LINE_KEYS = (
    "id", "account", "thread", "at", "author", "direction", "channel",
    "automated", "text", "deleted",
)  # fmt: skip


def _stored_messages(session: Session, ids: set[str]) -> dict[str, _Line]:
    if not ids:
        return {}
    columns = [getattr(Message, name) for name in _STORED_COLUMNS]
    rows = session.execute(select(*columns).where(Message.id.in_(ids))).all()
    lines = {}
    for row in rows:
        values = {"type": "message", **dict(zip(_LINE_KEYS, row, strict=True))}
        values["at"] = values["at"].isoformat()
        lines[row.id] = _Line({k: v for k, v in values.items() if v is not None})
    return lines


def _take(batch: _Batch, event: SlackEvent, resolve_emoji: str) -> None:
    if isinstance(event, Posted):
        mid = message_id(event.channel, event.ts)
        if batch.current(mid) is None:  # a message already stored stays as it is
            batch.messages[mid] = _new_line(batch, event)
    elif isinstance(event, Edited):
        _edit(batch, event)
    elif isinstance(event, Deleted):
        mid = message_id(event.message.channel, event.message.ts)
        line = batch.current(mid) or _new_line(batch, event.message)
        batch.messages[mid] = _Line({**line.values, "deleted": True})
    elif event.reaction == resolve_emoji:
        _resolve(batch, event)


def _new_line(batch: _Batch, message: Posted) -> _Line:
    values: dict[str, Any] = {
        "type": "message",
        "id": message_id(message.channel, message.ts),
        "account": batch.accounts[message.channel],
        "thread": message_id(message.channel, message.thread_ts),
        "at": instant(message.ts).isoformat(),
        "channel": "slack",
        "text": message.text,
    }
    user = message.user
    if message.bot:
        values.update(direction="outbound", automated=True)
    elif user in batch.users:
        values.update(direction="outbound", author=batch.users[user])
    elif user in batch.contacts:
        values.update(direction="inbound", author=batch.contacts[user])
    else:  # someone nobody knows, in an account's channel: a client, listed for mapping
        values.update(direction="inbound")
        if user:
            batch.unknown[user] = (message.channel, instant(message.ts))
    return _Line(values)


def _edit(batch: _Batch, event: Edited) -> None:
    mid = message_id(event.message.channel, event.message.ts)
    line = batch.current(mid)
    if line is None:  # the edit came first (deliveries may arrive in any order)
        batch.messages[mid] = _new_line(batch, event.message)
        return
    previous = line.values.get("text")
    if previous == event.message.text:
        return
    batch.edits.append(
        {"message_id": mid, "edited_at": event.at, "previous_text": previous,
         "text": event.message.text}
    )  # fmt: skip
    batch.messages[mid] = replace(line, values={**line.values, "text": event.message.text})


def _resolve(batch: _Batch, event: Reacted) -> None:
    """A team member's resolve reaction on a client's message resolves its request."""
    target = batch.current(message_id(event.channel, event.ts))
    if event.user not in batch.users or target is None or not target.inbound:
        return
    batch.resolves.append(
        {
            "type": "resolve",
            "thread": target.values["thread"],
            "at": event.at.isoformat(),
            "by": batch.users[event.user],
            "note": f"resolved in Slack (:{event.reaction}:)",
        }
    )


def _write_edits(session: Session, edits: list[dict[str, Any]]) -> None:
    if edits:
        table = MessageEdit.__table__
        session.execute(insert(session, table).on_conflict_do_nothing(), edits)


def _write_unknown(session: Session, unknown: dict[str, tuple[str, datetime]]) -> None:
    if not unknown:
        return
    rows = [
        {"slack_user_id": user, "channel_id": channel, "last_seen": seen}
        for user, (channel, seen) in unknown.items()
    ]
    statement = insert(session, SlackUnknownUser.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["slack_user_id"],
        set_={
            "channel_id": statement.excluded.channel_id,
            "last_seen": statement.excluded.last_seen,
        },
    )
    session.execute(statement, rows)
