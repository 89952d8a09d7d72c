"""Refusal speed: a 60,000-line file whose 30,000 second messages each name a thread of
another account, refused; then the same file, corrected, imported.

    uv run python bench/reject.py [--threads 30000] [--database-url URL]

Both are run through `keepwell import` in a fresh process each (what a user waits for) on a
fresh SQLite database. Prints the figures, then a last line of JSON with `reject_seconds`
and `import_seconds`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

START = datetime(2026, 3, 2, 14, tzinfo=UTC)
ACCOUNTS = 100


def generate(path: Path, threads: int, *, corrected: bool) -> int:
    """Users and accounts, then per thread an inbound message and a reply; the reply names
    the next account unless `corrected`. Returns the number of lines."""
    records: list[dict] = [
        {"type": "user", "id": f"u-{i}", "name": f"CSM {i}", "role": "csm", "timezone": "UTC"}
        for i in range(10)
    ]
    records += [
        {"type": "account", "id": f"a-{a}", "name": f"Account {a}", "owner": f"u-{a % 10}",
         "started": "2025-01-01"}
        for a in range(ACCOUNTS)
    ]  # fmt: skip
    for t in range(threads):
        account = t % ACCOUNTS
        replied = account if corrected else (account + 1) % ACCOUNTS
        at = START + timedelta(minutes=t)
        for k, (direction, named) in enumerate((("inbound", account), ("outbound", replied))):
            records.append(
                {"type": "message", "id": f"m-{t}-{k}", "account": f"a-{named}",
                 "thread": f"t-{t}", "at": (at + timedelta(minutes=10 * k)).isoformat(),
                 "direction": direction, "channel": "email", "text": "About the export"}
            )  # fmt: skip
    path.write_bytes(b"\n".join(map(orjson.dumps, records)) + b"\n")
    return len(records)


def run_import(path: Path, url: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    keepwell = Path(sys.executable).with_name("keepwell")
    env = {"KEEPWELL_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(keepwell), "import", str(path)], capture_output=True, text=True, env=env
    )
    return time.perf_counter() - t0, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=30_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="keepwell-reject-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    bad, good = workdir / "bad.jsonl", workdir / "good.jsonl"
    lines = generate(bad, args.threads, corrected=False)
    generate(good, args.threads, corrected=True)

    reject_seconds, rejected = run_import(bad, url)
    assert rejected.returncode == 1, rejected.stderr[-2000:]
    listed = sum(line.startswith("line ") for line in rejected.stderr.splitlines())
    print(f"refused {lines:,} lines in {reject_seconds:.1f} s ({listed} errors listed)")
    print("  " + rejected.stderr.strip().splitlines()[-1])
    import_seconds, imported = run_import(good, url)
    assert imported.returncode == 0, imported.stderr[-2000:]
    print(f"imported the corrected file in {import_seconds:.1f} s")
    shutil.rmtree(workdir)
    print(
        json.dumps(
            {
                "lines": lines,
                "bad_lines": args.threads,
                "reject_seconds": round(reject_seconds, 2),
                "import_seconds": round(import_seconds, 2),
                "errors_listed": listed,
            }
        )
    )


if __name__ == "__main__":
    main()
