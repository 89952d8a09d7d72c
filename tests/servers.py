"""Real servers for the integration tests, each a normal subprocess or thread in a temp dir:
Dovecot (IMAP), aiosmtpd (SMTP) and a fake of Slack's Web API that records every call."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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
