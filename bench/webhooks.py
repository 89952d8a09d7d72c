"""Webhook speed (issue 15): signed Slack message events from 20 concurrent senders to
`keepwell serve` on this machine, then the time until every accepted event is applied.

    uv run python bench/webhooks.py [--events N] [--senders N] [--database-url URL]
                                     [--redis-url URL] [--workers N] [--access-log]

It loads the demo book into a temporary SQLite database (or the empty PostgreSQL database
named by --database-url), maps a Slack channel to each of 20 accounts, starts `keepwell
serve` with a signing secret (and its jobs process, on the SQLite queue beside a temp file),
and sends from this process, a separate one from the server. Events: client messages opening
threads and CSM replies in them, each really signed (before the clock starts: signing is
Slack's work).

Prints figures and a last line of JSON: `events_per_second` (accepted, 2xx), `p99_ms` (of
the answers), `lag_seconds` (from the last accepted answer until all are applied), and the
CPU seconds the server's processes and the senders took meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import uvloop
from sqlalchemy import func, select

from keepwell.integrations.slack.verify import sign
from keepwell.services import slack
from keepwell.store.db import make_engine, transaction
from keepwell.store.models import Account, Contact, Delivery, User

SECRET = "bench-signing-secret"
KEEPWELL = [sys.executable, "-c", "from keepwell.cli import main; main()"]
CHANNELS = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(url: str, env: dict[str, str]) -> list[tuple[str, str, str]]:
    """The demo book, and CHANNELS channels mapped: (channel, client's slack id, CSM's)."""
    subprocess.run([*KEEPWELL, "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    engine = make_engine(url)
    with transaction(engine) as session:
        rows = session.execute(
            select(Account.id, User.slack_user_id, func.min(Contact.slack_user_id))
            .join(User, User.id == Account.owner_id)
            .join(Contact, Contact.account_id == Account.id)
            .where(User.slack_user_id.is_not(None), Contact.slack_user_id.is_not(None))
            .group_by(Account.id, User.slack_user_id)
            .order_by(Account.id)
            .limit(CHANNELS)
        ).all()
    channels = []
    for n, (account, csm, client) in enumerate(rows):
        channel = f"CBENCH{n:04d}"
        slack.map_channel(engine, channel, account, datetime.now(UTC))
        channels.append((channel, client or "UCLIENT", csm))
    engine.dispose()
    return channels


def _events(count: int, channels: list[tuple[str, str, str]]) -> list[bytes]:
    """Client questions, each answered by the CSM in its thread two events later."""
    rng = random.Random(7)
    base = int(time.time()) - 3600
    bodies, open_threads = [], []
    for n in range(count):
        ts = f"{base + n // 1000}.{n % 1000:03d}{rng.randrange(1000):03d}"
        if open_threads and n % 3 == 2:
            channel, thread, _, csm = open_threads.pop(0)
            event = {"type": "message", "channel": channel, "user": csm, "ts": ts,
                     "thread_ts": thread, "text": "On it, fix by 4pm."}  # fmt: skip
        else:
            channel, client, csm = channels[n % len(channels)]
            event = {"type": "message", "channel": channel, "user": client, "ts": ts,
                     "text": f"Question {n}: the report is wrong"}  # fmt: skip
            open_threads.append((channel, ts, client, csm))
        envelope = {"type": "event_callback", "team_id": "TBENCH", "api_app_id": "ABENCH",
                    "event_id": f"EvBENCH{n:08d}", "event_time": base, "event": event}  # fmt: skip
        bodies.append(orjson.dumps(envelope))
    return bodies


def _requests(path: str, bodies: list[bytes]) -> list[bytes]:
    """Each body as a whole signed HTTP request, signed now: Slack signs as it sends, and its
    signing is Slack's work, not Keepwell's, so the senders do it before the clock starts (the
    signatures stay fresh for Slack's 5 minutes, longer than any run)."""
    now = int(time.time())
    requests = []
    for body in bodies:
        headers = sign(body, SECRET, now)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Slack-Request-Timestamp: {headers['X-Slack-Request-Timestamp']}\r\n"
            f"X-Slack-Signature: {headers['X-Slack-Signature']}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


async def _send(port: int, requests: list[bytes], senders: int) -> _Sent:
    """Post every request from `senders` keep-alive connections at once.

    A small HTTP/1.1 client on asyncio streams (uvloop) rather than httpx: httpx.AsyncClient
    spends about 1.8 ms of CPU a request, and on this 2-core machine topped out at 540
    requests/s against a server that answers without doing anything. The senders would
    otherwise measure themselves, not Keepwell."""
    sent = _Sent()
    queue = iter(requests)

    async def sender() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in queue:
            start = time.perf_counter()
            writer.write(request)
            status = await _response_status(reader)
            sent.latencies.append(time.perf_counter() - start)
            if 200 <= status < 300:
                sent.accepted += 1
                sent.last_accepted = time.perf_counter()
        writer.close()

    await asyncio.gather(*(sender() for _ in range(senders)))
    return sent


@dataclass
class _Sent:
    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    last_accepted: float = 0.0


async def _response_status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in lines
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    await reader.readexactly(length)
    return int(lines[0].split()[1])


WARM_UP = 1  # events sent and applied before the clock starts


def _warm_up(base: str, url: str, channel: tuple[str, str, str], patience: float) -> None:
    """One event, sent and applied before the clock starts: the jobs process is up (a fresh
    interpreter, ready a few seconds after the web server answers)."""
    name, client, _ = channel
    event = {"type": "message", "channel": name, "user": client, "ts": f"{int(time.time())}.000001",
             "text": "Is anyone there?"}  # fmt: skip
    body = orjson.dumps({"type": "event_callback", "team_id": "TBENCH", "api_app_id": "ABENCH",
                         "event_id": "EvBENCHWARMUP", "event_time": int(time.time()),
                         "event": event})  # fmt: skip
    headers = {"Content-Type": "application/json", **sign(body, SECRET, int(time.time()))}
    httpx.post(
        f"{base}/integrations/slack/events", content=body, headers=headers
    ).raise_for_status()
    deadline = time.perf_counter() + patience
    while _applied(url) < WARM_UP:
        if time.perf_counter() > deadline:
            sys.exit("the warm-up event was never applied: is the jobs process running?")
        time.sleep(0.05)


def _applied(url: str) -> int:
    engine = make_engine(url)
    try:
        with transaction(engine) as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.state == "applied")
                )
                or 0
            )
    finally:
        engine.dispose()


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time of these processes and of their children (Linux's /proc; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for each in {*pids, *(child for parent in pids for child in _children(parent))}:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except OSError:
        return []


def _forget_queue(redis_url: str, name: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"huey.*{name}*"):
        client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--database-url", help="an empty database (default: a temp SQLite)")
    parser.add_argument(
        "--redis-url",
        help="production mode: the queue in Redis, applied by a `keepwell worker` process "
        "(default: the embedded SQLite queue, applied by the jobs process `keepwell serve` "
        "starts)",
    )
    parser.add_argument("--workers", type=int, default=1, help="`keepwell serve --workers`")
    parser.add_argument(
        "--access-log", action="store_true", help="keep uvicorn's line per request (default off)"
    )
    parser.add_argument("--max-lag", type=float, default=300, help="give up waiting after")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kw-webhooks-"))
    url = args.database_url or f"sqlite:///{folder / 'keepwell.db'}"
    port = _free_port()
    env = {**os.environ, "KEEPWELL_DATABASE_URL": url, "KEEPWELL_SLACK_SIGNING_SECRET": SECRET,
           "KEEPWELL_JOBS_PATH": str(folder / "jobs.db")}  # fmt: skip
    env.pop("KEEPWELL_REDIS_URL", None)
    if args.redis_url:
        env.update(KEEPWELL_REDIS_URL=args.redis_url, KEEPWELL_JOBS_QUEUE=f"bench-{port}")
    channels = _setup(url, env)
    bodies = _events(args.events, channels)
    log = (folder / "serve.log").open("wb")
    server = subprocess.Popen(
        [*KEEPWELL, "serve", "--port", str(port), "--workers", str(args.workers),
         "--access-log" if args.access_log else "--no-access-log"],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    worker = None
    if args.redis_url:
        worker = subprocess.Popen([*KEEPWELL, "worker"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        _warm_up(base, url, channels[0], args.max_lag)
        print(
            f"serving {url} on {base}; sending {len(bodies):,} events from {args.senders} senders"
        )
        requests = _requests("/integrations/slack/events", bodies)
        serving = [server.pid, *([worker.pid] if worker else [])]
        cpu_before, own_before = _cpu_seconds(serving), time.process_time()
        start = time.perf_counter()
        sent = uvloop.run(_send(port, requests, args.senders))
        own_cpu = time.process_time() - own_before
        latencies, accepted, last = sent.latencies, sent.accepted, sent.last_accepted
        sent_for = last - start
        while _applied(url) - WARM_UP < accepted and time.perf_counter() - last < args.max_lag:
            time.sleep(0.05)
        lag = time.perf_counter() - last
        server_cpu = _cpu_seconds(serving) - cpu_before
        applied = _applied(url) - WARM_UP
    finally:
        for process in (server, worker):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
        if args.redis_url:
            _forget_queue(args.redis_url, f"bench-{port}")
    latencies.sort()
    figures = {
        "database": url.split(":")[0],
        "queue": "redis, keepwell worker" if args.redis_url else "sqlite, serve's jobs process",
        "events": len(bodies),
        "senders": args.senders,
        "workers": args.workers,
        "access_log": args.access_log,
        "accepted": accepted,
        "applied": applied,
        "events_per_second": round(accepted / sent_for, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "lag_seconds": round(lag, 2),
        # where the 2 cores went, from the first send until all was applied
        "server_cpu_seconds": round(server_cpu, 2),
        "sender_cpu_seconds": round(own_cpu, 2),
    }
    print(f"accepted {accepted:,} in {sent_for:.2f} s; applied {applied:,} {lag:.2f} s after")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
