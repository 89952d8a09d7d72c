"""Command-line start-up and response: the median wall time of `keepwell --help`, a month's
scorecards and a CSM's inbox on the demo book, each run as a new process as a user runs it.

    uv run python bench/cli.py [--runs 5] [--today 2026-11-23] [--csm u-lukas]

Loads the demo book once into a SQLite database in a temporary folder, then runs every
command `--runs` times. Prints each command's median, then a last line of JSON
(`{"help": s, "scorecard": s, "inbox": s, "help_cpu": s, ...}`: wall-clock medians, and the
medians of the CPU time each process used). No assertions on time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def keepwell() -> str:
    """The installed `keepwell` script beside this Python (what `uv run keepwell` runs)."""
    beside = Path(sys.executable).with_name("keepwell")
    found = str(beside) if beside.exists() else shutil.which("keepwell")
    if found is None:
        sys.exit("error: no keepwell command; run `uv sync` first")
    return found


def previous_month(today: date) -> str:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def medians(command: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """The median wall time and the median CPU time (user + system) of `runs` runs: on a
    shared machine the wall time also measures the neighbours, the CPU time much less."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--today", default="2026-11-23", help="The demo book's today.")
    parser.add_argument("--csm", default="u-lukas", help="Whose inbox.")
    args = parser.parse_args()
    today = date.fromisoformat(args.today)
    month = previous_month(today)
    program = keepwell()

    with tempfile.TemporaryDirectory(prefix="keepwell-bench-cli-") as folder:
        env = {**os.environ, "KEEPWELL_DATABASE_URL": f"sqlite:///{Path(folder) / 'demo.db'}"}
        started = time.perf_counter()
        subprocess.run(
            [program, "demo", "--today", args.today], env=env, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        print(f"demo book loaded in {time.perf_counter() - started:.1f} s")
        commands = {
            "help": [program, "--help"],
            "scorecard": [program, "scorecard", "--month", month, "--json"],
            "inbox": [program, "inbox", "--csm", args.csm],
        }
        figures: dict[str, float | int] = {}
        for name, command in commands.items():
            wall, cpu = medians(command, env, args.runs)
            figures[name], figures[f"{name}_cpu"] = round(wall, 3), round(cpu, 3)
            shown = " ".join(["keepwell", *command[1:]])
            print(f"{shown:45} median of {args.runs}: {wall:.3f} s (CPU {cpu:.3f} s)")
    figures["runs"] = args.runs
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
