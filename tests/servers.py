"""Real servers for the integration tests: Dovecot (IMAP) as a subprocess in a temp dir,
aiosmtpd (SMTP) and a fake of Slack's Web API that records every call, in threads."""

from __future__ import annotations

import email
import email.policy
import imaplib
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, process: subprocess.Popen[bytes] | None = None, greeting: bytes = b""
) -> None:
    """Until a connection to `port` succeeds (and the server's first line starts with
    `greeting`: Dovecot accepts connections before its auth process is ready)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                if not greeting or sock.makefile("rb").readline().startswith(greeting):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"nothing ready on port {port}")


def require_dovecot() -> str:
    """Dovecot's path; without it the test is skipped on a developer's machine and fails in
    CI, where .ci/run installs dovecot-imapd."""
    if DOVECOT is None:
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed: .ci/run must install dovecot-imapd")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    return DOVECOT


@dataclass(frozen=True)
class Imap:
    port: int
    user: str
    password: str

    @property
    def url(self) -> str:
        return f"imap://{self.user}:{self.password}@127.0.0.1:{self.port}/INBOX"


_CONFIG = """
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{d}/mail/%u
first_valid_uid = 1
first_valid_gid = 1
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def deliver(imap: Imap, at: datetime, *ids: str) -> None:
    """Put a mail from joe@acme.example to ana@example.com in the INBOX for each id, with
    Message-ID <id@acme.example>, received at `at`."""
    client = imaplib.IMAP4("127.0.0.1", imap.port)
    client.login(imap.user, imap.password)
    for id in ids:
        raw = (
            f"From: joe@acme.example\r\nTo: ana@example.com\r\nSubject: {id}\r\n"
            f"Message-ID: <{id}@acme.example>\r\nDate: Mon, 05 Oct 2026 09:50:00 -0400\r\n"
            f"\r\nMessage {id}\r\n"
        ).encode()
        client.append("INBOX", "", imaplib.Time2Internaldate(at), raw)
    client.logout()


def _service_users() -> tuple[str, str, str]:
    """Dovecot's login and internal users, and their group: the current user; as root, the
    unprivileged users Debian's package creates (Dovecot refuses to log in as root)."""
    current = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() != 0:
        return current, current, current
    known = {entry.pw_name for entry in pwd.getpwall()}
    login = "dovenull" if "dovenull" in known else "nobody"
    internal = "dovecot" if "dovecot" in known else "nobody"
    return login, internal, internal


@contextmanager
def dovecot() -> Iterator[Imap]:
    """A Dovecot of its own on a free port, one user with a Maildir, stopped at the end.

    Its folder is a fresh one under /tmp readable by Dovecot's unprivileged login process
    (pytest's tmp_path is not, for root)."""
    binary = require_dovecot()
    folder = Path(tempfile.mkdtemp(prefix="keepwell-dovecot-"))
    folder.chmod(0o755)
    try:
        with _dovecot(binary, folder) as imap:
            yield imap
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _dovecot(binary: str, folder: Path) -> Iterator[Imap]:
    port = free_port()
    login_user, internal_user, internal_group = _service_users()
    # The mail user: the current one, or as root the internal one (never uid 0).
    account = pwd.getpwnam(internal_user) if os.getuid() == 0 else pwd.getpwuid(os.getuid())
    for name in ("run", "state", "mail", "home"):
        (folder / name).mkdir(parents=True)
    for name in ("mail", "home"):
        os.chown(folder / name, account.pw_uid, account.pw_gid)
    (folder / "passwd").write_text("kw:{PLAIN}secret::::::\n")
    config = folder / "dovecot.conf"
    config.write_text(
        _CONFIG.format(
            d=folder,
            port=port,
            login_user=login_user,
            internal_user=internal_user,
            internal_group=internal_group,
            uid=account.pw_uid,
            gid=account.pw_gid,
        )
    )
    process = subprocess.Popen([binary, "-F", "-c", str(config)])
    try:
        wait_for_port(port, process, greeting=b"* OK")
        yield Imap(port, "kw", "secret")
    finally:
        process.terminate()
        process.wait(timeout=20)


# ---------------------------------------------------------------- SMTP (aiosmtpd)


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message_id: str
    subject: str
    body: str


class SmtpRecorder:
    """An aiosmtpd handler that keeps every message and refuses the addresses in `refuse`."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.refuse: dict[str, str] = {}  # address -> the SMTP answer, e.g. "550 no such user"
        self.refuse_data: str | None = None  # the answer to every message's final "."
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.refuse_data is not None:
            return self.refuse_data
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        with self._lock:
            self.messages.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    str(message["Message-ID"]),
                    str(message["Subject"]),
                    body.get_content().replace("\r\n", "\n") if body is not None else "",
                )
            )
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[tuple[str, SmtpRecorder]]:
    """An SMTP server in a thread of this process; yields its URL and what it received."""
    from aiosmtpd.controller import Controller

    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", recorder
    finally:
        controller.stop()


# ---------------------------------------------------------------- Slack's Web API, faked


@dataclass
class SlackCall:
    method: str
    args: dict[str, Any]


class FakeSlack:
    """Answers chat.postMessage, conversations.open and conversations.history as Slack does,
    records every call, and answers the next posts with the errors queued in `failures`
    ((error, HTTP status) pairs) or, for the users in `gone`, channel_not_found."""

    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self.failures: list[tuple[str, int]] = []
        self.gone: set[str] = set()
        self.posted: dict[str, list[dict[str, Any]]] = {}  # DM channel -> messages
        self._lock = threading.Lock()
        self._clock = 1_700_000_000.0

    def answer(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append(SlackCall(method, args))
            if method == "chat.postMessage":
                return self._post(args)
            if method == "conversations.open":
                return 200, {"ok": True, "channel": {"id": "D" + str(args["users"])}}
            if method == "conversations.history":
                return 200, {"ok": True, "messages": self.posted.get(str(args["channel"]), [])}
            return 404, {"ok": False, "error": "unknown_method"}

    def _post(self, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.failures:
            error, status = self.failures.pop(0)
            return status, {"ok": False, "error": error}
        user = str(args["channel"])
        if user in self.gone:
            return 200, {"ok": False, "error": "channel_not_found"}
        self._clock += 1
        message = {
            "ts": f"{self._clock:.6f}",
            "text": args.get("text"),
            "metadata": args.get("metadata"),
        }
        self.posted.setdefault("D" + user, []).append(message)
        return 200, {"ok": True, "channel": "D" + user, "ts": message["ts"]}

    def posts(self) -> list[SlackCall]:
        return [call for call in self.calls if call.method == "chat.postMessage"]


@contextmanager
def fake_slack() -> Iterator[tuple[str, FakeSlack]]:
    """The fake on a free port in a thread of this process; yields its base URL and itself."""
    fake = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if body and "json" in (self.headers.get("Content-Type") or ""):
                args.update(json.loads(body))
            elif body:
                args.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
            status, answer = fake.answer(url.path.rsplit("/", 1)[-1], args)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/", fake
    finally:
        server.shutdown()
        server.server_close()
