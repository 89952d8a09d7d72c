from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from book import BASICS, CONTACT, load
from keepwell.domain.sla import SlaTargets
from keepwell.integrations.email.client import MailboxUnavailable
from keepwell.services.mail import MailSettings, poll_once
from keepwell.store.db import transaction
from keepwell.store.models import Mailbox, Message
from servers import deliver, dovecot

NOW = datetime(2026, 10, 5, 18, 0, tzinfo=UTC)
SETTINGS = MailSettings(team_domains=("example.com",), targets=SlaTargets())


def count(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(Message)) or 0


def test_a_second_poll_reads_only_the_mail_delivered_since_the_first(engine: Engine) -> None:
    load(engine, *BASICS[:-1], {**CONTACT, "email": "joe@acme.example"})
    with dovecot() as imap:
        deliver(imap, NOW, "m1", "m2")
        first = poll_once(engine, imap.url, SETTINGS, NOW)
        assert (first.applied, first.duplicate) == (2, 0)
        deliver(imap, NOW, "m3")
        second = poll_once(engine, imap.url, SETTINGS, NOW)
        assert (second.applied, second.duplicate) == (1, 0)  # m1 and m2 were not read again
        third = poll_once(engine, imap.url, SETTINGS, NOW)
        assert (third.applied, third.duplicate) == (0, 0)
    assert count(engine) == 3
    with transaction(engine) as session:
        [position] = session.scalars(select(Mailbox))
    assert position.last_uid == 3
    assert "secret" not in position.url


def test_a_refused_login_names_the_mailbox_but_not_the_password(engine: Engine) -> None:
    with dovecot() as imap:
        wrong = imap.url.replace(":secret@", ":hunter2@")
        with pytest.raises(MailboxUnavailable) as raised:
            poll_once(engine, wrong, SETTINGS, NOW)
    assert f"imap://kw@127.0.0.1:{imap.port}/INBOX" in str(raised.value)
    assert "hunter2" not in str(raised.value)
