"""Mail import speed: an mbox of client questions and the team's replies, threaded, imported
with `keepwell mail import` into the demo book.

    uv run python bench/mail.py [--mails N]

Loads the demo book into a temporary SQLite database (or the empty PostgreSQL database named
by --database-url), writes an mbox of N mails (each a question by one of the demo's contacts,
every other one answered by the account's CSM in its thread), imports it with the command as
a user runs it, then imports it again (every mail a duplicate: nothing changes). Prints
figures and a last line of JSON: `mails_per_second` of each import, and what was applied.
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy import func, select

from keepwell.store.db import make_engine, transaction
from keepwell.store.models import Account, Contact, Mail, User

KEEPWELL = [sys.executable, "-c", "from keepwell.cli import main; main()"]


def _people(url: str) -> list[tuple[str, str]]:
    """(a contact's address, their CSM's address) for each account with both."""
    engine = make_engine(url)
    with transaction(engine) as session:
        rows = session.execute(
            select(func.min(Contact.email), User.email)
            .join(Account, Account.id == Contact.account_id)
            .join(User, User.id == Account.owner_id)
            .where(Contact.email.is_not(None), User.email.is_not(None))
            .group_by(Account.id, User.email)
            .order_by(Account.id)
        ).all()
    engine.dispose()
    return [(client, csm) for client, csm in rows]


def _mbox(path: Path, count: int, people: list[tuple[str, str]]) -> None:
    start = datetime.now(UTC) - timedelta(days=3)
    box = mailbox.mbox(path)
    question: EmailMessage | None = None
    for n in range(count):
        client, csm = people[(n // 2) % len(people)]
        mail = EmailMessage()
        mail["Date"] = format_datetime(start + timedelta(minutes=n))
        mail["Message-ID"] = make_msgid(f"bench{n}")
        if n % 2 == 0 or question is None:
            mail["From"], mail["To"] = client, csm
            mail["Subject"] = f"Question {n}"
            mail.set_content(f"Hello,\n\nthe report {n} looks wrong. Can you check?\n")
            question = mail
        else:
            mail["From"], mail["To"] = csm, client
            mail["Subject"] = f"Re: {question['Subject']}"
            mail["In-Reply-To"] = mail["References"] = question["Message-ID"]
            mail.set_content("On it: fixed by 4pm.\n\n> the report looks wrong\n")
        box.add(mail)
    box.flush()
    box.close()


def _import(path: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([*KEEPWELL, "mail", "import", str(path)], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - started


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with transaction(engine) as session:
        rows = session.execute(select(Mail.state, func.count()).group_by(Mail.state)).all()
    engine.dispose()
    return {state: count for state, count in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=5_000)
    parser.add_argument("--database-url", help="an empty database (default: a temp SQLite)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kw-mail-"))
    url = args.database_url or f"sqlite:///{folder / 'keepwell.db'}"
    env = {**os.environ, "KEEPWELL_DATABASE_URL": url}
    subprocess.run([*KEEPWELL, "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    path = folder / "bench.mbox"
    _mbox(path, args.mails, _people(url))
    print(f"importing {args.mails:,} mails ({path.stat().st_size / 1e6:.1f} MB) into {url}")
    first = _import(path, env)
    again = _import(path, env)
    counts = _counts(url)
    figures = {
        "database": url.split(":")[0],
        "mails": args.mails,
        "mails_per_second": round(args.mails / first, 1),
        "again_mails_per_second": round(args.mails / again, 1),
        "seconds": round(first, 2),
        "states": counts,
    }
    print(f"first import {first:.2f} s, again {again:.2f} s; mail by state: {counts}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
