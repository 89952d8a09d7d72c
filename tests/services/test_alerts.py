import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from book import BASICS, CSM, load, message
from keepwell.domain import alerts as rules
from keepwell.domain.hours import business_seconds
from keepwell.integrations.notify import SendFailed
from keepwell.services.alerts import (
    AlertSettings,
    claim_alert,
    configured_senders,
    handle_one_alert,
    plan_alerts,
    queue_digests,
    recover_stale_claims,
    send_due_alerts,
)
from keepwell.services.schedules import load_schedules
from keepwell.store.db import transaction
from keepwell.store.models import Alert, Destination
from servers import fake_slack, smtp_server

# Friday 16:50 in New York: one business hour later is Monday 09:50 (10 min Fri, 50 Mon).
FRIDAY_1650_NY = "2026-10-02T20:50:00Z"
MONDAY_0935_NY = datetime(2026, 10, 5, 13, 35, tzinfo=UTC)
MONDAY_0950_NY = datetime(2026, 10, 5, 13, 50, tzinfo=UTC)
SLACK_CSM = {**CSM, "slack_user_id": "U-ANA"}


def waiting(engine: Engine, *basics: dict, at: str = FRIDAY_1650_NY) -> None:
    load(engine, *basics, message("m-1", "t-1", at))


def plan(engine: Engine, now: datetime, settings: AlertSettings | None = None) -> int:
    with transaction(engine, writes=True) as session:
        return plan_alerts(session, now, settings or AlertSettings())


def alerts(engine: Engine) -> list[Alert]:
    with transaction(engine) as session:
        return list(session.scalars(select(Alert).order_by(Alert.due_at, Alert.id)))


def send_all(engine: Engine, senders: dict, now: datetime) -> int:
    return send_due_alerts(engine, senders, "test-worker", lambda: now)


def log_only() -> dict:
    return configured_senders(
        slack_token=None, slack_api_url=None, smtp_url=None, from_address="kw@example.com"
    )


def test_it_plans_a_warning_fifteen_business_minutes_before_the_deadline_and_the_breach(
    engine: Engine,
) -> None:
    waiting(engine, *BASICS)
    assert plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC)) == 2
    warning, breach = alerts(engine)
    assert (warning.kind, warning.due_at) == (rules.WARNING, MONDAY_0935_NY)
    assert (breach.kind, breach.due_at) == (rules.BREACH, MONDAY_0950_NY)
    assert (warning.recipient_id, warning.channel, warning.request_id) == ("u-ana", "log", "m-1")
    with transaction(engine) as session:
        schedule = load_schedules(session)["ny-9-17"]
    assert business_seconds(schedule, warning.due_at, breach.due_at) == 900
    assert plan(engine, datetime(2026, 10, 2, 21, 5, tzinfo=UTC)) == 0  # planned once


def test_it_plans_nothing_for_a_deadline_long_past(engine: Engine) -> None:
    waiting(engine, *BASICS)
    assert plan(engine, MONDAY_0950_NY + timedelta(days=3)) == 0


def test_it_writes_an_alert_to_the_log_without_slack_or_smtp(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    waiting(engine, *BASICS)
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC))
    with caplog.at_level(logging.WARNING, logger="keepwell.alerts"):
        assert send_all(engine, log_only(), MONDAY_0935_NY) == 1
    assert "First response due soon: Acme, 15 min left." in caplog.text
    assert [a.state for a in alerts(engine)] == [rules.SENT, rules.PENDING]


