"""Slack Events API payloads into plain events (issue 15 §2). No database, no SDK.

Envelopes: `url_verification` (answered with its challenge) and `event_callback` (one event,
identified by `event_id`: Slack's retries repeat it). Events kept: messages (thread replies,
thread broadcasts and file shares among them), edits, deletions, bot and app messages, and
reactions; joins, leaves and the other subtypes are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

# Message subtypes that are a person's (or a bot's) message in the channel.
POSTED_SUBTYPES = {None, "thread_broadcast", "file_share", "bot_message", "me_message"}
KNOWN_EVENT_TYPES = {"message", "reaction_added"}


class NotSlack(ValueError):
    """The body is not a Slack Events API envelope."""


@dataclass(frozen=True)
class Envelope:
    kind: str  # url_verification | event_callback | another of Slack's
    event_id: str | None
    event_type: str | None
    channel: str | None  # the channel the event is in: what maps it to an account
    challenge: str | None


@dataclass(frozen=True)
class Posted:
    """A message as it stands: new, or the new state of an edited or deleted one."""

    channel: str
    ts: str
    thread_ts: str
    user: str | None
    bot: bool
    text: str


@dataclass(frozen=True)
class Edited:
    message: Posted
    at: datetime


@dataclass(frozen=True)
class Deleted:
    message: Posted
    at: datetime


@dataclass(frozen=True)
class Reacted:
    channel: str
    ts: str  # the message reacted to
    user: str
    reaction: str
    at: datetime


SlackEvent = Posted | Edited | Deleted | Reacted


def envelope(body: bytes | str) -> Envelope:
    """What a delivery is, read without going through its event."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NotSlack(f"not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise NotSlack("no envelope type")
    event: dict[str, Any] = data["event"] if isinstance(data.get("event"), dict) else {}
    item: dict[str, Any] = event["item"] if isinstance(event.get("item"), dict) else {}
    return Envelope(
        kind=data["type"],
        event_id=_text(data.get("event_id")),
        event_type=_text(event.get("type")),
        channel=_text(event.get("channel") or item.get("channel")),
        challenge=_text(data.get("challenge")),
    )


def parse(body: bytes | str) -> list[SlackEvent]:
    """The events of an `event_callback` body that Keepwell keeps (none for the ignored)."""
    event = orjson.loads(body).get("event") or {}
    kind = event.get("type")
    if kind == "reaction_added":
        return _reaction(event)
    if kind != "message":
        return []
    subtype = event.get("subtype")
    channel = event.get("channel", "")
    if subtype in POSTED_SUBTYPES:
        return [_posted(channel, event)]
    if subtype == "message_changed" and isinstance(event.get("message"), dict):
        return [Edited(_posted(channel, event["message"]), instant(event.get("event_ts")))]
    if subtype == "message_deleted":
        previous = event.get("previous_message") or {"ts": event.get("deleted_ts")}
        return [Deleted(_posted(channel, previous), instant(event.get("event_ts")))]
    return []  # channel_join, channel_leave, topics, ...


def _posted(channel: str, message: dict[str, Any]) -> Posted:
    ts = str(message["ts"])
    text = message.get("text") or ""
    names = [f.get("name") or f.get("title") for f in message.get("files") or []]
    files = [name for name in names if name]
    if files:  # file names are kept with the text: "[file: report.pdf]"
        text = "\n".join([text, *(f"[file: {name}]" for name in files)]).strip()
    bot = bool(message.get("bot_id")) or message.get("subtype") == "bot_message"
    return Posted(
        channel=channel,
        ts=ts,
        thread_ts=str(message.get("thread_ts") or ts),
        user=_text(message.get("user")),
        bot=bot,
        text=text,
    )


def _reaction(event: dict[str, Any]) -> list[SlackEvent]:
    item = event.get("item") or {}
    if item.get("type") != "message" or not event.get("user"):
        return []
    return [
        Reacted(
            channel=item["channel"],
            ts=str(item["ts"]),
            user=event["user"],
            reaction=event.get("reaction", ""),
            at=instant(event.get("event_ts")),
        )
    ]


def instant(ts: Any) -> datetime:
    """A Slack `ts` ("1712345678.000100": seconds and microseconds) as an exact UTC instant."""
    seconds, _, fraction = str(ts).partition(".")
    micros = int((fraction + "000000")[:6])
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(seconds), microseconds=micros)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
