"""Fan-out benchmark: one 4 KB post to N members through `listd serve`, VERP on.

    .venv/bin/python bench/fanout.py [--members 10000 100000] [--database URL] [--dkim]
                                     [--one-click] [--domains spread|one|realistic]
                                     [--per-domain-connections N [N ...]]
                                     [--signing-workers N [N ...]]
                                     [--delivery-processes N [N ...]] [--runs N]

--dkim generates a DKIM key for the bench domain (as `listd dkim keygen`) and runs each
fan-out with signing off, then on; it also prints the signing cost per message, RSA-2048
through OpenSSL (listd's path) against dkimpy's pure-Python RSA. --one-click sets
http.base_url, so each recipient gets its own unsubscribe token and, with --dkim, its own
signature. --signing-workers runs each fan-out once per value of
`outbound.signing_workers` (0: sign in the delivery process itself), --delivery-processes
once per value of `outbound.delivery_processes` (1: the daemon's own process only; unset:
listd's default, one per core).

--domains chooses the members' domains: `spread` (the default: 50 domains, evenly), `one`
(all at one domain, so the per-domain connection limit applies to all of them; also
--one-domain), or `realistic`, the mix of an association's list (REALISTIC_MIX below): a third
at gmail.com, then orange.fr, free.fr, outlook.com, hotmail.com, yahoo.fr, laposte.net,
sfr.fr, and a long tail of a quarter of the members over 1,000 small domains.
--per-domain-connections runs each fan-out once per value of
`outbound.per_domain_connections` (0: no limit).

Everything binds to 127.0.0.1 on free ports. The relay is Postfix's `smtp-sink` (Debian
package postfix) when installed, else a small in-Python pipelining sink (slower: then the
sink, not listd, may be the bottleneck; the output says which). Prints recipients per second,
time from the post's acceptance to the last delivery, and listd's peak RSS (VmHWM) and CPU
(all its processes: the daemon, its delivery processes, their signing workers; "main
process" is the daemon's own). With Postfix's `smtp-source` installed it also
measures the loopback limit in the same run, just before and just after each fan-out:
`smtp-source` sends messages of the rendered post's size into the same sink over the same
number of reused connections; listd's rate is printed as a fraction of their mean.
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
from dataclasses import dataclass
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
from listd.models import OutboundEntry, OutboundMessage, OutboundState  # noqa: E402

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


def stop(*processes: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM each process still running, SIGKILL after 30 s."""
    for process in processes:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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


# The realistic mix: (domain, members in 100). The remaining 25 go to TAIL_DOMAINS small
# domains, evenly, so each gets a handful (10,000 members) to a few dozen (100,000).
REALISTIC_MIX = (("gmail.com", 33), ("orange.fr", 12), ("free.fr", 8), ("outlook.com", 6),
                 ("hotmail.com", 5), ("yahoo.fr", 5), ("laposte.net", 3), ("sfr.fr", 3))
TAIL_DOMAINS = 1000
_REALISTIC = [domain for domain, share in REALISTIC_MIX for _ in range(share)]


def member_domain(n: int, domains: str) -> str:
    """The domain of member N under the mix DOMAINS (fixed: runs compare like with like)."""
    if domains == "one":
        return "example0.com"
    if domains == "spread":
        return f"example{n % 50}.com"
    # Interleaved, as an imported list is: consecutive members are at different domains.
    slot = (n * 37) % 100
    if slot < len(_REALISTIC):
        return _REALISTIC[slot]
    return f"assoc{(n // 100 * 7 + slot) % TAIL_DOMAINS}.fr"


