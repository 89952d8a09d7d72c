from keepwell.integrations.email.parse import metric_text, parse_mail

HTML_MAIL = b"""From: Joe <Joe@Acme.example>
To: support@team.example
Subject: Broken report
Message-ID: <m1@acme.example>
Date: Mon, 05 Oct 2026 09:50:00 -0400
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><style>p {color: red}</style></head><body><p>The report is <b>wrong</b>
&amp; late.<script>alert("pwned")</script></p><p>Typed: &lt;script&gt;</p></body></html>
"""


def test_it_turns_an_html_body_with_a_script_into_plain_text() -> None:
    parsed = parse_mail(HTML_MAIL)
    assert "The report is wrong" in parsed.text
    assert "& late." in parsed.text
    assert "pwned" not in parsed.text and "<b>" not in parsed.text and "color" not in parsed.text
    assert parsed.text.endswith("Typed: <script>")  # what the client typed, as text


def test_it_reads_ids_addresses_and_time() -> None:
    parsed = parse_mail(HTML_MAIL)
    assert parsed.id == "email:<m1@acme.example>"
    assert parsed.thread_id == parsed.id
    assert parsed.sender == "joe@acme.example"
    assert parsed.recipients == ("support@team.example",)
    assert parsed.at is not None and parsed.at.isoformat() == "2026-10-05T13:50:00+00:00"


def test_it_names_the_thread_after_the_root_of_the_references() -> None:
    raw = (
        b"From: a@team.example\nMessage-ID: <m3@team.example>\n"
        b"In-Reply-To: <m2@acme.example>\nReferences: <m1@acme.example> <m2@acme.example>\n\nOk"
    )
    parsed = parse_mail(raw)
    assert parsed.thread_id == "email:<m1@acme.example>"
    assert parsed.replies_to == ("email:<m2@acme.example>", "email:<m1@acme.example>")


def test_it_cuts_quoted_messages_and_the_signature() -> None:
    text = (
        "Thanks, that fixed it.\n> old line\n\n-- \nJoe Smith\nAcme\n\n"
        "On Mon, Oct 5, 2026 at 9:50 AM Ana <ana@team.example> wrote:\n> earlier"
    )
    assert metric_text(text) == "Thanks, that fixed it."
    wrapped = "Yes please.\n\nOn Mon, Oct 5, 2026 at 9:50 AM Ana L\n<ana@team.example> wrote:\n"
    assert metric_text(wrapped) == "Yes please."


def test_it_marks_auto_replies_as_automated() -> None:
    base = b"From: joe@acme.example\nMessage-ID: <x@acme.example>\n"
    for header in (
        b"Auto-Submitted: auto-replied\n",
        b"X-Autoreply: yes\n",
        b"Precedence: bulk\n",
        b"Precedence: auto_reply\n",
    ):
        assert parse_mail(base + header + b"\nI am away").automated, header
    assert not parse_mail(base + b"Auto-Submitted: no\n\nHello").automated
    assert not parse_mail(base + b"\nHello").automated


def test_it_gives_a_mail_without_message_id_a_stable_id_from_its_content() -> None:
    raw = b"From: joe@acme.example\n\nHello"
    assert parse_mail(raw).id == parse_mail(raw).id
    assert parse_mail(raw).id != parse_mail(raw + b"!").id
