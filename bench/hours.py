"""Business-hours engine speed: N random intervals on a US 09:00-17:00 Mon-Fri New York
schedule with US holidays, through the array API, and a sample through the reference.

    uv run python bench/hours.py [--n 1000000] [--sample 2000] [--seed 7]

Prints figures, then a last line of JSON. The array rate counts the compile in its time
(`array_intervals_per_second`); the rate without it is printed beside. The sample's results
(business seconds and deadlines) must be identical to the reference's. No assertions on time.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, date, datetime, timedelta

import numpy as np

from keepwell.domain.hours import Schedule, compile_schedule, public_holidays, to_micros
from keepwell.domain.hours.reference import reference_add_micros, reference_business_micros

SCHEDULE = Schedule.from_versions(
    [
        {
            "timezone": "America/New_York",
            "week": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": {"country": "US"},
        }
    ]
)
FIRST, LAST = date(2025, 1, 1), date(2026, 12, 31)  # where requests arrive
SECOND = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    starts, ends, amounts = intervals(args.n, np.random.default_rng(args.seed))

    started = time.perf_counter()
    public_holidays("US", None, 2000)  # loads the holidays package's country data once
    warmup = time.perf_counter() - started

    started = time.perf_counter()
    # Intervals last up to 30 days: a year of margin past the last arrival.
    calendar = compile_schedule(SCHEDULE, FIRST, date(LAST.year + 1, 12, 31))
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    counted = calendar.between(starts, ends)
    between_seconds = time.perf_counter() - started
    started = time.perf_counter()
    deadlines = calendar.add(starts, amounts)
    add_seconds = time.perf_counter() - started

    k = min(args.sample, args.n)
    started = time.perf_counter()
    reference = [
        reference_business_micros(SCHEDULE, at(a), at(b))
        for a, b in zip(starts[:k], ends[:k], strict=True)
    ]
    reference_seconds = time.perf_counter() - started
    k_add = min(k, 500)
    reference_deadlines = [
        to_micros(reference_add_micros(SCHEDULE, at(a), int(m)))
        for a, m in zip(starts[:k_add], amounts[:k_add], strict=True)
    ]

    total = compile_seconds + between_seconds
    figures = {
        "n": args.n,
        "array_intervals_per_second": round(args.n / total),
        "array_intervals_per_second_without_compile": round(args.n / between_seconds),
        "array_adds_per_second": round(args.n / add_seconds),
        "reference_intervals_per_second": round(k / reference_seconds),
        "compile_seconds": round(compile_seconds, 4),
        "between_seconds": round(between_seconds, 4),
        "total_seconds": round(total, 4),
        "warmup_seconds": round(warmup, 4),
        "compiled_intervals": int(calendar.intervals[0].size),
        "sample": k,
        "sample_identical": counted[:k].tolist() == reference
        and deadlines[:k_add].tolist() == reference_deadlines,
    }
    print(f"compiled {figures['compiled_intervals']} open intervals in {compile_seconds:.4f} s")
    print(f"between: {args.n} intervals in {between_seconds:.4f} s")
    print(f"add:     {args.n} deadlines in {add_seconds:.4f} s")
    print(f"reference: {k} intervals in {reference_seconds:.3f} s")
    print(json.dumps(figures))


def intervals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrivals uniform over FIRST..LAST (to the microsecond); durations and amounts
    log-uniform from a second to 30 days."""
    lo, hi = (
        to_micros(datetime(FIRST.year, 1, 1, tzinfo=UTC)),
        to_micros(datetime(LAST.year + 1, 1, 1, tzinfo=UTC)),
    )
    starts = rng.integers(lo, hi, size=n, dtype=np.int64)
    spread = np.log(30 * 86_400)
    ends = starts + (np.exp(rng.uniform(0, spread, n)) * SECOND).astype(np.int64)
    amounts = (np.exp(rng.uniform(0, spread, n)) * SECOND).astype(np.int64) // 10
    return starts, ends, amounts


def at(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(micros))


if __name__ == "__main__":
    main()