def test_it_emails_the_owning_csm_when_smtp_is_set(engine: Engine) -> None:
    waiting(engine, *BASICS)
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC), AlertSettings(email=True))
    with smtp_server() as (url, server):
        senders = configured_senders(
            slack_token=None, slack_api_url=None, smtp_url=url, from_address="kw@example.com"
        )
        assert send_all(engine, senders, MONDAY_0950_NY + timedelta(minutes=5)) == 2
    warning, breach = alerts(engine)
    assert warning.state == rules.CANCELLED  # the breach came first: no late warning
    assert breach.state == rules.SENT
    [mail] = server.messages
    assert mail.recipients == ["ana@example.com"]
    assert mail.message_id == f"<keepwell-alert-{breach.id}@keepwell>"
    assert mail.subject == "Keepwell: SLA breached — Acme"
    assert 'SLA breached: Acme, 5 min overdue.\n"message m-1"' in mail.body


def test_it_cancels_an_alert_once_the_request_is_answered(engine: Engine) -> None:
    waiting(engine, *BASICS)
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC))
    load(engine, message("m-2", "t-1", "2026-10-05T13:00:00Z", "outbound"))
    send_all(engine, log_only(), MONDAY_0950_NY)
    assert [a.state for a in alerts(engine)] == [rules.CANCELLED, rules.CANCELLED]


def test_an_smtp_refusal_of_the_address_disables_it(engine: Engine) -> None:
    waiting(engine, *BASICS)
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC), AlertSettings(email=True))
    with smtp_server() as (url, server):
        server.refuse["ana@example.com"] = "550 5.1.1 no such user"
        senders = configured_senders(
            slack_token=None, slack_api_url=None, smtp_url=url, from_address="kw@example.com"
        )
        send_all(engine, senders, MONDAY_0935_NY)
        server.refuse.clear()
        send_all(engine, senders, MONDAY_0950_NY)  # the breach: not even tried
    assert server.messages == []
    warning, breach = alerts(engine)
    assert (warning.state, warning.error) == (rules.FAILED, "SMTP 550 5.1.1 no such user")
    assert breach.state == rules.FAILED and breach.error.startswith("destination disabled")
    with transaction(engine) as session:
        [disabled] = session.scalars(select(Destination))
    assert (disabled.channel, disabled.address) == ("email", "ana@example.com")


def test_an_email_refused_at_its_final_dot_is_taken_back_and_sent_later(engine: Engine) -> None:
    waiting(engine, *BASICS)
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC), AlertSettings(email=True))
    with smtp_server() as (url, server):
        senders = configured_senders(
            slack_token=None, slack_api_url=None, smtp_url=url, from_address="kw@example.com"
        )
        server.refuse_data = "451 4.3.0 queue full, try later"
        handle_one_alert(engine, senders, "w1", MONDAY_0935_NY)
        warning = alerts(engine)[0]
        assert (warning.state, warning.sent_at) == (rules.PENDING, None)
        assert warning.error == "SMTP 451 4.3.0 queue full, try later"
        server.refuse_data = None
        send_all(engine, senders, MONDAY_0935_NY + timedelta(minutes=2))
    assert (alerts(engine)[0].state, alerts(engine)[0].attempts) == (rules.SENT, 2)
    assert [m.message_id for m in server.messages] == [f"<keepwell-alert-{warning.id}@keepwell>"]


def test_a_worker_killed_as_it_records_an_email_sent_delivers_nothing_and_it_goes_once(
    engine: Engine,
) -> None:
    """The kill the fault test can land anywhere, here at the worst place: the message is
    written, the "." is not. The server delivers nothing; the stale claim is sent again."""
    waiting(engine, *BASICS)
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC), AlertSettings(email=True))
    with smtp_server() as (url, server):
        senders = configured_senders(
            slack_token=None, slack_api_url=None, smtp_url=url, from_address="kw@example.com"
        )

        class KilledAtCommit:
            def send(self, outgoing, commit) -> None:
                def killed() -> None:
                    raise SystemExit

                senders["email"].send(outgoing, killed)

        with pytest.raises(SystemExit):
            handle_one_alert(engine, {**senders, "email": KilledAtCommit()}, "w1", MONDAY_0935_NY)
        assert alerts(engine)[0].state == rules.SENDING
        time.sleep(0.2)  # the server has seen the connection drop
        assert server.messages == []
        later = MONDAY_0935_NY + timedelta(minutes=6)
        assert recover_stale_claims(engine, senders, later) == 1
        send_all(engine, senders, later)
    assert alerts(engine)[0].state == rules.SENT
    assert len(server.messages) == 1


