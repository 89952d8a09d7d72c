import mailbox
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from book import BASICS, CONTACT, load
from keepwell.domain.sla import SlaTargets
from keepwell.ingest.jsonl import LineError
from keepwell.integrations.email import apply as email_apply
from keepwell.services.importing import ImportRejected
from keepwell.services.mail import MailSettings, held_mail, import_path, map_domain
from keepwell.store.db import transaction
from keepwell.store.models import Mail, Message, Request

NOW = datetime(2026, 10, 5, 18, 0, tzinfo=UTC)
SETTINGS = MailSettings(team_domains=("example.com",), targets=SlaTargets())
JOE = {**CONTACT, "email": "Joe@acme.example"}


def mail(
    id: str,
    sender: str,
    to: str,
    date: str = "Mon, 05 Oct 2026 09:50:00 -0400",
    body: str = "The report is wrong",
    headers: str = "",
) -> bytes:
    return (
        f"From: {sender}\nTo: {to}\nSubject: Report\nMessage-ID: <{id}>\nDate: {date}\n"
        f"{headers}\n{body}\n"
    ).encode()


def write(folder: Path, name: str, raw: bytes) -> Path:
    path = folder / name
    path.write_bytes(raw)
    return path


def imported(engine: Engine, path: Path):
    return import_path(engine, path, SETTINGS, NOW)


def messages(engine: Engine) -> list[tuple]:
    with transaction(engine) as session:
        query = select(
            Message.id, Message.thread_id, Message.direction, Message.author_id, Message.automated
        ).order_by(Message.at)
        return [tuple(row) for row in session.execute(query)]


def requests(engine: Engine) -> list[tuple]:
    with transaction(engine) as session:
        query = select(Request.id, Request.first_response_id, Request.first_response_due)
        return [tuple(row) for row in session.execute(query)]


def test_it_files_a_client_mail_and_its_answer_as_a_request_with_a_first_response(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, *BASICS[:-1], JOE)
    write(tmp_path, "1.eml", mail("m1@acme.example", "Joe <joe@acme.example>", "ana@example.com"))
    answer = mail(
        "m2@example.com",
        "ana@example.com",
        "joe@acme.example",
        date="Mon, 05 Oct 2026 10:05:00 -0400",
        body="On it.\n\nOn Mon, Joe wrote:\n> The report is wrong",
        headers="In-Reply-To: <m1@acme.example>\n",
    )
    write(tmp_path, "2.eml", answer)
    summary = imported(engine, tmp_path)
    assert (summary.applied, summary.held) == (2, 0)
    thread = "email:<m1@acme.example>"
    assert messages(engine) == [
        ("email:<m1@acme.example>", thread, "inbound", "c-joe", False),
        ("email:<m2@example.com>", thread, "outbound", "u-ana", False),
    ]
    [(request_id, first_response, due)] = requests(engine)
    assert (request_id, first_response) == ("email:<m1@acme.example>", "email:<m2@example.com>")
    assert due == datetime(2026, 10, 5, 14, 50, tzinfo=UTC)  # the SLA clock followed
    with transaction(engine) as session:
        assert session.get(Message, "email:<m2@example.com>").text == "On it."
        assert b"> The report is wrong" in session.get(Mail, "email:<m2@example.com>").raw


def test_it_imports_the_same_mail_only_once(engine: Engine, tmp_path: Path) -> None:
    load(engine, *BASICS[:-1], JOE)
    path = write(tmp_path, "1.eml", mail("m1@acme.example", "joe@acme.example", "a@example.com"))
    assert imported(engine, path).applied == 1
    again = imported(engine, path)
    assert (again.applied, again.duplicate) == (0, 1)
    assert len(messages(engine)) == 1


def test_it_reads_an_mbox(engine: Engine, tmp_path: Path) -> None:
    load(engine, *BASICS[:-1], JOE)
    box = mailbox.mbox(tmp_path / "all.mbox")
    box.add(mail("m1@acme.example", "joe@acme.example", "ana@example.com"))
    box.add(mail("m2@acme.example", "joe@acme.example", "ana@example.com", body="Again"))
    box.close()
    assert imported(engine, tmp_path / "all.mbox").applied == 2


def test_it_matches_an_unknown_sender_by_the_domain_of_the_accounts_contacts(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, *BASICS[:-1], JOE)
    path = write(tmp_path, "1.eml", mail("m1@acme.example", "sue@acme.example", "a@example.com"))
    assert imported(engine, path).applied == 1
    assert messages(engine) == [("email:<m1@acme.example>", "email:<m1@acme.example>",
                                 "inbound", None, False)]  # fmt: skip


