"""The IMAP side of polling, the only module that imports imapclient.

A mailbox is read by UID: UIDs only grow while the mailbox's UIDVALIDITY stays the same
(RFC 3501 2.3.1.1), so the last UID read is where the next poll starts. Messages are fetched
with BODY.PEEK[]: polling leaves the shared inbox's \\Seen flags as the team set them.
"""

from __future__ import annotations

import imaplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient

FETCH_BATCH = 100


class MailboxUnavailable(Exception):
    """The server cannot be reached, refused the login or has no such mailbox. The message
    names the mailbox without its password."""


class ImapUrlError(ValueError):
    """KEEPWELL_IMAP_URL is not imap://user:pass@host[:port]/MAILBOX (or imaps://)."""


@dataclass(frozen=True)
class ImapTarget:
    host: str
    port: int
    ssl: bool
    username: str
    password: str
    mailbox: str

    @property
    def key(self) -> str:
        """The mailbox's name in the database and the log: the URL without the password."""
        scheme = "imaps" if self.ssl else "imap"
        return f"{scheme}://{self.username}@{self.host}:{self.port}/{self.mailbox}"


def parse_imap_url(url: str) -> ImapTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ImapUrlError("KEEPWELL_IMAP_URL: expected imaps://user:password@host/MAILBOX")
    ssl = parts.scheme == "imaps"
    return ImapTarget(
        host=parts.hostname,
        port=parts.port or (993 if ssl else 143),
        ssl=ssl,
        username=unquote(parts.username),
        password=unquote(parts.password or ""),
        mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
    )


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes
    internal_date: datetime | None


class OpenMailbox:
    def __init__(self, client: IMAPClient, uidvalidity: int) -> None:
        self._client = client
        self.uidvalidity = uidvalidity

    def new_uids(self, after: int) -> list[int]:
        # "N:*" always includes the last message, even when its UID is below N.
        uids = self._client.search(["UID", f"{after + 1}:*"])
        return sorted(uid for uid in uids if uid > after)

    def fetch(self, uids: list[int]) -> Iterator[list[Fetched]]:
        """The messages, FETCH_BATCH at a time, in UID order."""
        for start in range(0, len(uids), FETCH_BATCH):
            chunk = uids[start : start + FETCH_BATCH]
            response = self._client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE"])
            yield [_fetched(uid, response[uid]) for uid in chunk if uid in response]


def _fetched(uid: int, data: dict[bytes, object]) -> Fetched:
    raw = data.get(b"BODY[]")
    date = data.get(b"INTERNALDATE")
    internal = date.astimezone(UTC) if isinstance(date, datetime) and date.tzinfo else None
    return Fetched(uid, raw if isinstance(raw, bytes) else b"", internal)


@contextmanager
def open_mailbox(target: ImapTarget, timeout: float = 30.0) -> Iterator[OpenMailbox]:
    try:
        client = IMAPClient(target.host, port=target.port, ssl=target.ssl, timeout=timeout)
    except OSError as exc:
        raise MailboxUnavailable(f"{target.key}: {exc}") from exc
    try:
        try:
            client.login(target.username, target.password)
            selected = client.select_folder(target.mailbox, readonly=True)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxUnavailable(f"{target.key}: {_said(exc)}") from exc
        yield OpenMailbox(client, int(selected[b"UIDVALIDITY"]))
    finally:
        try:
            client.logout()
        except Exception:  # the connection is going away either way
            client.shutdown()


def _said(exc: Exception) -> str:
    text = str(exc)
    return text.removeprefix("b'").removeprefix('b"').rstrip("'\"") or type(exc).__name__
