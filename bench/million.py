"""A list of a million members, against the same at a thousand: every figure of issue 18's
"a million members" goal.

    python bench/million.py [--sizes 1000 1000000] [--requests 20] [--database URL]
                            [--fanout 100000 1000000] [--fanout-time-limit 900]

For each size, in a fresh database (SQLite file, or a schema of the PostgreSQL URL):
- `listd member import` of SIZE `address Name` lines (the real CLI, a subprocess): seconds
  (wall, and CPU of the process: on a shared machine the CPU figure is the comparable one);
- `listd member ls --json` (a subprocess, output to /dev/null): seconds and peak RSS;
- the members CSV export (listd.member_export.csv_chunks, the generator the API and the
  owners' pages stream) in a subprocess: seconds and peak RSS;
- server time of the owners' members page and of GET /api/v1/lists/…/members (listd's ASGI
  app in-process through httpx, as bench/web_pages.py): first page, a page from the middle
  (by cursor, both directions), a search; medians;
- the subscriber count: a full count against the page's capped one (COUNT_CAP).
Then, with --fanout, bench/fanout.py's fan-out (one 4 KB post, VERP, into the sink) at each
count given, and the rate and listd's peak RSS of the largest against the smallest.
A 1,000,000-recipient fan-out takes minutes on 2 cores; it is off unless asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import fanout  # noqa: E402
from scratch_db import scratch_database  # noqa: E402

from listd import lists, members  # noqa: E402
from listd.api import keys  # noqa: E402
from listd.config import load_config  # noqa: E402
from listd.database import Database  # noqa: E402
from listd.models import Role  # noqa: E402
from listd.runtime import Runtime  # noqa: E402
from listd.web import sessions  # noqa: E402
from listd.web.admin import COUNT_CAP, encode_cursor  # noqa: E402
from listd.web.app import create_app  # noqa: E402

BIG = "big@lists.example.org"
OWNER = "owner@example.org"
EXPORT = """
import sys
from listd.config import load_config
from listd.database import Database
from listd.member_export import csv_chunks
from listd.runtime import Runtime
config = load_config(sys.argv[1])
rows = sum(chunk.count("\\n") for chunk in csv_chunks(
    Runtime.create(config, Database(config.database)), sys.argv[2]))
print(rows)
"""


@dataclass
class Figures:
    size: int
    import_s: float
    import_cpu: float
    ls_s: float
    ls_cpu: float
    ls_rss_mb: float
    export_s: float
    export_cpu: float
    export_rss_mb: float
    latency_ms: dict[str, float]
    count_ms: float
    capped_count_ms: float


def member_line(n: int) -> str:
    return f"member{n:07d}@example{n % 499}.org Member Number {n}\n"


def measured_child(command: list[str]) -> tuple[float, float, float, bytes]:
    """Run COMMAND; its seconds, CPU seconds, peak RSS in MB (its own rusage) and stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    assert process.stdout is not None
    for chunk in iter(lambda: process.stdout.read(1 << 16), b""):  # type: ignore[union-attr]
        out = chunk if len(out) > 1 << 20 else out + chunk  # keep only a tail: flat here too
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"{command} failed: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def one_size(size: int, url: str, scratch: Path, requests: int) -> Figures:
    config_path = scratch / "listd.yaml"
    config_path.write_text(f"database: '{url}'\ndomains: [lists.example.org]\nsecret: bench\n"
                           f"outbound: {{mode: maildir, path: {scratch / 'out'}}}\n")

    def listd(*args: str) -> list[str]:
        return [sys.executable, "-m", "listd.cli", "--config", str(config_path), *args]

    for args in (("db", "upgrade"), ("list", "request", BIG, "--owner", OWNER),
                 ("list", "approve", BIG)):
        subprocess.run(listd(*args), capture_output=True, check=True)
    members_file = scratch / "members.txt"
    with open(members_file, "w") as out:
        out.writelines(member_line(n) for n in range(size))
    import_s, import_cpu, _, said = measured_child(listd("member", "import", BIG,
                                                         str(members_file)))
    assert f"{size} added".encode() in said, said
    ls_s, ls_cpu, ls_rss, tail = measured_child(listd("member", "ls", BIG, "--json"))
    assert tail.rstrip().endswith(b"]"), tail[-200:]
    export_s, export_cpu, export_rss, rows = measured_child([sys.executable, "-c", EXPORT,
                                                 str(config_path), BIG])
    assert int(rows) == size + 2, rows  # the header, the owner
    config = load_config(config_path)
    db = Database(url)
    runtime = Runtime.create(config, db)
    with db.session() as session:
        token = sessions.open_session(session, runtime, OWNER)
        api_key = keys.add_key(session, "bench", [BIG])
    latency = asyncio.run(page_latencies(runtime, token, api_key, size, requests))
    count_ms, capped_ms = count_times(db, requests)
    db.dispose()
    return Figures(size, import_s, import_cpu, ls_s, ls_cpu, ls_rss, export_s, export_cpu,
                   export_rss, latency, count_ms, capped_ms)


