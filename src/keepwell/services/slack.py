"""Slack channels to accounts (issue 15 §2): `keepwell slack map/unmap/list`.

Mapping a channel releases the deliveries held for it: the caller enqueues the ids returned.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, select, update

from keepwell.integrations.slack import SOURCE, parse
from keepwell.integrations.slack.verify import verify
from keepwell.services import deliveries
from keepwell.services.deliveries import HELD, release_held
from keepwell.store.db import transaction
from keepwell.store.models import Account, Contact, Delivery, SlackChannel, SlackUnknownUser, User
from keepwell.store.upsert import insert

log = logging.getLogger(__name__)


class UnknownAccount(Exception):
    """No account has this id."""


class UnknownChannel(Exception):
    """The channel is not mapped."""


def map_channel(engine: Engine, channel_id: str, account_id: str, now: datetime) -> list[int]:
    """Map a channel to an account (again, if it was mapped to another); return the held
    deliveries it released."""
    with transaction(engine, writes=True) as session:
        if session.get(Account, account_id) is None:
            raise UnknownAccount(f"no account {account_id!r}")
        statement = insert(session, SlackChannel.__table__).values(
            channel_id=channel_id, account_id=account_id, mapped_at=now
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["channel_id"], set_={"account_id": account_id, "mapped_at": now}
            )
        )
        return release_held(session, SOURCE, channel_id)


def release_mapped(engine: Engine) -> list[int]:
    """Held deliveries whose channel is mapped by now, made pending again. A job that read
    no mapping while `map_channel` was committing one may have held its delivery after the
    mapping released the others: the periodic sweep catches it."""
    with transaction(engine, writes=True) as session:
        mapped = select(SlackChannel.channel_id)
        rows = session.execute(
            update(Delivery)
            .where(Delivery.source == SOURCE, Delivery.state == HELD, Delivery.scope.in_(mapped))
            .values(state=deliveries.PENDING, attempts=0, error=None)
            .returning(Delivery.id)
        )
        return sorted(rows.scalars())


def unmap_channel(engine: Engine, channel_id: str) -> None:
    """Stop mapping a channel: its next events are held. What was applied stays."""
    with transaction(engine, writes=True) as session:
        removed = session.execute(
            delete(SlackChannel).where(SlackChannel.channel_id == channel_id)
        ).rowcount  # type: ignore[attr-defined]
    if not removed:
        raise UnknownChannel(f"channel {channel_id} is not mapped")


@dataclass(frozen=True)
class ChannelRow:
    channel_id: str
    account_id: str | None  # None: not mapped, events held
    held: int


@dataclass(frozen=True)
class UnknownPerson:
    slack_user_id: str
    channel_id: str
    last_seen: datetime


def list_channels(engine: Engine) -> tuple[list[ChannelRow], list[UnknownPerson]]:
    """Mapped channels and channels with held events; the Slack users nobody knows yet
    (neither a contact's nor a team member's `slack_user_id`)."""
    with transaction(engine) as session:
        held = dict(
            session.execute(
                select(Delivery.scope, func.count())
                .where(Delivery.source == SOURCE, Delivery.state == HELD)
                .group_by(Delivery.scope)
            ).all()
        )
        mapped = dict(
            session.execute(select(SlackChannel.channel_id, SlackChannel.account_id)).all()
        )
        known = select(Contact.slack_user_id).where(Contact.slack_user_id.is_not(None))
        members = select(User.slack_user_id).where(User.slack_user_id.is_not(None))
        unknown = session.execute(
            select(SlackUnknownUser.slack_user_id, SlackUnknownUser.channel_id,
                   SlackUnknownUser.last_seen)
            .where(SlackUnknownUser.slack_user_id.not_in(known),
                   SlackUnknownUser.slack_user_id.not_in(members))
            .order_by(SlackUnknownUser.last_seen.desc())
        ).all()  # fmt: skip
    channels = sorted(
        {*mapped, *(c for c in held if c)},
    )
    rows = [ChannelRow(c, mapped.get(c), held.get(c, 0)) for c in channels]
    return rows, [UnknownPerson(*row) for row in unknown]


class BadSignature(Exception):
    """The request is not signed by Slack with our secret (or too old, or from the future)."""


@dataclass(frozen=True)
class Answer:
    """What the events endpoint answers when there is nothing to store."""

    body: dict[str, str | bool]


KEPT: dict[str, str | bool] = {"ok": True, "kept": True}


def check_event(
    body: bytes, headers: Mapping[str, str], secret: str, now: datetime
) -> deliveries.Incoming | Answer:
    """A request to the Slack events endpoint, verified: the delivery to store (once per
    `event_id`, however often Slack retries it), or the answer when there is none:
    `url_verification` gets its challenge back, other events are logged and acknowledged.
    Raises `BadSignature`."""
    if not verify(body, headers, secret, now.timestamp()):
        raise BadSignature("invalid Slack signature")
    envelope = parse.envelope(body)
    if envelope.kind == "url_verification":
        return Answer({"challenge": envelope.challenge or ""})
    if (
        envelope.kind != "event_callback"
        or envelope.event_type not in parse.KNOWN_EVENT_TYPES
        or envelope.event_id is None
    ):
        log.info("Slack %s %s acknowledged, not kept", envelope.kind, envelope.event_type)
        return Answer({"ok": True, "kept": False})
    retry = headers.get("x-slack-retry-num")
    if retry:
        log.info("Slack event %s retried (%s)", envelope.event_id, retry)
    return deliveries.Incoming(SOURCE, envelope.event_id, body.decode(), envelope.channel)
