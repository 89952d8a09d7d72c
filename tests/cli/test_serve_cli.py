"""`keepwell serve --workers N`: several processes on one port (issue 13 §5)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from keepwell.cli.serve import default_workers
from servers import free_port, wait_for_port


def test_one_process_serves_sqlite_and_one_per_core_serves_postgresql() -> None:
    assert default_workers("sqlite") == 1
    assert default_workers("postgresql") == (os.cpu_count() or 1)


def test_serve_with_two_workers_starts_two_server_processes_that_answer(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    keepwell = Path(sys.executable).with_name("keepwell")
    env = {**os.environ, "KEEPWELL_DATABASE_URL": database_url}
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        command = [str(keepwell), "serve", "--workers", "2", "--port", str(port)]
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.status == 200
        started = _wait_for_startups(log_path, 2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "2 processes" in log_path.read_text()
    assert started == 2, log_path.read_text()


def _wait_for_startups(log_path: Path, expected: int) -> int:
    """How many workers said they started, once `expected` did or after 30 s."""
    deadline = time.monotonic() + 30
    while True:
        started = log_path.read_text().count("Application startup complete")
        if started >= expected or time.monotonic() > deadline:
            return started
        time.sleep(0.1)


def test_serve_with_workers_refuses_a_port_another_server_listens_on(database_url: str) -> None:
    port = free_port()
    keepwell = Path(sys.executable).with_name("keepwell")
    env = {**os.environ, "KEEPWELL_DATABASE_URL": database_url}
    command = [str(keepwell), "serve", "--workers", "2", "--port", str(port)]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, first)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    finally:
        first.terminate()
        first.wait(timeout=30)
    assert second.returncode == 1
    assert f"error: --port {port} on 127.0.0.1: Address already in use" in second.stderr


def test_the_workers_stop_serving_when_their_parent_is_killed_outright(
    database_url: str,
) -> None:
    port = free_port()
    keepwell = Path(sys.executable).with_name("keepwell")
    env = {**os.environ, "KEEPWELL_DATABASE_URL": database_url}
    command = [str(keepwell), "serve", "--workers", "2", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_for_port(port, server)
    server.kill()
    server.wait(timeout=30)
    assert _port_closes(port)


def _port_closes(port: int) -> bool:
    """Whether nothing answers on `port` within 20 s."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return True
        time.sleep(0.1)
    return False
