"""Slack Events API payloads, really signed (slack_sdk's own `generate_signature`), and a
small book whose people have Slack ids."""

from __future__ import annotations

import itertools
import time
from typing import Any

import orjson
from huey import Huey
from slack_sdk.signature import SignatureVerifier

from book import BASICS

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0ACME"
JOE, ANA, KYLE = "U0JOE", "U0ANA", "U0KYLE"

_ids = itertools.count(1)

SLACK_BOOK = [
    *(
        {**r, "slack_user_id": {"u-ana": ANA, "u-kyle": KYLE, "c-joe": JOE}[r["id"]]}
        if r.get("id") in ("u-ana", "u-kyle", "c-joe")
        else r
        for r in BASICS
    )
]


def envelope(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-token-unused",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "event": event,
    }


def message(
    ts: str, user: str | None = JOE, text: str = "The report is wrong", **extra: Any
) -> dict[str, Any]:
    event = {"type": "message", "channel": CHANNEL, "channel_type": "channel", "ts": ts,
             "text": text, **extra}  # fmt: skip
    if user:
        event["user"] = user
    return event


def signed(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends, the signature computed by slack_sdk itself."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/json",
    }


def body_of(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload)


def drain(huey: Huey) -> int:
    """Run every job in the queue (and the retries they schedule now) in this thread: the
    real queue and tasks, without the consumer's threads, so a test knows when it is done."""
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran
