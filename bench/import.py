"""Import speed: generate a book with N messages, import it into a fresh SQLite database.

    uv run python bench/import.py [--messages 2000000] [--database-url URL] [--keep]
                                  [--book FILE]

Prints progress, then a last line of JSON with `messages_per_second` (all lines counted in
the time, messages alone in the rate: the figure the foundation issue sets at 50,000/s).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from keepwell.services.importing import import_file
from keepwell.store.db import open_database

START = datetime(2025, 11, 1, tzinfo=UTC)
WORDS = [
    "the",
    "export",
    "failed",
    "again",
    "can",
    "you",
    "check",
    "the",
    "report",
    "numbers",
    "look",
    "off",
    "please",
    "we",
    "need",
    "access",
    "for",
    "a",
    "new",
    "hire",
    "invoice",
    "question",
    "about",
    "renewal",
    "dates",
    "thanks",
]


def generate(path: Path, messages: int, accounts: int, seed: int = 1) -> int:
    """Write a book: users, accounts, contacts, then threads of 2-6 messages; returns lines."""
    rng = random.Random(seed)
    schedule = {
        "type": "schedule",
        "id": "ny",
        "timezone": "America/New_York",
        "week": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": {"country": "US"},
    }
    lines = [schedule]
    csms = [f"u-{i:02d}" for i in range(50)]
    lines += [
        {"type": "user", "id": u, "name": u, "role": "csm", "timezone": "UTC", "schedule": "ny"}
        for u in csms
    ]
    for a in range(accounts):
        lines.append(
            {"type": "account", "id": f"a-{a}", "name": f"Account {a}", "owner": csms[a % 50],
             "started": "2025-01-01", "mrr": 1000 + a % 900, "currency": "USD"}
        )  # fmt: skip
        lines.append({"type": "contact", "id": f"c-{a}", "account": f"a-{a}", "name": "Pat"})
    written = 0
    with path.open("wb") as out:
        out.write(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
        count, thread = len(lines), 0
        while written < messages:
            thread += 1
            account = rng.randrange(accounts)
            at = START + timedelta(seconds=rng.randrange(365 * 86400))
            batch = []
            for k in range(min(rng.randint(2, 6), messages - written)):
                inbound = k % 2 == 0
                at += timedelta(seconds=rng.randrange(60, 7200))
                batch.append(
                    {"type": "message", "id": f"m-{written + k}", "account": f"a-{account}",
                     "thread": f"t-{thread}", "at": at.isoformat().replace("+00:00", "Z"),
                     "author": f"c-{account}" if inbound else csms[account % 50],
                     "direction": "inbound" if inbound else "outbound", "channel": "slack",
                     "text": " ".join(rng.choices(WORDS, k=rng.randint(4, 14)))}
                )  # fmt: skip
            written += len(batch)
            if rng.random() < 0.8:
                batch.append(
                    {"type": "resolve", "thread": f"t-{thread}",
                     "at": (at + timedelta(minutes=5)).isoformat(), "by": csms[account % 50]}
                )  # fmt: skip
            out.write(b"\n".join(orjson.dumps(x) for x in batch) + b"\n")
            count += len(batch)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument(
        "--book", type=Path, help="import this file (one --keep left) instead of generating one"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="keepwell-bench-"))
    source = workdir / "book.jsonl"
    t0 = time.perf_counter()
    if args.book:  # measured again on the same file: generating it takes longer than importing
        source.symlink_to(args.book.resolve())
        with args.book.open("rb") as book:
            kinds = [b'"type":"message"' in line for line in book]
        total_lines, args.messages = len(kinds), sum(kinds)
    else:
        total_lines = generate(source, args.messages, args.accounts)
        print(f"generated {total_lines:,} lines in {time.perf_counter() - t0:.1f} s", flush=True)

    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    engine = open_database(url)
    t0 = time.perf_counter()
    summary = import_file(engine, source)  # what `keepwell import FILE` runs
    seconds = time.perf_counter() - t0
    print(f"imported in {seconds:.1f} s; {summary.requests_rebuilt:,} requests", flush=True)
    if not args.keep:
        for thread in threading.enumerate():  # the import's scratch files go in the background
            if thread is not threading.main_thread():
                thread.join()
        shutil.rmtree(workdir)
    result = {
        "messages": args.messages,
        "lines": total_lines,
        "seconds": round(seconds, 2),
        "messages_per_second": round(args.messages / seconds),
        "lines_per_second": round(total_lines / seconds),
        "database": engine.dialect.name,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
