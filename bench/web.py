"""The web app under load: p50/p95 per page and pages per second (issue 13 §5).

    uv run python bench/web.py [--database-url URL] [--workers N] [--seconds 20] [--users 20]
                               [--pages today,accounts,account] [--accounts 5]

Starts `keepwell serve --demo --workers N` itself on a free port (the demo book is created and
loaded when the database is empty; default: bench/out/web.db, kept between runs), signs in
`--users` simulated users through /login (a mix of the demo's CSMs and its manager; argon2
costs ~130 ms a sign-in, so this happens before the timed part), opens every path once with
every session (the pages' figures are computed on a first view and kept until the book
changes: the timed part measures the steady state; the slowest first view is printed), then
drives each page in turn with wrk (Debian's `wrk` package: C, so the load generator is not
the bottleneck), 20
keep-alive connections cycling through the users' session cookies and the page's paths,
the `--seconds` shared out between the pages. A page that answers 404 (not built yet) is
reported and skipped.

Pages: today `/`, accounts `/accounts`, account `/accounts/{id}` for `--accounts` ids, team
`/team` and team-csm `/team/{csm}` for each CSM (issue 14: the month's scorecards and a CSM's
twelve months, driven with the manager's sessions only: a CSM is sent to their own page), and
login `/login` (signed out). Prints each page's p50/p95, then a last line of JSON with
`p95_ms` (the worst page's p95) and `pages_per_second` (all pages' requests over the timed
seconds). No assertions on time. Target (issue 13): p95 < 50 ms and >= 500 pages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
DEMO_PASSWORD = "keepwell-demo"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

LUA = """
local cookies = %(cookies)s
local paths = %(paths)s
local counter = 0

function setup(thread)
  thread:set("offset", %(offset)s)
end

