"""One email message, read into what the import needs: ids, addresses, time, plain text.

The text used for metrics is the client's own words: HTML becomes plain text through nh3
(every tag stripped, so a `<script>` arrives as text, never as markup), and the quoted
earlier messages and the signature are cut. The raw message is kept elsewhere, whole.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parsedate_to_datetime

import nh3

# The message's id in Keepwell: email:<Message-ID>, the angle brackets kept (PRODUCT.md 2:
# the email Message-ID is the external id). Ids are at most 200 characters.
PREFIX = "email:"
_MAX_ID = 200


@dataclass(frozen=True)
class ParsedMail:
    id: str  # email:<message-id>
    thread_id: str  # email:<message-id of the thread's root>
    replies_to: tuple[str, ...]  # the ids (email:<...>) of In-Reply-To and References
    sender: str | None  # lowercased address
    recipients: tuple[str, ...]  # To and Cc, lowercased
    at: datetime | None  # the Date header, UTC; None when missing or unreadable
    subject: str | None
    text: str  # plain, without quotes and signature
    automated: bool


def parse_mail(raw: bytes) -> ParsedMail:
    """Read one RFC 5322 message (bytes as received)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    own = _message_ids(_header(message, "Message-ID"))
    mail_id = _mail_id(own[0]) if own else _mail_id(f"<{hashlib.sha256(raw).hexdigest()}@raw>")
    references = _message_ids(_header(message, "References"))
    in_reply_to = _message_ids(_header(message, "In-Reply-To"))
    # The thread is named after its root: the first of References, else the message replied
    # to, else the message itself, so replies find one thread in whatever order they arrive.
    root = (references or in_reply_to or [""])[0]
    replies_to = tuple(dict.fromkeys(_mail_id(i) for i in [*in_reply_to, *references]))
    return ParsedMail(
        id=mail_id,
        thread_id=_mail_id(root) if root else mail_id,
        replies_to=replies_to,
        sender=_first_address(message, "From"),
        recipients=tuple(_addresses(message, "To", "Cc")),
        at=_date(_header(message, "Date")),
        subject=_header(message, "Subject") or None,
        text=metric_text(_body_text(message)),
        automated=is_automated(message),
    )


def mail_id_of(raw: bytes) -> str:
    """The id `parse_mail` gives the message, from its headers alone (a tenth of the cost of
    a whole parse): a mailbox imported again skips the mail it holds already."""
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    own = _message_ids(str(headers.get("Message-ID", "")).strip())
    return _mail_id(own[0]) if own else _mail_id(f"<{hashlib.sha256(raw).hexdigest()}@raw>")


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError):  # a header the parser cannot make sense of
        value = message.get_all(name, failobj=[None])[0]
    return str(value).strip() if value is not None else ""


_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def _message_ids(value: str) -> list[str]:
    found = _MESSAGE_ID.findall(value)
    if not found and value.strip() and " " not in value.strip():
        found = [f"<{value.strip()}>"]  # an id without its brackets
    return found


def _mail_id(message_id: str) -> str:
    value = PREFIX + message_id
    if len(value) <= _MAX_ID:
        return value
    digest = hashlib.sha256(message_id.encode()).hexdigest()
    return f"{PREFIX}<{digest}@long-id>"


def _addresses(message: EmailMessage, *names: str) -> list[str]:
    values = [_header(message, name) for name in names]
    pairs = getaddresses([v for v in values if v])
    return [address.lower() for _, address in pairs if "@" in address]


def _first_address(message: EmailMessage, name: str) -> str | None:
    found = _addresses(message, name)
    return found[0] if found else None


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # RFC 5322's "-0000": the time is UTC, the zone unknown
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: the bytes, read leniently
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_type() == "text/html" else content


_BLOCK_END = re.compile(r"(?i)<\s*(br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>")
# Elements whose content is not the text this person wrote: dropped with their content
# (mail clients quote the earlier messages of a reply in a <blockquote>).
_NOT_TEXT = {"script", "style", "head", "title", "template", "noscript", "blockquote"}


def html_to_text(markup: str) -> str:
    """Plain text from HTML: nh3 strips every tag, and drops scripts, styles and quoted
    blocks with their content; then entities are decoded once, so the result is text, not
    markup (a client who typed "&lt;b&gt;" reads "<b>", which pages escape like any text).
    Line breaks are kept where block elements ended."""
    marked = _BLOCK_END.sub(lambda m: m.group(0) + "\n", markup)
    stripped = nh3.clean(
        marked, tags=set(), attributes={}, clean_content_tags=_NOT_TEXT, strip_comments=True
    )
    return html.unescape(stripped)


_ATTRIBUTION = re.compile(r"^\s*(On\b.*wrote:|-+\s*Original Message\s*-+|From:\s.*)\s*$", re.I)
_AUTO_PRECEDENCE = {"bulk", "auto_reply", "list", "junk"}


def metric_text(text: str) -> str:
    """The text a client wrote: cut at the signature delimiter ("-- "), at the attribution
    of a quoted earlier message ("On ... wrote:", "-----Original Message-----", an
    Outlook "From:" block), and without lines quoted with ">"."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line.rstrip("\n") in ("-- ", "--"):
            break
        if _ATTRIBUTION.match(line) or _wrapped_attribution(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _wrapped_attribution(lines: list[str], index: int) -> bool:
    # Mail clients wrap a long "On <date>, <name> <address> wrote:" over two lines.
    line = lines[index]
    following = lines[index + 1] if index + 1 < len(lines) else ""
    return line.lstrip().startswith("On ") and following.rstrip().endswith("wrote:")


def is_automated(message: EmailMessage) -> bool:
    """Auto-replies and bulk mail (RFC 3834 `Auto-Submitted` other than "no",
    `X-Autoreply`, `X-Autorespond`, `Precedence: bulk | auto_reply | list | junk`) never count
    as a first response (PRODUCT.md 2)."""
    submitted = _header(message, "Auto-Submitted").lower()
    if submitted and submitted != "no":
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return True
    return _header(message, "Precedence").lower() in _AUTO_PRECEDENCE
