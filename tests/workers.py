"""Real job consumers for tests: `keepwell worker` processes on a Redis queue of their own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

REDIS_URL = os.environ.get("KEEPWELL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
KEEPWELL = [sys.executable, "-c", "from keepwell.cli import main; main()"]


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@contextmanager
def redis_queue() -> Iterator[str]:
    """A queue name of this test's own; its keys are removed afterwards."""
    name = f"kw-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"huey.*{name}*"):
        client.delete(key)


def worker_env(database_url: str, queue: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "KEEPWELL_DATABASE_URL": database_url,
        "KEEPWELL_REDIS_URL": REDIS_URL,
        "KEEPWELL_JOBS_QUEUE": queue,
        **extra,
    }


def start_worker(env: dict[str, str], log: Path, workers: int = 2) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [*KEEPWELL, "worker", "--workers", str(workers)], env=env, stdout=out, stderr=out
        )


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()