function request()
  counter = counter + 1
  local headers = {}
  local cookie = cookies[((counter + (offset or 0)) %% #cookies) + 1]
  if cookie ~= "" then headers["Cookie"] = cookie end
  return wrk.format("GET", paths[(counter %% #paths) + 1], headers)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '\\n@@{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, '
    .. '"max_us": %%d, "bad_status": %%d, "socket_errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""


@dataclass(frozen=True)
class Page:
    name: str
    paths: list[str]
    signed_in: bool = True
    role: str | None = None  # only the sessions of this role drive it (None: any)


def main() -> None:
    args = _arguments()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("error: no wrk: apt-get install wrk (the load generator)")
    database_url = args.database_url or f"sqlite:///{HERE / 'out' / 'web.db'}"
    (HERE / "out").mkdir(exist_ok=True)
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    workers = args.workers or (1 if dialect == "sqlite" else os.cpu_count() or 1)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as scratch:
        log_path = Path(scratch) / "serve.log"
        server = _start_server(database_url, port, workers, log_path)
        try:
            _wait_until_healthy(base, server, log_path)
            sessions = _sign_in(base, _people(database_url), args.users)
            cookies = [cookie for cookie, _role in sessions]
            pages = _pages(
                args.pages, _account_ids(database_url, args.accounts), _csm_ids(database_url)
            )
            ready, skipped = _probe(base, pages, sessions)
            if not ready:
                sys.exit("error: no page to drive (every one answered 404)")
            _warm(base, ready, sessions)
            per_page = max(1, args.seconds // len(ready))
            results = {
                page.name: _drive(
                    wrk, base, page, _of_role(sessions, page.role), per_page, args, Path(scratch)
                )
                for page in ready
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    _report(results, skipped, dialect=dialect, workers=workers, users=len(cookies))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: SQLite at bench/out/web.db")
    parser.add_argument("--workers", type=int, help="default: serve's (1 SQLite, cores PG)")
    parser.add_argument("--seconds", type=int, default=20, help="timed seconds in all")
    parser.add_argument("--users", type=int, default=20, help="signed-in users = connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--pages", default="today,accounts,account,team,team-csm")
    parser.add_argument("--accounts", type=int, default=5, help="account pages to cycle")
    return parser.parse_args()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keepwell() -> str:
    beside = Path(sys.executable).with_name("keepwell")
    found = str(beside) if beside.exists() else shutil.which("keepwell")
    if found is None:
        sys.exit("error: no keepwell command; run `uv sync` first")
    return found


def _start_server(
    database_url: str, port: int, workers: int, log_path: Path
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KEEPWELL_DATABASE_URL": database_url}
    command = [_keepwell(), "serve", "--demo", "--port", str(port), "--workers", str(workers)]
    print(f"Starting: {' '.join(command[1:])} (the demo is loaded if the database is empty)")
    with log_path.open("wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_until_healthy(base: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                time.sleep(1)  # let every worker finish starting
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    sys.exit(f"error: the server did not start; its output:\n{log_path.read_text()}")


def _people(database_url: str) -> list[tuple[str, str]]:
    """The demo's managers and CSMs who can sign in, managers first: (email, role)."""
    from sqlalchemy import select

    from keepwell.store.db import make_engine
    from keepwell.store.models import User

    engine = make_engine(database_url)
    query = (
        select(User.email, User.role)
        .where(User.role.in_(("manager", "csm")), User.active, User.email.is_not(None))
        .order_by(User.role.desc(), User.email)
    )
    with engine.connect() as connection:
        people = [(str(email), str(role)) for email, role in connection.execute(query)]
    engine.dispose()
    return people


def _sign_in(base: str, people: list[tuple[str, str]], users: int) -> list[tuple[str, str]]:
    """`users` sessions through the sign-in form, taking the people in turn (a manager's
    first); their Cookie headers, each with the person's role."""
    started = time.monotonic()
    cookies = []
    for index in range(users):
        with httpx.Client(base_url=base, follow_redirects=False) as client:
            form = client.get("/login")
            token = CSRF.search(form.text)
            if token is None:
                sys.exit("error: /login has no csrf_token field")
            email, role = people[index % len(people)]
            answer = client.post(
                "/login",
                data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
            )
            session = answer.cookies.get("keepwell_session")
            if answer.status_code != 303 or session is None:
                sys.exit(f"error: {email} could not sign in")
            cookies.append((f"keepwell_session={session}", role))
    print(f"Signed in {users} users ({len(people)} people) in {time.monotonic() - started:.1f} s")
    return cookies


def _account_ids(database_url: str, count: int) -> list[str]:
    from sqlalchemy import select

    from keepwell.store.db import make_engine
    from keepwell.store.models import Account

    engine = make_engine(database_url)
    with engine.connect() as connection:
        ids = [str(i) for i in connection.scalars(select(Account.id).order_by(Account.id))]
    engine.dispose()
    step = max(1, len(ids) // max(1, count))
    return ids[::step][:count]


def _csm_ids(database_url: str) -> list[str]:
    from sqlalchemy import select

    from keepwell.store.db import make_engine
    from keepwell.store.models import User

    engine = make_engine(database_url)
    with engine.connect() as connection:
        query = select(User.id).where(User.role == "csm").order_by(User.id)
        ids = [str(i) for i in connection.scalars(query)]
    engine.dispose()
    return ids


def _of_role(sessions: list[tuple[str, str]], role: str | None) -> list[str]:
    return [cookie for cookie, who in sessions if role is None or who == role]


def _pages(names: str, account_ids: list[str], csm_ids: list[str]) -> list[Page]:
    known = {
        "today": Page("today", ["/"]),
        "accounts": Page("accounts", ["/accounts"]),
        "account": Page("account", [f"/accounts/{i}" for i in account_ids]),
        "team": Page("team", ["/team"], role="manager"),
        "team-csm": Page("team-csm", [f"/team/{i}" for i in csm_ids], role="manager"),
        "login": Page("login", ["/login"], signed_in=False),
    }
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown:
        sys.exit(f"error: --pages: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    return [known[name] for name in chosen]


def _warm(base: str, pages: list[Page], sessions: list[tuple[str, str]]) -> None:
    """Every path once with every session that drives it, timed: the figures a page keeps
    (web/page_cache.py) are computed here, as a team's first views of the morning compute
    them, and the timed part measures the steady state that follows."""
    started = time.perf_counter()
    slowest: tuple[float, str] = (0.0, "")
    views = 0
    with httpx.Client(base_url=base, timeout=60) as client:
        for page in pages:
            for cookie in _of_role(sessions, page.role) if page.signed_in else [""]:
                for path in page.paths:
                    began = time.perf_counter()
                    client.get(path, headers={"Cookie": cookie} if cookie else {})
                    slowest = max(slowest, (time.perf_counter() - began, path))
                    views += 1
    print(f"Warmed {views} views in {time.perf_counter() - started:.1f} s "
          f"(slowest first view: {slowest[1]} {slowest[0] * 1000:.0f} ms)")  # fmt: skip


def _probe(
    base: str, pages: list[Page], sessions: list[tuple[str, str]]
) -> tuple[list[Page], list[str]]:
    """The pages that answer 200; those that answer 404 are reported and skipped."""
    ready, skipped = [], []
    for page in pages:
        cookies = _of_role(sessions, page.role)
        if page.signed_in and not cookies:
            sys.exit(f"error: {page.name} needs a {page.role}'s session; none signed in")
        headers = {"Cookie": cookies[0]} if page.signed_in else {}
        statuses = {httpx.get(base + p, headers=headers).status_code for p in page.paths}
        if statuses == {200}:
            ready.append(page)
        elif 404 in statuses:
            print(f"{page.name:10} skipped: {page.paths[0]} answers 404 (not built yet)")
            skipped.append(page.name)
        else:
            sys.exit(f"error: {page.name} answers {sorted(statuses)}, not 200")
    return ready, skipped


def _drive(
    wrk: str,
    base: str,
    page: Page,
    cookies: list[str],
    seconds: int,
    args: argparse.Namespace,
    scratch: Path,
) -> dict[str, float]:
    script = scratch / f"{page.name}.lua"
    sent = cookies if page.signed_in else [""]
    script.write_text(
        LUA
        % {
            "cookies": _lua_list(sent),
            "paths": _lua_list(page.paths),
            "offset": "math.random(1000)",
        }
    )
    connections = max(args.users, args.threads)
    command = [wrk, "-t", str(args.threads), "-c", str(connections), "-d", f"{seconds}s"]
    command += ["--timeout", "5s", "-s", str(script), base + page.paths[0]]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(text for text in output.splitlines() if text.startswith("@@"))
    raw = json.loads(line[2:])
    result = {
        "requests": raw["requests"],
        "seconds": raw["duration_us"] / 1e6,
        "per_second": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": raw["bad_status"] + raw["socket_errors"],
    }
    print(
        f"{page.name:10} p50 {result['p50_ms']:6.1f} ms  p95 {result['p95_ms']:6.1f} ms  "
        f"p99 {result['p99_ms']:6.1f} ms  {result['per_second']:7.0f}/s  "
        f"({result['requests']:,} requests, {result['errors']} errors)",
        flush=True,
    )
    return result


def _lua_list(items: list[str]) -> str:
    return "{" + ", ".join(json.dumps(item) for item in items) + "}"


def _report(
    results: dict[str, dict[str, float]],
    skipped: list[str],
    *,
    dialect: str,
    workers: int,
    users: int,
) -> None:
    requests = sum(r["requests"] for r in results.values())
    seconds = sum(r["seconds"] for r in results.values())
    summary = {
        "p95_ms": round(max(r["p95_ms"] for r in results.values()), 2),
        "pages_per_second": round(requests / seconds),
        "database": dialect,
        "workers": workers,
        "users": users,
        "errors": int(sum(r["errors"] for r in results.values())),
        "pages": {name: {k: round(v, 2) for k, v in r.items()} for name, r in results.items()},
        "skipped": skipped,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
