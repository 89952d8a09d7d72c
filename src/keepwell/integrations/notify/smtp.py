"""Alerts by email through SMTP (smtplib), from KEEPWELL_SMTP_URL.

smtp://[user:password@]host[:port] (STARTTLS when the server offers it) or smtps://... (TLS
from the start). Every attempt at one alert carries the same Message-ID.

Exactly once across a crash: a server delivers a message only when DATA ends with its line
holding a single ".". We send everything before that line, then `commit` (the alert is
recorded sent), then the ".". A worker killed before the commit leaves nothing delivered,
so its stale claim is safely sent again (`delivered` answers False); killed after it, the
connection drops without the "." and the server discards the message, which is lost only
when the kill falls in the microseconds between the commit and writing the ".".
"""

from __future__ import annotations

import email.policy
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import unquote, urlsplit

from keepwell.integrations.notify import Commit, Outgoing, SendFailed


class SmtpUrlError(ValueError):
    pass


class SmtpSender:
    def __init__(self, url: str, from_address: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SmtpUrlError("KEEPWELL_SMTP_URL: expected smtp://[user:pass@]host[:port]")
        self._tls = parts.scheme == "smtps"
        self._host = parts.hostname
        self._port = parts.port or (465 if self._tls else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password or "")
        self._from = from_address
        self._timeout = timeout

    def send(self, outgoing: Outgoing, commit: Commit) -> None:
        message = EmailMessage()
        message["From"] = self._from
        message["To"] = outgoing.address
        message["Subject"] = outgoing.subject
        message["Message-ID"] = outgoing.message_id
        message["Date"] = format_datetime(outgoing.since)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply to an alert
        message.set_content(outgoing.text)
        try:
            with self._connect() as client:
                _deliver(client, self._from, outgoing.address, message, commit)
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = next(iter(exc.recipients.values()))
            raise _failure(code, answer) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise SendFailed(f"SMTP login refused: {exc.smtp_code}", permanent=True,
                             whole_channel=True) from exc  # fmt: skip
        except smtplib.SMTPResponseException as exc:
            raise _failure(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:  # unreachable, disconnected
            raise SendFailed(f"SMTP: {exc}", permanent=False) from exc

    def delivered(self, outgoing: Outgoing) -> bool | None:
        # A claim left in `sending` died before `commit`, so before the final ".".
        return False

    def _connect(self) -> smtplib.SMTP:
        if self._tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if self._user:
            client.login(self._user, self._password)
        return client


def _deliver(
    client: smtplib.SMTP, sender: str, address: str, message: EmailMessage, commit: Commit
) -> None:
    """smtplib's `sendmail`, with `commit` between the message and the "." ending it."""
    code, answer = client.mail(sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, answer, sender)
    code, answer = client.rcpt(address)
    if code not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({address: (code, answer)})
    client.putcmd("data")
    code, answer = client.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, answer)
    text = message.as_bytes(policy=email.policy.SMTP)  # CRLF line ends
    text = re.sub(rb"(?m)^\.", b"..", text)  # a line starting with "." gets another
    client.send(text if text.endswith(b"\r\n") else text + b"\r\n")
    commit()
    client.send(b".\r\n")
    code, answer = client.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, answer)


def _failure(code: int, answer: bytes | str) -> SendFailed:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
    # A 5xx answer is permanent for this address (RFC 5321 4.2.1); a 4xx is worth a retry.
    return SendFailed(f"SMTP {code} {text}", permanent=500 <= code < 600)
