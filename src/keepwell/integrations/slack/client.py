"""Slack's Web API, the one place that builds its client (alerts out use it)."""

from __future__ import annotations

from slack_sdk import WebClient


def web_client(token: str, base_url: str | None = None) -> WebClient:
    """A Web API client for the bot token; `base_url` points it at a local fake in tests."""
    if base_url is None:
        return WebClient(token=token)
    return WebClient(token=token, base_url=base_url)
