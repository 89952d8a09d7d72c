"""Slack's Web API, the one file that imports slack_sdk's WebClient: alerts as Slack DMs
from the Keepwell app, with KEEPWELL_SLACK_BOT_TOKEN; KEEPWELL_SLACK_API_URL points it
elsewhere (a fake in tests). (Incoming events are checked by `verify.py`, with slack_sdk's
SignatureVerifier.)

Every DM carries the alert's id in its message metadata, so that after a worker died between
posting and recording, the DM's history tells whether the alert went out (`delivered`).
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from keepwell.integrations.notify import Commit, Outgoing, SendFailed

EVENT_TYPE = "keepwell_alert"
# Slack's answers that no retry can change: the user cannot be written to...
_ADDRESS_GONE = {
    "channel_not_found",
    "user_not_found",
    "user_disabled",
    "is_archived",
    "cannot_dm_bot",
    "not_in_channel",
}
# ...or the app itself cannot post anywhere until an admin acts.
_APP_BROKEN = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "missing_scope",
    "not_allowed_token_type",
}


class SlackSender:
    def __init__(self, token: str, base_url: str | None = None, timeout: int = 30) -> None:
        self._client = web_client(token, base_url, timeout)

    def send(self, outgoing: Outgoing, commit: Commit) -> None:
        # One HTTP call, irrevocable once sent: `commit` is left to the caller, and a claim a
        # crash left behind is settled by `delivered`.
        try:
            self._client.chat_postMessage(
                channel=outgoing.address,  # a user id: the app's DM with them
                text=outgoing.text,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"alert": outgoing.alert_id}},
            )
        except SlackApiError as exc:
            raise _failure(exc) from exc
        except OSError as exc:  # no connection, a timeout
            raise SendFailed(f"Slack: {exc}", permanent=False) from exc

    def delivered(self, outgoing: Outgoing) -> bool | None:
        """Whether the DM since the claim holds a message with this alert's id."""
        try:
            opened = self._client.conversations_open(users=outgoing.address)
            history = self._client.conversations_history(
                channel=opened["channel"]["id"],
                oldest=f"{outgoing.since.timestamp():.6f}",
                include_all_metadata=True,
                limit=200,
            )
        except (SlackApiError, OSError):
            return None
        messages: list[dict[str, Any]] = history.get("messages", [])
        return any(_carries(message, outgoing.alert_id) for message in messages)


def _carries(message: dict[str, Any], alert_id: int) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return bool(metadata.get("event_type") == EVENT_TYPE and payload.get("alert") == alert_id)


def _failure(exc: SlackApiError) -> SendFailed:
    error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
    if error in _APP_BROKEN:
        return SendFailed(f"Slack: {error}", permanent=True, whole_channel=True)
    return SendFailed(f"Slack: {error}", permanent=error in _ADDRESS_GONE)


def web_client(token: str, base_url: str | None = None, timeout: int = 30) -> WebClient:
    """A Web API client for the bot token; `base_url` points it at a local fake in tests."""
    url = base_url.rstrip("/") + "/" if base_url else WebClient.BASE_URL
    return WebClient(token=token, timeout=timeout, base_url=url)