def slack_senders(url: str) -> dict:
    return configured_senders(
        slack_token="xoxb-test", slack_api_url=url, smtp_url=None, from_address="kw@example.com"
    )


def test_it_sends_a_slack_dm_carrying_the_alert_id(engine: Engine) -> None:
    waiting(engine, *BASICS[:2], SLACK_CSM, *BASICS[3:])
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC), AlertSettings(slack=True))
    with fake_slack() as (url, slack):
        send_all(engine, slack_senders(url), MONDAY_0935_NY)
    [post] = slack.posts()
    warning = alerts(engine)[0]
    assert post.args["channel"] == "U-ANA"
    assert post.args["metadata"]["event_payload"] == {"alert": warning.id}
    assert post.args["text"].startswith("First response due soon: Acme, 15 min left.")
    assert warning.state == rules.SENT


def test_a_slack_channel_not_found_disables_the_destination(engine: Engine) -> None:
    waiting(engine, *BASICS[:2], SLACK_CSM, *BASICS[3:])
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC), AlertSettings(slack=True))
    with fake_slack() as (url, slack):
        slack.gone.add("U-ANA")
        send_all(engine, slack_senders(url), MONDAY_0935_NY)
        send_all(engine, slack_senders(url), MONDAY_0950_NY)
    assert len(slack.posts()) == 1  # the breach alert was not tried
    warning, breach = alerts(engine)
    assert (warning.state, warning.error) == (rules.FAILED, "Slack: channel_not_found")
    assert breach.state == rules.FAILED and breach.error.startswith("destination disabled")
    with transaction(engine) as session:
        [disabled] = session.scalars(select(Destination))
    assert (disabled.channel, disabled.address) == ("slack", "U-ANA")


@pytest.mark.parametrize(("error", "status"), [("ratelimited", 429), ("internal_error", 500)])
def test_a_temporary_slack_error_is_retried_with_backoff(
    engine: Engine, error: str, status: int
) -> None:
    waiting(engine, *BASICS[:2], SLACK_CSM, *BASICS[3:])
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC), AlertSettings(slack=True))
    with fake_slack() as (url, slack):
        slack.failures.append((error, status))
        assert send_all(engine, slack_senders(url), MONDAY_0935_NY) == 1
        warning = alerts(engine)[0]
        assert (warning.state, warning.attempts) == (rules.PENDING, 1)
        assert warning.next_attempt_at == MONDAY_0935_NY + timedelta(seconds=30)
        assert warning.error == f"Slack: {error}"
        send_all(engine, slack_senders(url), MONDAY_0935_NY + timedelta(seconds=29))
        assert len(slack.posts()) == 1  # not before its time
        send_all(engine, slack_senders(url), MONDAY_0935_NY + timedelta(seconds=30))
    assert len(slack.posts()) == 2
    assert (alerts(engine)[0].state, alerts(engine)[0].attempts) == (rules.SENT, 2)


def test_a_stale_slack_claim_whose_dm_went_out_is_marked_sent_not_resent(
    engine: Engine,
) -> None:
    waiting(engine, *BASICS[:2], SLACK_CSM, *BASICS[3:])
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC), AlertSettings(slack=True))
    with fake_slack() as (url, slack):
        senders = slack_senders(url)

        class DiesAfterSending:  # the worker is killed once Slack accepted the post
            def send(self, outgoing, commit) -> None:
                senders["slack"].send(outgoing, commit)
                raise SystemExit

        with pytest.raises(SystemExit):
            handle_one_alert(engine, {**senders, "slack": DiesAfterSending()}, "w1", MONDAY_0935_NY)
        assert alerts(engine)[0].state == rules.SENDING
        later = MONDAY_0935_NY + timedelta(minutes=6)
        assert recover_stale_claims(engine, senders, later) == 1
        send_all(engine, senders, later)
    assert alerts(engine)[0].state == rules.SENT
    assert len(slack.posts()) == 1


