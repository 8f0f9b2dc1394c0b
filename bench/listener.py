"""How many messages per second the listener accepts and commits (the 250 comes after the commit).

    python bench/listener.py [--messages 2000] [--clients 20] [--runs 3] [--database URL]

Starts `listd serve` as a subprocess on a free loopback port with a fresh database (SQLite in a
temporary directory, or the PostgreSQL URL given, in a schema of its own), then has CLIENTS
concurrent SMTP sessions post MESSAGES 2 KB messages in all to one list, and prints the rate
of each run and the median. With --database, LISTD_TEST_DATABASE_URL is the default.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import aiosmtplib
from scratch_db import scratch_database

LISTENING = re.compile(r"listening on [\d.]+:(\d+)")
LIST = "bench@lists.example.org"
BODY = textwrap.fill("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 36,
                     width=76).replace("\n", "\r\n")


def listd(config: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "listd.cli", "--config", str(config), *args],
                          capture_output=True, text=True, check=True)
    return done.stdout


def start_serve(config: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    handle = open(log, "wb")  # noqa: SIM115 - the child keeps writing to it
    process = subprocess.Popen([sys.executable, "-m", "listd.cli", "--config", str(config),
                                "serve", "--log-level", "WARNING"], stdout=handle,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # WARNING level hides the "listening" line, so find the port from the process' socket.
        port = listening_port(process.pid)
        if port:
            return process, port
        if process.poll() is not None:
            raise SystemExit(f"listd serve exited: {log.read_text()}")
        time.sleep(0.05)
    raise SystemExit("listd serve did not start listening within 30 s")


def listening_port(pid: int) -> int | None:
    done = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if f"pid={pid}," in line:
            match = re.search(r"127\.0\.0\.1:(\d+)", line)
            if match:
                return int(match.group(1))
    return None


async def post_all(port: int, messages: int, clients: int) -> float:
    per_client = [messages // clients + (1 if i < messages % clients else 0)
                  for i in range(clients)]

    async def client(number: int, count: int) -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
        await smtp.connect()
        for sequence in range(count):
            message = (f"From: poster{number}@example.org\r\nTo: {LIST}\r\n"
                       f"Subject: bench {number}-{sequence}\r\n"
                       f"Message-ID: <{uuid.uuid4().hex}@example.org>\r\n\r\n{BODY}\r\n")
            await smtp.sendmail(f"poster{number}@example.org", [LIST], message.encode())
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(client(n, c) for n, c in enumerate(per_client)))
    return time.perf_counter() - started


def one_run(args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory() as scratch_dir, \
            scratch_database(args.database) as database:
        scratch = Path(scratch_dir)
        config = scratch / "listd.yaml"
        config.write_text(f"database: {database}\ndomains: [lists.example.org]\n"
                          f"secret: bench\nsmtp_in: {{host: 127.0.0.1, port: 0}}\n"
                          f"http: {{enabled: false}}\n"
                          f"outbound: {{mode: maildir, path: {scratch / 'outbox'}}}\n")
        listd(config, "db", "upgrade")
        listd(config, "list", "request", LIST, "--owner", "owner@example.org")
        listd(config, "list", "approve", LIST)
        process, port = start_serve(config, scratch / "serve.log")
        try:
            seconds = asyncio.run(post_all(port, args.messages, args.clients))
        finally:
            process.terminate()
            process.wait(timeout=60)
        return args.messages / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default=None,
                        help="a PostgreSQL URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    backend = "postgresql" if args.database else "sqlite"
    rates = []
    for run in range(1, args.runs + 1):
        rate = one_run(args)
        rates.append(rate)
        print(f"run {run}: {args.messages} messages from {args.clients} clients: "
              f"{rate:,.0f} messages/s ({backend})", flush=True)
    print(f"listener accept+commit: median {statistics.median(rates):,.0f} messages/s over "
          f"{args.runs} runs ({backend}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
