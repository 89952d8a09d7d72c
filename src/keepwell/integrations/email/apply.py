"""Mail filed as messages through the JSON Lines import (PRODUCT.md 9), so requests and SLA
clocks follow exactly as for an imported file; mail that matches no account is held.

Who is who: a sender among the team (a user's address, or a domain of
`KEEPWELL_TEAM_EMAIL_DOMAINS`) writes outbound, or internal when every recipient is the team
too; anyone else writes inbound. The account: the client's address among the contacts, else
their domain as mapped (`keepwell mail map`), else the one account whose contacts use that
domain, else the account of the thread the mail replies to. No account: the mail is held, and
applied when a later contact or mapping makes it match (`apply_held`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from keepwell.domain.sla import SlaTargets
from keepwell.integrations.email.parse import ParsedMail, mail_id_of, parse_mail
from keepwell.services.importing import ImportRejected, import_lines
from keepwell.store.models import Contact, Mail, MailDomain, Message, User

APPLIED, HELD, FAILED = "applied", "held", "failed"
_MAX_TEXT = 100_000  # the import's limit on a message's text


@dataclass(frozen=True)
class Directory:
    """The addresses and domains that tell who wrote a mail, loaded once per batch."""

    users: dict[str, str]  # address -> user id
    contacts: dict[str, tuple[str, str]]  # address -> (contact id, account id)
    team_domains: frozenset[str]
    mapped_domains: dict[str, str]  # domain -> account id
    contact_domains: dict[str, frozenset[str]]  # domain -> the accounts of its contacts

    def is_team(self, address: str) -> bool:
        return address in self.users or _domain(address) in self.team_domains

    def account_of(self, address: str) -> str | None:
        if address in self.contacts:
            return self.contacts[address][1]
        domain = _domain(address)
        if domain in self.mapped_domains:
            return self.mapped_domains[domain]
        accounts = self.contact_domains.get(domain, frozenset())
        return next(iter(accounts)) if len(accounts) == 1 else None


def load_directory(session: Session, team_domains: Iterable[str]) -> Directory:
    users = {
        email.lower(): user_id
        for user_id, email in session.execute(select(User.id, User.email))
        if email
    }
    contacts: dict[str, tuple[str, str]] = {}
    domains: dict[str, set[str]] = defaultdict(set)
    for contact_id, account_id, email in session.execute(
        select(Contact.id, Contact.account_id, Contact.email)
    ):
        if email and "@" in email:
            contacts[email.lower()] = (contact_id, account_id)
            domains[_domain(email)].add(account_id)
    mapped = {
        domain: account_id
        for domain, account_id in session.execute(select(MailDomain.domain, MailDomain.account_id))
    }
    return Directory(
        users=users,
        contacts=contacts,
        team_domains=frozenset(d.lower().lstrip("@") for d in team_domains),
        mapped_domains=mapped,
        contact_domains={d: frozenset(a) for d, a in domains.items()},
    )


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass
class MailSummary:
    applied: int = 0
    held: int = 0
    failed: int = 0
    duplicate: int = 0  # a Message-ID already stored: nothing changed

    def count(self, state: str) -> None:
        setattr(self, state, getattr(self, state) + 1)

    def add(self, other: MailSummary) -> None:
        for state in (APPLIED, HELD, FAILED, "duplicate"):
            setattr(self, state, getattr(self, state) + getattr(other, state))


def receive_many(
    session: Session,
    mails: Iterable[tuple[bytes, datetime]],
    directory: Directory,
    targets: SlaTargets,
) -> list[str]:
    """Store mails (raw, received at) and file them, in order, as if one after the other:
    "applied", "held", "failed", or "duplicate" when a Message-ID is known already (nothing
    changes). The messages of all that match an account go through one import (an
    import's cost is mostly fixed: one per mail made a mailbox import crawl). If the import
    refuses any, each is imported on its own, so one bad mail fails alone."""
    outcomes: list[str | Mail] = []  # a state, or the mail whose import decides it
    filed: list[tuple[Mail, dict[str, object]]] = []
    threads: dict[str, str] = {}  # this batch's threads and their accounts, not yet imported
    named = [(mail_id_of(raw), raw, received_at) for raw, received_at in mails]
    seen = _stored_ids(session, [mail_id for mail_id, _, _ in named])  # and this batch's
    for mail_id, raw, received_at in named:
        if mail_id in seen:  # known before the whole parse
            outcomes.append("duplicate")
            continue
        parsed = parse_mail(raw)
        # The headers read alone and whole agree on the id but for a header too broken to
        # read the same way twice: then the whole parse's id is checked on its own.
        if parsed.id != mail_id and (parsed.id in seen or _is_stored(session, parsed.id)):
            outcomes.append("duplicate")
            continue
        seen.add(parsed.id)
        mail = _stored(session, raw, parsed, received_at)
        line = _line_for(session, mail, parsed, directory, threads)
        if line is None:
            outcomes.append(HELD)
            continue
        threads[mail.thread_id] = str(line["account"])
        filed.append((mail, line))
        outcomes.append(mail)
    refused = _import_filed(session, filed, targets)
    return [
        outcome if isinstance(outcome, str) else FAILED if outcome in refused else APPLIED
        for outcome in outcomes
    ]


def _is_stored(session: Session, mail_id: str) -> bool:
    return session.get(Mail, mail_id) is not None


def _stored_ids(session: Session, ids: list[str]) -> set[str]:
    """Which of these mail ids are stored already."""
    return set(session.scalars(select(Mail.id).where(Mail.id.in_(set(ids)))))


def _stored(session: Session, raw: bytes, parsed: ParsedMail, received_at: datetime) -> Mail:
    mail = Mail(
        id=parsed.id,
        received_at=received_at,
        sender=parsed.sender,
        subject=parsed.subject,
        thread_id=parsed.thread_id,
        reply_to_ids=list(parsed.replies_to),
        state=HELD,
        raw=raw,
    )
    session.add(mail)
    session.flush()
    return mail


def _line_for(
    session: Session,
    mail: Mail,
    parsed: ParsedMail,
    directory: Directory,
    batch_threads: dict[str, str] | None = None,
) -> dict[str, object] | None:
    """The mail's message line, its thread and account set on it; None (held) when no
    account matches."""
    thread_id, thread_account = _known_thread(session, parsed)
    if thread_account is None and batch_threads:
        thread_account = batch_threads.get(thread_id)
    mail.thread_id = thread_id
    line = _message_line(parsed, directory, thread_id, thread_account, mail.received_at)
    if line is None:
        mail.state, mail.error = HELD, "no account matches the sender or the recipients"
        return None
    mail.account_id = str(line["account"])
    return line


def _import_filed(
    session: Session, filed: list[tuple[Mail, dict[str, object]]], targets: SlaTargets
) -> set[Mail]:
    """Import the filed mails' lines, together if the import takes them all, else one by
    one; the mails it refused (marked failed, with the import's errors)."""
    if not filed:
        return set()
    try:
        with session.begin_nested():
            import_lines(session, [orjson.dumps(line) for _, line in filed], targets=targets)
    except ImportRejected:
        refused = set()
        for mail, line in filed:
            if _import_one(session, mail, line, targets) == FAILED:
                refused.add(mail)
        return refused
    for mail, _ in filed:
        mail.state, mail.error = APPLIED, None
    return set()


def _import_one(session: Session, mail: Mail, line: dict[str, object], targets: SlaTargets) -> str:
    try:
        with session.begin_nested():  # a refused mail leaves the rest of the batch alone
            import_lines(session, [orjson.dumps(line)], targets=targets)
    except ImportRejected as exc:
        mail.state = FAILED
        mail.error = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        return FAILED
    mail.state, mail.error = APPLIED, None
    return APPLIED


def file_mail(
    session: Session, mail: Mail, parsed: ParsedMail, directory: Directory, targets: SlaTargets
) -> str:
    """Apply a stored mail as a message if an account matches; else leave it held."""
    line = _line_for(session, mail, parsed, directory)
    if line is None:
        return HELD
    return _import_one(session, mail, line, targets)


def apply_held(session: Session, directory: Directory, targets: SlaTargets) -> MailSummary:
    """Try every held mail again (after a contact import or a domain mapping); the summary
    counts the mail that left the held state."""
    summary = MailSummary()
    held = session.scalars(select(Mail).where(Mail.state == HELD).order_by(Mail.received_at))
    for mail in list(held):
        state = file_mail(session, mail, parse_mail(mail.raw), directory, targets)
        if state != HELD:
            summary.count(state)
    return summary


def _known_thread(session: Session, parsed: ParsedMail) -> tuple[str, str | None]:
    """The thread of the mail this one replies to, when stored (a client whose References
    are broken still lands in the right thread), with that thread's account."""
    if parsed.replies_to:
        found = session.execute(
            select(Mail.thread_id, Mail.account_id).where(Mail.id.in_(parsed.replies_to))
        ).first()
        if found is not None:
            thread_id, account_id = found
            return thread_id, account_id or _thread_account(session, thread_id)
    return parsed.thread_id, _thread_account(session, parsed.thread_id)


def _thread_account(session: Session, thread_id: str) -> str | None:
    query = select(Message.account_id).where(Message.thread_id == thread_id).limit(1)
    return session.scalar(query)


def _message_line(
    parsed: ParsedMail,
    directory: Directory,
    thread_id: str,
    thread_account: str | None,
    received_at: datetime,
) -> dict[str, object] | None:
    sender = parsed.sender or ""
    from_team = bool(sender) and directory.is_team(sender)
    clients = [a for a in parsed.recipients if not directory.is_team(a)]
    if from_team:
        direction = "outbound" if clients else "internal"
        author = directory.users.get(sender)
        candidates = clients
    else:
        direction = "inbound"
        author = directory.contacts[sender][0] if sender in directory.contacts else None
        candidates = [sender] if sender else []
    # A thread belongs to one account: once it has one, its mail stays there.
    account = thread_account or next(
        (found for a in candidates if (found := directory.account_of(a))), None
    )
    if account is None:
        return None
    if author is not None and direction == "inbound" and directory.contacts[sender][1] != account:
        author = None  # a contact of another account writing in this one's thread
    line: dict[str, object] = {
        "type": "message",
        "id": parsed.id,
        "account": account,
        "thread": thread_id,
        "at": (parsed.at or received_at).astimezone(UTC).isoformat(),
        "direction": direction,
        "channel": "email",
        "automated": parsed.automated,
        "text": parsed.text[:_MAX_TEXT],
    }
    if author is not None:
        line["author"] = author
    return line
