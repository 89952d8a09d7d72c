"""Slack request signatures (https://api.slack.com/authentication/verifying-requests-from-slack),
checked with slack_sdk's own verifier: within 5 minutes either way of `now`."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.signature import Clock, SignatureVerifier


class _At(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: float) -> bool:
    """Whether `body` carries a valid Slack signature for `secret`, at `now` (Unix time).
    Missing headers, a tampered body, a stale or future timestamp: False."""
    verifier = SignatureVerifier(secret, clock=_At(now))
    try:
        return verifier.is_valid(
            body,
            headers.get("x-slack-request-timestamp"),
            headers.get("x-slack-signature"),
        )
    except ValueError:  # a timestamp that is not a number
        return False


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The headers Slack would send with `body` (for tests and the bench)."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature or "",
    }
