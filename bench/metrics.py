"""Recompute speed: a large book (50 CSMs, 10,000 accounts, 2,000,000 messages over 12
months), imported, then one full recompute timed step by step.

    uv run python bench/metrics.py [--messages N] [--accounts N] [--database-url URL]

Steps: SLA clocks of every request, 12 months of scorecards for every CSM, daily health for
the last 90 days, and the month's revenue. Prints progress, then a last line of JSON with
the seconds of each step and their total (the issue's target: under 30 s).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

from keepwell.domain.sla import SlaTargets
from keepwell.services.health import recompute_health_days
from keepwell.services.importing import import_lines
from keepwell.services.revenue import Money, revenue_report
from keepwell.services.scorecard import scorecards_of_months
from keepwell.services.sla import recompute_sla
from keepwell.store.db import open_database, transaction

TODAY = date(2026, 11, 1)


def _import_bench() -> object:
    spec = importlib.util.spec_from_file_location(
        "bench_import", Path(__file__).with_name("import.py")
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def add_programs(path: Path, accounts: int, seed: int = 2) -> int:
    """Activities, next steps, surveys, MRR changes, churns and reviews on top of the traffic."""
    rng = random.Random(seed)
    start = datetime(2025, 11, 1, tzinfo=UTC)
    lines = []
    for a in range(accounts):
        owner = f"u-{a % 50:02d}"
        for week in range(0, 52, rng.choice((1, 2, 4))):
            at = start + timedelta(weeks=week, hours=rng.randrange(120))
            kind = rng.choice(("check_in", "call", "meeting", "note", "testimonial_request"))
            lines.append({"type": "activity", "id": f"act-{a}-{week}", "account": f"a-{a}",
                          "by": owner, "at": at.isoformat(), "kind": kind})  # fmt: skip
        for month in range(0, 12, 2):
            at = start + timedelta(days=30 * month + rng.randrange(30))
            due = (at + timedelta(days=rng.randrange(5, 40))).date().isoformat()
            lines.append({"type": "next_step", "account": f"a-{a}", "by": owner,
                          "at": at.isoformat(), "text": "Follow up", "due": due})  # fmt: skip
        at = start + timedelta(days=rng.randrange(365))
        lines.append({"type": "survey", "id": f"s-{a}", "account": f"a-{a}", "at": at.isoformat(),
                      "kind": "nps", "score": rng.randrange(11)})  # fmt: skip
        if rng.random() < 0.2:
            at = start + timedelta(days=rng.randrange(365))
            lines.append({"type": "mrr", "account": f"a-{a}", "at": at.isoformat(),
                          "mrr": rng.randrange(500, 3000)})  # fmt: skip
        if rng.random() < 0.05:
            at = start + timedelta(days=rng.randrange(365))
            lines.append({"type": "churn", "account": f"a-{a}", "at": at.isoformat()})
    with path.open("ab") as out:
        out.write(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
    return len(lines)


def timed(label: str, results: dict[str, float], step: object) -> None:
    t0 = time.perf_counter()
    step()  # type: ignore[operator]
    results[label] = round(time.perf_counter() - t0, 2)
    print(f"{label}: {results[label]} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="keepwell-metrics-"))
    source = workdir / "book.jsonl"
    _import_bench().generate(source, args.messages, args.accounts)  # type: ignore[attr-defined]
    add_programs(source, args.accounts)
    url = args.database_url or f"sqlite:///{workdir / 'metrics.db'}"
    engine = open_database(url)
    t0 = time.perf_counter()
    with transaction(engine) as session, source.open("rb") as lines:
        import_lines(session, lines)
    print(f"imported in {time.perf_counter() - t0:.1f} s", flush=True)

    results: dict[str, float] = {}
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    months = [f"{y}-{m:02d}" for y, m in
              [(2025 + (10 + i) // 12, (10 + i) % 12 + 1) for i in range(12)]]  # fmt: skip
    with transaction(engine) as session:
        timed("sla", results, lambda: recompute_sla(session, SlaTargets()))
        timed("scorecards_12_months", results,
              lambda: scorecards_of_months(session, months, as_of))  # fmt: skip
        days = [TODAY - timedelta(days=d) for d in range(90)]
        timed("health_90_days", results, lambda: recompute_health_days(session, days))
        timed("revenue", results, lambda: revenue_report(session, "2026-10", Money()))
    results["total"] = round(sum(results.values()), 2)
    results["database"] = engine.dialect.name  # type: ignore[assignment]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
