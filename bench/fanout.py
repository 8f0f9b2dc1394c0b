"""Fan-out benchmark: one 4 KB post to N members through `listd serve`, VERP on.

    .venv/bin/python bench/fanout.py [--members 10000 100000] [--database URL] [--dkim]
                                     [--one-click] [--one-domain]
                                     [--per-domain-connections N [N ...]]

--dkim generates a DKIM key for the bench domain (as `listd dkim keygen`) and runs each
fan-out with signing off, then on; it also prints the signing cost per message, RSA-2048
through OpenSSL (listd's path) against dkimpy's pure-Python RSA. --one-click sets
http.base_url, so each recipient gets its own unsubscribe token and, with --dkim, its own
signature. --one-domain gives every member the same domain (the per-domain connection
limit then applies to all of them); --per-domain-connections runs each fan-out once per
value of `outbound.per_domain_connections` (0: no limit).

Everything binds to 127.0.0.1 on free ports. The relay is Postfix's `smtp-sink` (Debian
package postfix) when installed, else a small in-Python pipelining sink (slower: then the
sink, not listd, may be the bottleneck; the output says which). Prints recipients per second,
time from the post's acceptance to the last delivery, and listd's peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch_db import scratch_database  # noqa: E402

from listd import lists, members, migrate  # noqa: E402
from listd.config import Config  # noqa: E402
from listd.database import Database  # noqa: E402
from listd.deliverability.dkim_keys import (  # noqa: E402
    Algorithm,
    create_key,
    generate_private_key,
)
from listd.deliverability.signing import DkimSigner  # noqa: E402
from listd.models import OutboundEntry, OutboundState  # noqa: E402

LIST = "news@bench.example.org"
LISTENING = re.compile(r"listening on [\d.]+:(\d+)")

PYTHON_SINK = r'''
import asyncio, sys
async def session(reader, writer):
    writer.write(b"220 sink ESMTP\r\n")
    in_data = False
    while True:
        line = await reader.readline()
        if not line:
            break
        if in_data:
            if line == b".\r\n":
                in_data = False
                writer.write(b"250 2.0.0 Ok: queued\r\n")
            continue
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        elif verb == b"DATA":
            in_data = True
            writer.write(b"354 go ahead\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            break
        else:
            writer.write(b"250 2.0.0 Ok\r\n")
        if reader._buffer.find(b"\n") < 0:
            await writer.drain()
    writer.close()
async def main():
    server = await asyncio.start_server(session, "127.0.0.1", int(sys.argv[1]), backlog=1000)
    async with server:
        await server.serve_forever()
asyncio.run(main())
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def start_sink(port: int) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("smtp-sink") or (
        "/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None)
    if binary:
        command = [binary, "-u", "nobody", f"127.0.0.1:{port}", "1000"] if os.geteuid() == 0 \
            else [binary, f"127.0.0.1:{port}", "1000"]
        name = "Postfix smtp-sink"
    else:
        command = [sys.executable, "-c", PYTHON_SINK, str(port)]
        name = "in-Python sink (smtp-sink not installed; the sink may be the bottleneck)"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, time.monotonic() + 10)
    return process, name


def post_4k() -> bytes:
    paragraph = ("Dear members, this is the monthly newsletter of the association. "
                 "It carries news, dates and a few words from the board.\n")
    body = (paragraph * 40)[:3600]
    return (f"From: Owner <owner@example.org>\r\nTo: {LIST}\r\nSubject: Monthly news\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@example.org>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}").replace("\n", "\r\n").replace("\r\r\n", "\r\n").encode()


def populate(url: str, count: int, dkim: bool, one_domain: bool = False) -> None:
    db = Database(url)
    migrate.upgrade(db.engine)
    config = Config(database=url, domains=("bench.example.org",))
    with db.session() as session:
        created = lists.request_list(session, config, LIST, ["owner@example.org"],
                                     template="newsletter")
        lists.approve_list(session, LIST)
        # No DMARC lookup of the poster's domain on the real DNS: it would time the DNS.
        lists.set_list_setting(session, LIST, "dmarc_mitigation", "none")
        members.import_members(session, created,
                               (f"reader{n}@example{0 if one_domain else n % 50}.com"
                                for n in range(count)))
        if dkim:
            create_key(session, "bench.example.org", "bench", Algorithm.RSA)
    db.dispose()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of PID so far: robust to other load on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_once(count: int, requested_db: str | None, connections: int, limit: float,
             dkim: bool = False, one_click: bool = False, one_domain: bool = False,
             per_domain: int | None = None) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="listd-bench-"))
    with scratch_database(requested_db) as url:
        _fan_out(workdir, url, count, connections, limit, dkim, one_click, one_domain,
                 per_domain)


def _fan_out(workdir: Path, url: str, count: int, connections: int, limit: float,
             dkim: bool, one_click: bool, one_domain: bool, per_domain: int | None) -> None:
    sink = listd = None
    try:
        populate(url, count, dkim, one_domain)
        domain_limit = "" if per_domain is None else f", per_domain_connections: {per_domain}"
        base_url = ", base_url: https://bench.example.org" if one_click else ""
        sink_port = free_port()
        sink, sink_name = start_sink(sink_port)
        config = workdir / "listd.yaml"
        config.write_text(
            f"database: {url}\ndomains: [bench.example.org]\nsecret: bench\n"
            f"smtp_in: {{host: 127.0.0.1, port: 0}}\n"
            f"http: {{enabled: false{base_url}}}\n"
            f"outbound: {{mode: smtp, host: 127.0.0.1, port: {sink_port}, "
            f"connections: {connections}{domain_limit}}}\n")
        log_path = workdir / "serve.log"
        with open(log_path, "wb") as log:
            listd = subprocess.Popen(
                [sys.executable, "-m", "listd.cli", "--config", str(config), "serve",
                 "--log-level", "WARNING"], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                env={**os.environ, "PYTHONWARNINGS": "ignore"})
        deadline = time.monotonic() + 120  # a loaded machine starts it slowly
        port = None
        while port is None and time.monotonic() < deadline:
            # At WARNING the "listening" line is not logged: find the bound port instead.
            port = _listening_port(listd.pid)
            time.sleep(0.05)
        if port is None:
            raise SystemExit(f"listd serve did not start: {log_path.read_text()[-2000:]}")
        engine = create_engine(url)
        cpu_before = cpu_seconds(listd.pid)
        started = time.monotonic()
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail("owner@example.org", [LIST], post_4k())
        accepted = time.monotonic()
        sent = 0
        stop_at = accepted + limit
        while time.monotonic() < stop_at:
            with engine.connect() as conn:
                sent = conn.execute(select(func.count(OutboundEntry.id)).where(
                    OutboundEntry.state == OutboundState.SENT)).scalar_one()
            if sent >= count:
                break
            # The count itself reads the queue's index: at 1,000,000 rows, every 0.1 s would
            # take a share of the cores from listd. Within 1 % of a run's time either way.
            time.sleep(min(1.0, max(0.1, count / 1_000_000)))
        finished = time.monotonic()
        rss = peak_rss_mb(listd.pid)
        cpu = cpu_seconds(listd.pid) - cpu_before
        engine.dispose()
        elapsed = finished - accepted
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        status = "" if sent >= count else f"  INCOMPLETE after {limit:.0f}s time limit"
        label = ("DKIM on " if dkim else "DKIM off") + (" one-click" if one_click else "") + \
            (" one domain" if one_domain else "") + \
            ("" if per_domain is None else f" per_domain_connections={per_domain}")
        print(f"N={count:>7}  {backend:<10}  {label}  {sent / elapsed:8.0f} recipients/s  "
              f"last delivery after {elapsed:6.2f} s  peak RSS {rss:6.1f} MB  "
              f"listd CPU {cpu:6.2f} s ({cpu / max(sent, 1) * 1e6:5.0f} µs/recipient, "
              f"{sent / max(cpu, 0.01):6.0f} recipients/CPU-s)  "
              f"load {os.getloadavg()[0]:.1f}  "
              f"(post accepted in {accepted - started:.2f} s; sink: {sink_name}){status}",
              flush=True)
    finally:
        for process in (listd, sink):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _listening_port(pid: int) -> int | None:
    """The TCP port process PID listens on (from /proc), once it does."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in inodes:
            return int(fields[1].split(":")[1], 16)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--database", default=None,
                        help="a PostgreSQL URL (a schema is created and dropped); "
                             "default: a fresh SQLite file")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--time-limit", type=float, default=300.0,
                        help="seconds allowed for one fan-out before giving up")
    parser.add_argument("--dkim", action="store_true",
                        help="also run with DKIM signing on, and print the signing cost")
    parser.add_argument("--one-click", action="store_true",
                        help="personal mail: one-click unsubscribe token per recipient")
    parser.add_argument("--one-domain", action="store_true",
                        help="every member at the same domain")
    parser.add_argument("--per-domain-connections", type=int, nargs="+", default=[None],
                        help="outbound.per_domain_connections values to run (0: no limit)")
    args = parser.parse_args()
    if args.dkim:
        signing_cost()
    for count in args.members:
        for dkim in ((False, True) if args.dkim else (False,)):
            for per_domain in args.per_domain_connections:
                run_once(count, args.database, args.connections, args.time_limit, dkim,
                         args.one_click, args.one_domain, per_domain)


