"""POST /integrations/slack/events: really signed payloads, over HTTP (ASGI) to the app."""

from __future__ import annotations

import logging
import time

import pytest

from integrations.conftest import Live
from keepwell.store.models import Delivery, Message, Request
from slackbook import CHANNEL, body_of, envelope, message, signed


def test_it_applies_a_signed_message_once(live: Live) -> None:
    response = live.post(message("1712345678.000100"))
    assert response.status_code == 200
    assert live.apply() >= 1
    assert live.count(Message, Message.id == f"slack:{CHANNEL}:1712345678.000100") == 1
    assert live.count(Request) == 1
    assert live.count(Delivery, Delivery.state == "applied") == 1


def test_it_stores_a_repeated_delivery_once(live: Live) -> None:
    event = message("1712345678.000200")
    assert live.post(event, "Ev-SAME").status_code == 200
    live.apply()
    again = live.post(
        event, "Ev-SAME", **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert again.status_code == 200
    assert live.apply() == 0  # nothing new to do
    assert live.count(Delivery) == 1
    assert live.count(Message) == 1


def _post_raw(live: Live, body: bytes, headers: dict[str, str]) -> int:
    return live.client.post("/integrations/slack/events", content=body, headers=headers).status_code


def test_it_rejects_a_body_with_one_byte_changed(live: Live) -> None:
    body = body_of(envelope(message("1712345678.000300")))
    headers = signed(body)
    tampered = body.replace(b"The report", b"The rep0rt")
    assert _post_raw(live, tampered, headers) == 401
    assert live.count(Delivery) == 0


def test_it_rejects_a_stale_slack_signature(live: Live) -> None:
    body = body_of(envelope(message("1712345678.000400")))
    assert _post_raw(live, body, signed(body, timestamp=int(time.time()) - 6 * 60)) == 401
    assert live.count(Delivery) == 0


def test_it_rejects_a_signature_from_the_future(live: Live) -> None:
    body = body_of(envelope(message("1712345678.000500")))
    assert _post_raw(live, body, signed(body, timestamp=int(time.time()) + 6 * 60)) == 401


def test_it_accepts_a_signature_four_minutes_old(live: Live) -> None:
    body = body_of(envelope(message("1712345678.000550")))
    assert _post_raw(live, body, signed(body, timestamp=int(time.time()) - 4 * 60)) == 200


def test_it_rejects_a_request_without_signature(live: Live) -> None:
    body = body_of(envelope(message("1712345678.000600")))
    assert _post_raw(live, body, {"Content-Type": "application/json"}) == 401
    stamp_only = {"X-Slack-Request-Timestamp": str(int(time.time()))}
    assert _post_raw(live, body, stamp_only) == 401


def test_it_rejects_another_apps_signature(live: Live) -> None:
    body = body_of(envelope(message("1712345678.000650")))
    assert _post_raw(live, body, signed(body, secret="not-our-secret")) == 401


def test_it_answers_url_verification(live: Live) -> None:
    body = body_of(
        {
            "token": "t",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    response = live.client.post("/integrations/slack/events", content=body, headers=signed(body))
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_it_acknowledges_unknown_event_types_and_logs_them(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="keepwell.services.slack"):
        response = live.post({"type": "app_home_opened", "user": "U0JOE", "channel": "D0DM"})
    assert response.status_code == 200
    assert response.json()["kept"] is False
    assert "app_home_opened" in caplog.text
    assert live.count(Delivery) == 0


def test_it_answers_503_without_a_signing_secret(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keepwell.config import get_settings

    monkeypatch.delenv("KEEPWELL_SLACK_SIGNING_SECRET")
    get_settings.cache_clear()
    assert live.post(message("1712345678.000700")).status_code == 503