def test_a_stale_claim_not_delivered_is_sent_again(engine: Engine) -> None:
    waiting(engine, *BASICS)
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC))

    class DiesBeforeSending:
        def send(self, outgoing, commit) -> None:
            raise SystemExit

    with pytest.raises(SystemExit):
        handle_one_alert(engine, {"log": DiesBeforeSending()}, "w1", MONDAY_0935_NY)
    recover_stale_claims(engine, log_only(), MONDAY_0935_NY + timedelta(minutes=1))
    assert alerts(engine)[0].state == rules.SENDING  # not stale yet: its worker may be alive
    recover_stale_claims(engine, log_only(), MONDAY_0935_NY + timedelta(minutes=6))
    send_all(engine, log_only(), MONDAY_0935_NY + timedelta(minutes=6))
    assert (alerts(engine)[0].state, alerts(engine)[0].attempts) == (rules.SENT, 2)


def test_two_sessions_claiming_one_alert_only_one_wins(engine: Engine) -> None:
    waiting(engine, *BASICS)
    plan(engine, datetime(2026, 10, 2, 21, 0, tzinfo=UTC))
    alert_id = alerts(engine)[0].id
    second: list[bool] = []
    with transaction(engine, writes=True) as first:
        assert claim_alert(first, alert_id, "w1", MONDAY_0935_NY)

        def claim_in_another_session() -> None:  # waits for the first to commit
            with transaction(engine, writes=True) as session:
                second.append(claim_alert(session, alert_id, "w2", MONDAY_0935_NY))

        other = threading.Thread(target=claim_in_another_session)
        other.start()
        other.join(timeout=0.5)
        assert other.is_alive()  # blocked behind the first claim
    other.join()
    assert second == [False]
    assert (alerts(engine)[0].claimed_by, alerts(engine)[0].attempts) == ("w1", 1)


def test_it_plans_a_digest_at_eight_in_the_csms_zone(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        message("m-1", "t-1", "2026-10-05T11:00:00Z"),
        {"type": "next_step", "account": "acme", "by": "u-ana", "at": "2026-09-20T09:00:00Z",
         "text": "Send Q4 plan", "due": "2026-10-01"},
    )  # fmt: skip
    with transaction(engine, writes=True) as session:
        digests = [
            queue_digests(session, datetime(2026, 10, 5, hour, minute, tzinfo=UTC), AlertSettings())
            for hour, minute in ((11, 59), (12, 0), (20, 0))  # 07:59, 08:00, 16:00 in NY
        ]
    assert digests == [0, 1, 0]
    [digest] = alerts(engine)
    assert (digest.kind, digest.subject, digest.recipient_id) == ("digest", "2026-10-05", "u-ana")
    with smtp_server() as (url, server):
        with transaction(engine, writes=True) as session:
            session.get(Alert, digest.id).channel = "email"
            session.get(Alert, digest.id).address = "ana@example.com"
        senders = configured_senders(
            slack_token=None, slack_api_url=None, smtp_url=url, from_address="kw@example.com"
        )
        send_all(engine, senders, datetime(2026, 10, 5, 12, 0, tzinfo=UTC))
    [mail] = server.messages
    assert "Waiting for you (1):\n- Acme: 1 h left" in mail.body  # it opens at 09:00
    assert "Overdue next steps (1):\n- Acme: Send Q4 plan (due 2026-10-01)" in mail.body


def test_a_failure_is_permanent_only_for_a_5xx_answer() -> None:
    from keepwell.integrations.notify.smtp import _failure

    assert _failure(550, b"no such user").permanent
    assert not _failure(451, b"try later").permanent
    assert isinstance(_failure(550, "x"), SendFailed)
