"""Email in (issue 15 section 3): files and mailboxes in, messages filed through the import.

Each unit of work commits on its own: a poll commits every fetched batch together with the
mailbox's last UID, so a poll killed halfway starts again after the last batch it committed,
and reading a message twice changes nothing (idempotent on Message-ID).
"""

from __future__ import annotations

import logging
import mailbox
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from keepwell.domain.sla import SlaTargets
from keepwell.integrations.email import client as imap
from keepwell.integrations.email.apply import (
    HELD,
    MailSummary,
    apply_held,
    load_directory,
    receive_many,
)
from keepwell.store.db import transaction
from keepwell.store.models import Account, Mail, Mailbox, MailDomain

log = logging.getLogger(__name__)
BATCH = 200


class MailPathError(ValueError):
    """The path is not an .eml or .mbox file, nor a folder holding some."""


class UnknownAccount(LookupError):
    pass


@dataclass(frozen=True)
class MailSettings:
    team_domains: tuple[str, ...]
    targets: SlaTargets


def import_path(engine: Engine, path: Path, settings: MailSettings, now: datetime) -> MailSummary:
    """Import an .eml file, an .mbox file or a folder of them (searched recursively)."""
    summary = MailSummary()
    batch: list[bytes] = []
    for raw in _messages_at(path):
        batch.append(raw)
        if len(batch) == BATCH:
            summary.add(_receive_batch(engine, batch, settings, now))
            batch = []
    summary.add(_receive_batch(engine, batch, settings, now, retry_held=True))
    return summary


def _messages_at(path: Path) -> Iterator[bytes]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".eml", ".mbox"))
    elif path.suffix.lower() in (".eml", ".mbox"):
        files = [path]
    else:
        raise MailPathError(f"{path}: expected an .eml or .mbox file, or a folder of them")
    for file in files:
        if file.suffix.lower() == ".eml":
            yield file.read_bytes()
            continue
        box = mailbox.mbox(file, create=False)
        try:
            for key in box.iterkeys():
                yield box.get_bytes(key)
        finally:
            box.close()


def _receive_batch(
    engine: Engine,
    raws: Iterable[bytes],
    settings: MailSettings,
    now: datetime,
    *,
    retry_held: bool = False,
    received: Iterable[datetime | None] | None = None,
) -> MailSummary:
    summary = MailSummary()
    with transaction(engine, writes=True) as session:
        _receive_into(session, raws, settings, now, summary, received)
        if retry_held:
            directory = load_directory(session, settings.team_domains)
            summary.add(apply_held(session, directory, settings.targets))
    return summary


def _receive_into(
    session: Session,
    raws: Iterable[bytes],
    settings: MailSettings,
    now: datetime,
    summary: MailSummary,
    received: Iterable[datetime | None] | None = None,
) -> None:
    directory = load_directory(session, settings.team_domains)
    raws = list(raws)
    times = list(received) if received is not None else [None] * len(raws)
    mails = [(raw, at or now) for raw, at in zip(raws, times, strict=True)]
    for state in receive_many(session, mails, directory, settings.targets):
        summary.count(state)


def poll_once(engine: Engine, url: str, settings: MailSettings, now: datetime) -> MailSummary:
    """Read what is new in the mailbox at `url` since the last poll, then retry held mail
    (a contact imported since may make it match). A changed UIDVALIDITY means the server
    renumbered the mailbox: it is read again from the start, Message-IDs keep that harmless."""
    target = imap.parse_imap_url(url)
    summary = MailSummary()
    with imap.open_mailbox(target) as box:
        last_uid = _last_uid(engine, target.key, box.uidvalidity)
        for fetched in box.fetch(box.new_uids(last_uid)):
            with transaction(engine, writes=True) as session:
                part = MailSummary()
                raws, times = [f.raw for f in fetched], [f.internal_date for f in fetched]
                _receive_into(session, raws, settings, now, part, times)
                _save_position(session, target.key, box.uidvalidity, fetched[-1].uid, now)
            summary.add(part)
    summary.add(_receive_batch(engine, [], settings, now, retry_held=True))
    log.info("polled %s: %s", target.key, summary)
    return summary


def _last_uid(engine: Engine, key: str, uidvalidity: int) -> int:
    with transaction(engine) as session:
        stored = session.get(Mailbox, key)
    if stored is None or stored.uidvalidity != uidvalidity:
        return 0
    return stored.last_uid


def _save_position(session: Session, key: str, uidvalidity: int, uid: int, now: datetime) -> None:
    stored = session.get(Mailbox, key)
    if stored is None:
        session.add(Mailbox(url=key, uidvalidity=uidvalidity, last_uid=uid, polled_at=now))
        return
    stored.uidvalidity, stored.last_uid, stored.polled_at = uidvalidity, uid, now


def map_domain(engine: Engine, domain: str, account_id: str, settings: MailSettings) -> MailSummary:
    """Mail from `domain` belongs to `account_id` from now on; held mail from it is applied."""
    domain = domain.lower().lstrip("@")
    with transaction(engine, writes=True) as session:
        if session.get(Account, account_id) is None:
            raise UnknownAccount(f"no account {account_id!r}")
        session.merge(MailDomain(domain=domain, account_id=account_id))
        session.flush()
        directory = load_directory(session, settings.team_domains)
        return apply_held(session, directory, settings.targets)


def retry_held(engine: Engine, settings: MailSettings) -> MailSummary:
    with transaction(engine, writes=True) as session:
        directory = load_directory(session, settings.team_domains)
        return apply_held(session, directory, settings.targets)


@dataclass(frozen=True)
class HeldMail:
    id: str
    received_at: datetime
    sender: str | None
    subject: str | None
    state: str
    error: str | None


def held_mail(session: Session, *, failed: bool = False) -> list[HeldMail]:
    """The mail not filed: held for want of an account (or refused by the import)."""
    states = [HELD, "failed"] if failed else [HELD]
    rows = session.execute(
        select(Mail.id, Mail.received_at, Mail.sender, Mail.subject, Mail.state, Mail.error)
        .where(Mail.state.in_(states))
        .order_by(Mail.received_at, Mail.id)
    )
    return [HeldMail(*row) for row in rows]