async def page_latencies(runtime: Runtime, token: str, api_key: str, size: int,
                         requests: int) -> dict[str, float]:
    middle = member_line(size // 2).split()[0]
    cursor = encode_cursor((middle, "subscriber"))
    pages = {"page, first": f"/lists/{BIG}/admin/members",
             "page, after the middle": f"/lists/{BIG}/admin/members?after={cursor}",
             "page, before the middle": f"/lists/{BIG}/admin/members?before={cursor}",
             "API, first 100": f"/api/v1/lists/{BIG}/members",
             "API, 100 after the middle": f"/api/v1/lists/{BIG}/members?cursor={cursor}",
             "page, search (a scan)": f"/lists/{BIG}/admin/members?q=number%20{size // 3}"}
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                 cookies={sessions.SESSION_COOKIE: token},
                                 headers={"Authorization": f"Bearer {api_key}"}) as client:
        medians = {}
        for name, path in pages.items():
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                answer = await client.get(path)
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
            medians[name] = statistics.median(times) * 1000
        return medians


def count_times(db: Database, requests: int) -> tuple[float, float]:
    """Median ms of the full subscriber count, and of the page's count capped at COUNT_CAP."""
    def median_ms(count: object) -> float:
        times = []
        for _ in range(requests):
            with db.reading() as session:
                mailing_list = lists.find_list(session, BIG)
                started = time.perf_counter()
                count(session, mailing_list)  # type: ignore[operator]
                times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    return (median_ms(lambda s, m: members.count_role(s, m, Role.SUBSCRIBER)),
            median_ms(lambda s, m: members.count_role_upto(s, m, Role.SUBSCRIBER, COUNT_CAP)))


def fan_out(counts: list[int], database: str | None, time_limit: float) -> None:
    """bench/fanout.py's fan-out at each of COUNTS; its lines, then large against small."""
    rates: dict[int, tuple[float, float, float]] = {}
    for count in counts:
        captured = io.StringIO()
        started = time.monotonic()
        with contextlib.redirect_stdout(captured):
            run_fanout(count, database, time_limit)
        line = captured.getvalue().strip()
        print(f"{line}  (whole run with setup {time.monotonic() - started:.0f} s)", flush=True)
        # An incomplete run (the time limit) still has a rate over what it sent.
        found = re.search(r"([\d.]+) recipients/s.*peak RSS\s+([\d.]+) MB.*?"
                          r"([\d.]+) recipients/CPU-s", line)
        if found:
            rates[count] = (float(found.group(1)), float(found.group(2)),
                            float(found.group(3)))
    if len(rates) >= 2:
        small, large = min(rates), max(rates)
        print(f"fan-out {large:,} against {small:,}: rate ratio "
              f"{rates[large][0] / rates[small][0]:.2f} (per CPU-second of listd "
              f"{rates[large][2] / rates[small][2]:.2f}: the comparable one on a shared "
              f"machine), peak RSS {rates[small][1]:.0f} → {rates[large][1]:.0f} MB")


def run_fanout(count: int, database: str | None, time_limit: float) -> None:
    case = getattr(fanout, "Case", None)
    if case is not None:  # bench/fanout.py as the "fanout" branch left it: one Case a run
        fanout.run_once(case(count=count, connections=10, time_limit=time_limit), database)
    else:
        fanout.run_once(count, database, 10, time_limit)  # type: ignore[call-arg]


def report(figures: list[Figures], backend: str) -> None:
    print(f"backend {backend}, load average {os.getloadavg()[0]:.1f}")
    small, large = figures[0], figures[-1]
    for f in figures:
        print(f"N={f.size:>9,}  import {f.import_s:6.1f} s (CPU {f.import_cpu:5.1f} s)  "
              f"member ls --json {f.ls_s:6.1f} s (CPU {f.ls_cpu:5.1f} s) "
              f"peak RSS {f.ls_rss_mb:5.0f} MB  "
              f"export {f.export_s:6.1f} s (CPU {f.export_cpu:5.1f} s) "
              f"peak RSS {f.export_rss_mb:5.0f} MB  "
              f"count {f.count_ms:7.1f} ms, capped at {COUNT_CAP:,} {f.capped_count_ms:5.1f} ms")
    for name in small.latency_ms:
        print(f"{name:<28} median {small.latency_ms[name]:7.1f} ms at {small.size:,}, "
              f"{large.latency_ms[name]:7.1f} ms at {large.size:,} "
              f"(ratio {large.latency_ms[name] / small.latency_ms[name]:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 1_000_000],
                        help="list sizes to compare (none: only the fan-out)")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database", default=None,
                        help="a PostgreSQL URL (a schema per run); default: SQLite files")
    parser.add_argument("--fanout", type=int, nargs="*", default=[],
                        help="also fan out to these member counts, e.g. 100000 1000000")
    parser.add_argument("--fanout-time-limit", type=float, default=900.0)
    args = parser.parse_args()
    backend = "postgresql" if args.database else "sqlite"
    figures = []
    for size in sorted(args.sizes):
        with tempfile.TemporaryDirectory() as scratch, \
                scratch_database(args.database) as url:
            figures.append(one_size(size, url, Path(scratch), args.requests))
        print(f"N={size:,} done, load average {os.getloadavg()[0]:.1f}", flush=True)
    if figures:
        report(figures, backend)
    if args.fanout:
        fan_out(sorted(args.fanout), args.database, args.fanout_time_limit)


if __name__ == "__main__":
    main()
