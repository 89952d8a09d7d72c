"""The fault test of issue 15: a `keepwell alerts send --loop` worker killed with SIGKILL
in the middle of many due alerts, and started again."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from book import load
from keepwell.services.alerts import AlertSettings, plan_alerts
from keepwell.store.db import transaction
from keepwell.store.models import Alert
from servers import smtp_server

ALERTS = 300
WORKER = "from keepwell.cli import main; main()"


def many_waiting_requests(engine: Engine, now: datetime) -> None:
    """ALERTS requests opened ten minutes ago; with a lead as long as the target, each one's
    warning is due now and its breach in fifty minutes."""
    opened = now - timedelta(minutes=10)
    load(
        engine,
        {"type": "user", "id": "u-ana", "name": "Ana", "email": "ana@example.com",
         "role": "csm", "timezone": "UTC"},
        {"type": "account", "id": "acme", "name": "Acme", "owner": "u-ana",
         "started": "2026-01-05"},
        *(
            {"type": "message", "id": f"m-{i}", "account": "acme", "thread": f"t-{i}",
             "at": (opened + timedelta(seconds=i)).isoformat(), "direction": "inbound",
             "channel": "email", "text": f"question {i}"}
            for i in range(ALERTS)
        ),
    )  # fmt: skip
    with transaction(engine, writes=True) as session:
        planned = plan_alerts(session, now, AlertSettings(lead_seconds=3600, email=True))
    assert planned == 2 * ALERTS


def worker(database_url: str, smtp_url: str, *options: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KEEPWELL_DATABASE_URL": database_url,
        "KEEPWELL_SMTP_URL": smtp_url,
        "KEEPWELL_ALERT_FROM_EMAIL": "keepwell@example.com",
    }
    command = [sys.executable, "-c", WORKER, "alerts", "send", "--loop", "--interval", "0.1"]
    return subprocess.Popen(
        [*command, *options], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_until(condition, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def sent_count(engine: Engine) -> int:
    with transaction(engine) as session:
        query = select(func.count()).select_from(Alert).where(Alert.state == "sent")
        return session.scalar(query) or 0


def test_a_killed_worker_restarted_sends_every_alert_and_none_twice(
    engine: Engine, database_url: str
) -> None:
    many_waiting_requests(engine, datetime.now(UTC))
    with smtp_server() as (url, server):
        first = worker(database_url, url)
        wait_until(lambda: len(server.messages) >= ALERTS // 4)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = len(server.messages)
        assert killed_at < ALERTS  # killed in the middle
        # Started again, it treats the dead worker's claim as stale at once.
        second = worker(database_url, url, "--stale-after", "0")
        try:
            wait_until(lambda: sent_count(engine) == ALERTS)
        finally:
            second.terminate()
            second.wait(timeout=30)
        received = Counter(message.message_id for message in server.messages)
    with transaction(engine) as session:
        rows = session.execute(select(Alert.id, Alert.kind, Alert.state)).all()
    warnings = {f"<keepwell-alert-{id}@keepwell>" for id, kind, _ in rows if kind == "sla_warning"}
    assert set(received) == warnings  # none skipped, no breach sent before its time
    # None sent twice: `sent` is committed before the "." that makes the server deliver, so
    # the claim the kill left behind had delivered nothing (integrations/notify/smtp.py).
    twice = sorted(message_id for message_id, count in received.items() if count > 1)
    assert twice == [], f"sent more than once: {twice}"
    assert Counter(state for _, kind, state in rows if kind == "sla_warning") == {"sent": ALERTS}