def populate(url: str, count: int, dkim: bool, domains: str = "spread") -> None:
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
                               (f"reader{n}@{member_domain(n, domains)}"
                                for n in range(count)))
        if dkim:
            create_key(session, "bench.example.org", "bench", Algorithm.RSA)
    db.dispose()


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU time of PID and (CHILDREN) all its live descendants (listd's
    delivery processes and their signing workers) so far: robust to other load."""
    total = 0
    for stat in [Path(f"/proc/{pid}/stat"), *(_descendants(pid) if children else [])]:
        with contextlib.suppress(OSError):
            fields = stat.read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[Path]:
    parents: dict[str, list[Path]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            parents.setdefault(stat.read_text().rpartition(")")[2].split()[1], []).append(stat)
    found, todo = [], [str(pid)]
    while todo:
        for stat in parents.get(todo.pop(), []):
            found.append(stat)
            todo.append(stat.parent.name)
    return found


def loopback_limit(sink_port: int, size: int, connections: int, messages: int) -> float | None:
    """Messages/s that Postfix's smtp-source pushes into the sink over CONNECTIONS reused
    connections (-d), SIZE bytes each: the ceiling of the sink and the loopback together."""
    binary = shutil.which("smtp-source") or (
        "/usr/sbin/smtp-source" if Path("/usr/sbin/smtp-source").exists() else None)
    if binary is None:
        return None
    started = time.monotonic()
    subprocess.run([binary, "-d", "-s", str(connections), "-m", str(messages), "-l", str(size),
                    "-f", "owner@example.org", "-t", "reader@example0.com",
                    f"127.0.0.1:{sink_port}"], check=True, stdout=subprocess.DEVNULL)
    return messages / (time.monotonic() - started)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass(frozen=True)
class Case:
    count: int
    connections: int
    time_limit: float
    dkim: bool = False
    one_click: bool = False
    domains: str = "spread"
    per_domain: int | None = None
    signing_workers: int | None = None
    delivery_processes: int | None = None
    # Collapsed stacks of listd (and its signing workers) by py-spy, written here.
    profile: str | None = None


def run_once(case: Case, requested_db: str | None) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="listd-bench-"))
    with scratch_database(requested_db) as url:
        _fan_out(workdir, url, case)


def _fan_out(workdir: Path, url: str, case: Case) -> None:
    count, connections, limit = case.count, case.connections, case.time_limit
    sink = listd = None
    try:
        populate(url, count, case.dkim, case.domains)
        per_domain, one_click, dkim = case.per_domain, case.one_click, case.dkim
        domain_limit = "" if per_domain is None else f", per_domain_connections: {per_domain}"
        if case.signing_workers is not None:
            domain_limit += f", signing_workers: {case.signing_workers}"
        if case.delivery_processes is not None:
            domain_limit += f", delivery_processes: {case.delivery_processes}"
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
        _wait_until_idle(listd.pid, time.monotonic() + 60)
        engine = create_engine(url)
        probe = min(max(count, 20_000), 50_000)
        before = loopback_limit(sink_port, len(post_4k()) + 600, connections, probe)
        cpu_before = cpu_seconds(listd.pid)
        own_before = cpu_seconds(listd.pid, children=False)
        sink_before = cpu_seconds(sink.pid, children=False)
        spy = _py_spy(listd.pid, case.profile)
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
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        rss = peak_rss_mb(listd.pid)
        cpu = cpu_seconds(listd.pid) - cpu_before
        own = cpu_seconds(listd.pid, children=False) - own_before
        # The sink's own CPU: near the elapsed time, the sink would be the bottleneck.
        sink_cpu = cpu_seconds(sink.pid, children=False) - sink_before
        with engine.connect() as conn:
            size = conn.execute(select(func.max(func.length(OutboundMessage.raw)))).scalar_one()
        engine.dispose()
        after = loopback_limit(sink_port, int(size or 4096), connections, probe)
        elapsed = finished - accepted
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        status = "" if sent >= count else f"  INCOMPLETE after {limit:.0f}s time limit"
        label = ("DKIM on " if dkim else "DKIM off") + (" one-click" if one_click else "") + \
            f" domains={case.domains}" + \
            ("" if per_domain is None else f" per_domain_connections={per_domain}") + \
            ("" if case.signing_workers is None else
             f" signing_workers={case.signing_workers}") + \
            ("" if case.delivery_processes is None else
             f" delivery_processes={case.delivery_processes}")
        rate = sent / elapsed
        wire = ""
        if before is not None and after is not None:
            wire = (f"  loopback limit {before:6.0f}/{after:6.0f} msg/s (before/after), "
                    f"listd at {rate / ((before + after) / 2):.2f} of it")
        print(f"N={count:>7}  {backend:<10}  {label}  {rate:8.0f} recipients/s{wire}  "
              f"last delivery after {elapsed:6.2f} s  peak RSS {rss:6.1f} MB  "
              f"listd CPU {cpu:6.2f} s ({cpu / max(sent, 1) * 1e6:5.0f} µs/recipient, "
              f"{sent / max(cpu, 0.01):6.0f} recipients/CPU-s; main process "
              f"{own / max(sent, 1) * 1e6:5.0f} µs)  "
              f"sink CPU {sink_cpu:5.2f} s of {elapsed:.2f} s  load {os.getloadavg()[0]:.1f}  "
              f"(post accepted in {accepted - started:.2f} s; sink: {sink_name}){status}",
              flush=True)
    finally:
        stop(listd, sink)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_until_idle(pid: int, deadline: float) -> None:
    """Until listd and its processes use (almost) no CPU: its delivery processes have started
    (a loaded machine imports slowly), so their start is not counted as the fan-out's."""
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        if now - last < 0.05:
            return
        last = now


def _py_spy(pid: int, output: str | None) -> subprocess.Popen[bytes] | None:
    """py-spy recording PID (with its subprocesses) into OUTPUT, collapsed stacks."""
    if output is None:
        return None
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([binary, "record", "--pid", str(pid), "--subprocesses",
                             "--format", "raw", "--rate", "200", "-o", output],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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
                        help="every member at the same domain (as --domains one)")
    parser.add_argument("--domains", choices=("spread", "one", "realistic"), default="spread",
                        help="the members' domains (see the module's text)")
    parser.add_argument("--per-domain-connections", type=int, nargs="+", default=[None],
                        help="outbound.per_domain_connections values to run (0: no limit)")
    parser.add_argument("--signing-workers", type=int, nargs="+", default=[None],
                        help="outbound.signing_workers values to run (0: sign in-process)")
    parser.add_argument("--delivery-processes", type=int, nargs="+", default=[None],
                        help="outbound.delivery_processes values to run (1: the daemon's "
                             "own process only; default: one per core)")
    parser.add_argument("--runs", type=int, default=1, help="repeat every case this often")
    parser.add_argument("--profile", default=None,
                        help="write py-spy's collapsed stacks of listd here (pip install py-spy)")
    args = parser.parse_args()
    if args.dkim:
        signing_cost()
    domains = "one" if args.one_domain else args.domains
    for _ in range(args.runs):
        for count in args.members:
            for dkim in ((False, True) if args.dkim else (False,)):
                for per_domain in args.per_domain_connections:
                    for workers in args.signing_workers:
                        for processes in args.delivery_processes:
                            run_once(Case(count, args.connections, args.time_limit, dkim,
                                          args.one_click, domains, per_domain, workers,
                                          processes, args.profile),
                                     args.database)


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
