"""The Slack app Keepwell needs, as an app manifest (https://docs.slack.dev/reference/app-manifest):
paste it at https://api.slack.com/apps ("Create New App", "From a manifest"), install the app,
and give Keepwell its signing secret and bot token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

EVENTS_PATH = "/integrations/slack/events"
# What each is for: reading the shared channels' messages (public and private) and the
# resolve reaction; sending the alerts as DMs, and reading a DM back after a crash.
BOT_SCOPES = (
    "channels:history", "groups:history", "reactions:read", "chat:write", "im:history",
    "im:write",
)  # fmt: skip
BOT_EVENTS = ("message.channels", "message.groups", "reaction_added")


class BadBaseUrl(ValueError):
    """Not the https address Slack can reach Keepwell at."""


def manifest(base_url: str, name: str = "Keepwell") -> dict[str, Any]:
    """The manifest of an app named `name` whose events go to `base_url` (https, where
    `keepwell serve` answers, e.g. https://keepwell.example.com)."""
    parts = urlsplit(base_url.strip())
    if parts.scheme != "https" or not parts.netloc:
        raise BadBaseUrl(f"{base_url!r}: Slack sends events to an https address only")
    if parts.query or parts.fragment:
        raise BadBaseUrl(f"{base_url!r}: give the address without a query or fragment")
    root = f"https://{parts.netloc}{parts.path.rstrip('/')}"
    return {
        "display_information": {
            "name": name,
            "description": "Client conversations in, SLA alerts out (Keepwell).",
        },
        "features": {"bot_user": {"display_name": name, "always_online": False}},
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": {
                "request_url": root + EVENTS_PATH,
                "bot_events": list(BOT_EVENTS),
            },
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }
