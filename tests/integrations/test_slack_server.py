"""`keepwell serve` as a real server: a signed Slack event over a socket, applied by the
jobs process it starts, and a clean stop of both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from dataclasses import dataclass
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


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def text(self) -> str:
        return self.log.read_text()

    def post(self, ts: str) -> httpx.Response:
        body = body_of(envelope(message(ts)))
        return httpx.post(f"{self.base}/integrations/slack/events", content=body,
                          headers=signed(body))  # fmt: skip


def _serve(database_url: str, tmp_path: Path, *, own_group: bool = False) -> Served:
    """`keepwell serve` on the embedded queue, answering; stopping it is the test's."""
    port = _free_port()
    env = {**os.environ, "KEEPWELL_DATABASE_URL": database_url,
           "KEEPWELL_SLACK_SIGNING_SECRET": SECRET,
           "KEEPWELL_JOBS_PATH": str(tmp_path / "jobs.db")}  # fmt: skip
    env.pop("KEEPWELL_REDIS_URL", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*KEEPWELL, "serve", "--port", str(port)], env=env, stdout=out, stderr=out,
            start_new_session=own_group,  # as a terminal's process group of its own
        )  # fmt: skip
    served = Served(process, f"http://127.0.0.1:{port}", log)
    assert wait_for(lambda: _up(served.base), 30), served.text()
    assert wait_for(lambda: _jobs_children(process.pid), 30), served.text()
    return served


def _mapped_book(engine: Engine) -> None:
    load(engine, *SLACK_BOOK)
    slack.map_channel(engine, CHANNEL, "acme", datetime.now(UTC))


def test_keepwell_serve_applies_a_signed_event_with_its_own_jobs(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    _mapped_book(engine)
    served = _serve(database_url, tmp_path)
    try:
        assert served.post("1712345678.000100").status_code == 200
        assert served.post("1712345678.000100").status_code == 200  # a repeat
        assert wait_for(lambda: _messages(engine) == 1, 30), served.text()
        children = _children(served.process.pid)
    finally:
        served.process.send_signal(signal.SIGTERM)
        code = served.process.wait(timeout=30)
    assert wait_for(lambda: not [pid for pid in children if _running(pid)], 10)
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    assert code in (0, -signal.SIGTERM), served.text()
    assert "Application shutdown complete" in served.text()


def test_a_jobs_process_that_dies_is_started_again_and_applies_what_came_meanwhile(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    _mapped_book(engine)
    served = _serve(database_url, tmp_path)
    try:
        (first,) = _jobs_children(served.process.pid)
        os.kill(first, signal.SIGKILL)
        assert served.post("1712345678.000200").status_code == 200  # while no jobs process
        assert wait_for(lambda: _messages(engine) == 1, 60), served.text()
        assert first not in _jobs_children(served.process.pid)
        assert "the jobs process ended" in served.text()
    finally:
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) in (0, -signal.SIGTERM), served.text()


def test_ctrl_c_stops_the_server_and_its_jobs_process_without_restarting_it(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    served = _serve(database_url, tmp_path, own_group=True)
    try:
        children = _children(served.process.pid)
        os.killpg(served.process.pid, signal.SIGINT)  # Ctrl-C: every process of the group
        code = served.process.wait(timeout=60)
    finally:
        if served.process.poll() is None:
            served.process.kill()
    assert code in (0, -signal.SIGINT), served.text()
    assert wait_for(lambda: not [pid for pid in children if _running(pid)], 10)
    assert "the jobs process ended" not in served.text()


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