def test_it_holds_unmatched_mail_until_a_mapping_makes_it_match(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, *BASICS)
    path = write(tmp_path, "1.eml", mail("m1@globex.example", "hank@globex.example", "a@x.io"))
    assert imported(engine, path).held == 1
    with transaction(engine) as session:
        assert [h.id for h in held_mail(session)] == ["email:<m1@globex.example>"]
    assert messages(engine) == []
    assert map_domain(engine, "globex.example", "acme", SETTINGS).applied == 1
    with transaction(engine) as session:
        assert held_mail(session) == []
    assert [m[0] for m in messages(engine)] == ["email:<m1@globex.example>"]


def test_it_applies_held_mail_once_a_contact_import_makes_it_match(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, *BASICS)
    write(tmp_path, "1.eml", mail("m1@globex.example", "hank@globex.example", "a@x.io"))
    assert imported(engine, tmp_path).held == 1
    load(engine, {**CONTACT, "id": "c-hank", "email": "hank@globex.example"})
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert imported(engine, empty).applied == 1  # every import (and poll) retries held mail
    assert messages(engine)[0][3] == "c-hank"


def test_it_marks_an_auto_reply_automated_so_it_is_no_first_response(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, *BASICS[:-1], JOE)
    write(tmp_path, "1.eml", mail("m1@acme.example", "joe@acme.example", "ana@example.com"))
    auto = mail(
        "m2@example.com",
        "ana@example.com",
        "joe@acme.example",
        date="Mon, 05 Oct 2026 09:51:00 -0400",
        headers="In-Reply-To: <m1@acme.example>\nAuto-Submitted: auto-replied\n",
    )
    write(tmp_path, "2.eml", auto)
    imported(engine, tmp_path)
    assert messages(engine)[1][4] is True
    assert requests(engine)[0][1] is None


def test_it_calls_mail_among_the_team_internal(engine: Engine, tmp_path: Path) -> None:
    load(engine, *BASICS[:-1], JOE)
    write(tmp_path, "1.eml", mail("m1@acme.example", "joe@acme.example", "ana@example.com"))
    inside = mail(
        "m2@example.com",
        "ana@example.com",
        "kyle@example.com",
        headers="References: <m1@acme.example>\n",
    )
    write(tmp_path, "2.eml", inside)
    imported(engine, tmp_path)
    assert messages(engine)[1][2] == "internal"


def test_a_client_message_with_html_and_a_script_arrives_as_plain_text(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, *BASICS[:-1], JOE)
    html = (
        "From: joe@acme.example\nTo: ana@example.com\nMessage-ID: <h@acme.example>\n"
        "Date: Mon, 05 Oct 2026 09:50:00 -0400\nContent-Type: text/html; charset=utf-8\n\n"
        "<div>Export <i>fails</i> again<script>fetch('https://evil.example')</script></div>"
        "<blockquote>earlier</blockquote>\n"
    )
    write(tmp_path, "h.eml", html.encode())
    imported(engine, tmp_path)
    with transaction(engine) as session:
        text = session.get(Message, "email:<h@acme.example>").text
    assert text == "Export fails again"  # the quoted block is cut too
    assert "<" not in text and "evil" not in text


def test_a_mailbox_imported_again_and_a_mail_twice_in_it_are_duplicates(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, *BASICS[:-1], JOE)
    box = mailbox.mbox(tmp_path / "all.mbox")
    box.add(mail("m1@acme.example", "joe@acme.example", "ana@example.com"))
    box.add(mail("m1@acme.example", "joe@acme.example", "ana@example.com"))
    box.close()
    first = imported(engine, tmp_path / "all.mbox")
    assert (first.applied, first.duplicate) == (1, 1)
    again = imported(engine, tmp_path / "all.mbox")
    assert (again.applied, again.duplicate) == (0, 2)
    assert len(messages(engine)) == 1


def test_a_mail_the_import_refuses_fails_alone_and_the_rest_of_its_batch_is_applied(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, *BASICS[:-1], JOE)
    real = email_apply.import_lines

    def refusing_poison(session: Session, lines: list[bytes], **options: Any) -> Any:
        if any(b"poison" in line for line in lines):
            raise ImportRejected([LineError(1, "text", "poisoned")])
        return real(session, lines, **options)

    monkeypatch.setattr(email_apply, "import_lines", refusing_poison)
    box = mailbox.mbox(tmp_path / "all.mbox")
    box.add(mail("m1@acme.example", "joe@acme.example", "ana@example.com"))
    box.add(mail("m2@acme.example", "joe@acme.example", "ana@example.com", body="poison"))
    box.add(mail("m3@acme.example", "joe@acme.example", "ana@example.com", body="Again"))
    box.close()
    summary = imported(engine, tmp_path / "all.mbox")
    assert (summary.applied, summary.failed) == (2, 1)
    assert [m[0] for m in messages(engine)] == [
        "email:<m1@acme.example>",
        "email:<m3@acme.example>",
    ]
    with transaction(engine) as session:
        poisoned = session.get_one(Mail, "email:<m2@acme.example>")
        assert (poisoned.state, poisoned.error) == ("failed", "text: poisoned")
