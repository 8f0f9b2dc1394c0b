"""How long `listd member import` takes for a Sympa-format file of N members.

    python bench/import_members.py [--members 100000] [--runs 3] [--database URL]

Runs the real CLI as a subprocess against a fresh database (SQLite in a temporary directory,
or a PostgreSQL URL, in a schema of its own) and prints seconds and lines per second.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scratch_db import scratch_database


def one_run(members: int, database_url: str | None) -> float:
    with tempfile.TemporaryDirectory() as scratch_dir, \
            scratch_database(database_url) as database:
        scratch = Path(scratch_dir)
        config = scratch / "listd.yaml"
        config.write_text(f"database: {database}\ndomains: [lists.example.org]\n")
        members_file = scratch / "members.txt"
        members_file.write_text("".join(f"member{i}@example{i % 499}.org Member Number {i}\n"
                                        for i in range(members)))

        def listd(*args: str) -> str:
            return subprocess.run([sys.executable, "-m", "listd.cli", "--config", str(config),
                                   *args], capture_output=True, text=True, check=True).stdout

        listd("db", "upgrade")
        listd("list", "request", "big@lists.example.org", "--owner", "owner@example.org")
        started = time.perf_counter()
        out = listd("member", "import", "big@lists.example.org", str(members_file))
        seconds = time.perf_counter() - started
        assert f"{members} added" in out, out
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    backend = "postgresql" if args.database else "sqlite"
    times = [one_run(args.members, args.database) for _ in range(args.runs)]
    for number, seconds in enumerate(times, 1):
        print(f"run {number}: {args.members} lines in {seconds:.1f} s ({backend})")
    median = statistics.median(times)
    print(f"member import: median {median:.1f} s for {args.members} lines, "
          f"{args.members / median:,.0f} lines/s ({backend}, whole CLI process included)")


if __name__ == "__main__":
    main()
