"""Alerts out: one sender per channel, the same shape each: SMTP email and the log here, the
Slack DM in `integrations/slack/client.py` (each vendor SDK only in its own folder).

`send` delivers or raises `SendFailed`, saying whether the failure is permanent (retrying
cannot help: the destination is disabled) and whether it is the whole channel's (a revoked
token) or one address's. A channel whose protocol has a last step that makes the send
irrevocable (SMTP's final "." of DATA) calls `commit` just before it, so the send is
recorded before it can have happened; the others leave `commit` to their caller. `delivered`
answers, after a worker died mid-send, whether the alert reached its destination: True,
False, or None when the channel cannot tell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

Commit = Callable[[], None]


@dataclass(frozen=True)
class Outgoing:
    alert_id: int
    channel: str  # slack, email, log
    address: str  # a Slack user id, an email address, a user id for the log
    subject: str
    text: str
    since: datetime  # when the send was first claimed: where to look for it afterwards

    @property
    def message_id(self) -> str:
        """The same on every attempt, so a resent email is recognisably the same one."""
        return f"<keepwell-alert-{self.alert_id}@keepwell>"


class SendFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool, whole_channel: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.whole_channel = whole_channel


class Sender(Protocol):
    def send(self, outgoing: Outgoing, commit: Commit) -> None: ...

    def delivered(self, outgoing: Outgoing) -> bool | None: ...
