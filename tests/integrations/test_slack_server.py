"""`keepwell serve` as a real server: a signed Slack event over a socket, applied by the
jobs process it starts, and a clean stop of both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

from book import load
from keepwell.services import slack
from keepwell.store.db import transaction
from keepwell.store.models import Message
from slackbook import CHANNEL, SECRET, SLACK_BOOK, body_of, envelope, message, signed
from workers import KEEPWELL, wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _messages(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def test_keepwell_serve_applies_a_signed_event_with_its_own_jobs(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    load(engine, *SLACK_BOOK)
    slack.map_channel(engine, CHANNEL, "acme", datetime.now(UTC))
    port = _free_port()
    env = {
        **os.environ,
        "KEEPWELL_DATABASE_URL": database_url,
        "KEEPWELL_SLACK_SIGNING_SECRET": SECRET,
        "KEEPWELL_JOBS_PATH": str(tmp_path / "jobs.db"),
    }
    env.pop("KEEPWELL_REDIS_URL", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*KEEPWELL, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _up(base), 30), log.read_text()
        body = body_of(envelope(message("1712345678.000100")))
        response = httpx.post(
            f"{base}/integrations/slack/events", content=body, headers=signed(body)
        )
        assert response.status_code == 200
        again = httpx.post(f"{base}/integrations/slack/events", content=body, headers=signed(body))
        assert again.status_code == 200
        assert wait_for(lambda: _messages(engine) == 1, 30), log.read_text()
        children = _children(server.pid)
        assert children, "the jobs run in a process of their own"
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    assert wait_for(lambda: not [pid for pid in children if _running(pid)], 10)
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    assert code in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete" in log.read_text()


def test_a_jobs_process_that_dies_is_started_again_and_applies_what_came_meanwhile(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    load(engine, *SLACK_BOOK)
    slack.map_channel(engine, CHANNEL, "acme", datetime.now(UTC))
    port = _free_port()
    env = {**os.environ, "KEEPWELL_DATABASE_URL": database_url,
           "KEEPWELL_SLACK_SIGNING_SECRET": SECRET,
           "KEEPWELL_JOBS_PATH": str(tmp_path / "jobs.db")}  # fmt: skip
    env.pop("KEEPWELL_REDIS_URL", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*KEEPWELL, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _up(base), 30), log.read_text()
        assert wait_for(lambda: _jobs_children(server.pid), 30), log.read_text()
        (first,) = _jobs_children(server.pid)
        os.kill(first, signal.SIGKILL)
        body = body_of(envelope(message("1712345678.000200")))
        response = httpx.post(
            f"{base}/integrations/slack/events", content=body, headers=signed(body)
        )
        assert response.status_code == 200  # stored while no jobs process runs
        assert wait_for(lambda: _messages(engine) == 1, 60), log.read_text()
        assert first not in _jobs_children(server.pid)
        assert "the jobs process ended" in log.read_text()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) in (0, -signal.SIGTERM), log.read_text()


def test_ctrl_c_stops_the_server_and_its_jobs_process_without_restarting_it(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = {**os.environ, "KEEPWELL_DATABASE_URL": database_url,
           "KEEPWELL_JOBS_PATH": str(tmp_path / "jobs.db")}  # fmt: skip
    env.pop("KEEPWELL_REDIS_URL", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*KEEPWELL, "serve", "--port", str(port)], env=env, stdout=out, stderr=out,
            start_new_session=True,  # a terminal's process group of its own
        )  # fmt: skip
    try:
        assert wait_for(lambda: _up(f"http://127.0.0.1:{port}"), 30), log.read_text()
        assert wait_for(lambda: _jobs_children(server.pid), 30), log.read_text()
        children = _children(server.pid)
        os.killpg(server.pid, signal.SIGINT)  # Ctrl-C: every process of the group
        code = server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    assert code in (0, -signal.SIGINT), log.read_text()
    assert wait_for(lambda: not [pid for pid in children if _running(pid)], 10)
    assert "the jobs process ended" not in log.read_text()


def _jobs_children(pid: int) -> list[int]:
    """The server's jobs process (on PostgreSQL its web processes are children too)."""
    return [
        child
        for child in _children(pid)
        if _running(child) and b"keepwell.jobs.worker" in _cmdline(child)
    ]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return [int(child) for task in tasks for child in (task / "children").read_text().split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended (its parent reaps it)


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