def signing_cost(messages: int = 200) -> None:
    """µs per RSA-2048 signature of a 4 KB post: listd's path (OpenSSL), a per-recipient
    template (the personal case), and dkimpy's own RSA."""
    import dkim

    signer = DkimSigner.from_pem("bench.example.org", "bench", Algorithm.RSA,
                                 generate_private_key(Algorithm.RSA))
    message = post_4k()

    def per_message(sign: Callable[[int], object], count: int) -> float:
        started = time.perf_counter()
        for n in range(count):
            sign(n)
        return (time.perf_counter() - started) / count * 1e6

    template = signer.template(message, b"Monthly")
    fast = per_message(lambda n: signer.sign(message), messages)
    personal = per_message(lambda n: template.signature(b"tok%d" % n), messages)
    slow = per_message(lambda n: dkim.DKIM(message).sign(
        b"bench", b"bench.example.org", signer.key, canonicalize=(b"relaxed", b"relaxed")), 20)
    print(f"DKIM RSA-2048 signing, 4 KB post: OpenSSL {fast:6.0f} µs/message, per-recipient "
          f"template {personal:6.0f} µs, dkimpy {slow:6.0f} µs (load {os.getloadavg()[0]:.1f})",
          flush=True)


if __name__ == "__main__":
    main()
