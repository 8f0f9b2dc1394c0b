"""How many double opt-in subscriptions per second listd carries through, end to end.

One round trip: SUBSCRIBE over SMTP → reply and confirmation written to the outbound Maildir →
the confirmation answered over SMTP → member added and welcome written. Runs the real daemon in
this process, outbound to a Maildir in a temporary directory.

A confirmation answered sooner than a person reads (automatic_mail.QUICKEST_PERSON) is refused
as automatic, so the daemon's clock is moved that far ahead once the confirmations are out, as
if every subscriber had read theirs: the round trip is timed, not the reading.

    .venv/bin/python bench/subscribe_roundtrip.py [--count 300] [--clients 8]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import smtplib
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scratch_db import scratch_database
from sqlalchemy import func, select

from listd import lists, migrate
from listd.automatic_mail import QUICKEST_PERSON
from listd.clock import OffsetClock
from listd.config import BUILTIN_LIST_TEMPLATES, Config, OutboundConfig, SmtpInConfig
from listd.database import Database
from listd.models import Member, Role
from listd.runtime import Runtime
from listd.serve import Daemon

DOMAIN = "lists.example.org"
TEMPLATES = BUILTIN_LIST_TEMPLATES


def send(port: int, sender: str, recipient: str, body: str) -> None:
    message = (f"From: {sender}\r\nTo: {recipient}\r\nSubject: x\r\n"
               f"Message-ID: <{uuid.uuid4().hex}@example.net>\r\n\r\n{body}\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.sendmail(sender, [recipient], message.encode())


class ConfirmationReader:
    """Subscriber → the -confirm+TOKEN address of its request; reads each new file once."""

    def __init__(self, outbox: Path) -> None:
        self.new = outbox / "new"
        self.seen: set[str] = set()
        self.found: dict[str, str] = {}

    def scan(self) -> dict[str, str]:
        if not self.new.is_dir():
            return self.found
        for path in self.new.iterdir():
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            head = path.read_bytes().split(b"\n\n", 1)[0].decode()
            if "-confirm+" not in head:
                continue
            fields = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
            self.found[fields["Delivered-To"].strip()] = fields["Reply-To"].strip()
        return self.found


def members(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Member)
                              .where(Member.role == Role.SUBSCRIBER)) or 0


async def wait_for(condition, what: str, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def run(database: str, count: int, clients: int, workdir: Path) -> tuple[float, float]:
    """Seconds for COUNT round trips, and seconds of this process' CPU (daemon and clients)."""
    outbox = workdir / "outbox"
    config = Config(database=database, domains=(DOMAIN,), secret="bench",
                    smtp_in=SmtpInConfig(port=0), list_templates=str(TEMPLATES),
                    outbound=OutboundConfig(mode="maildir", path=str(outbox)),
                    robot_mails_per_hour=1000)
    db = Database(database)
    migrate.upgrade(db.engine)
    with db.session() as session:
        lists.request_list(session, config, f"news@{DOMAIN}", ["owner@example.org"],
                           "newsletter")
        lists.approve_list(session, f"news@{DOMAIN}")
    clock = OffsetClock()
    daemon = Daemon(Runtime.create(config, db, clock))
    await daemon.start()
    pool = ThreadPoolExecutor(clients)
    loop = asyncio.get_running_loop()
    people = [f"user{i}@example.net" for i in range(count)]
    try:
        started = time.perf_counter()
        cpu_before = time.process_time()
        usage_before = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.gather(*(loop.run_in_executor(
            pool, send, daemon.port, who, f"listd@{DOMAIN}", "SUBSCRIBE news") for who in people))
        print(f"  requests accepted after {time.perf_counter() - started:.2f} s")
        reader = ConfirmationReader(outbox)
        await wait_for(lambda: len(reader.scan()) >= count, "confirmations")
        addresses = reader.found
        clock.advance(QUICKEST_PERSON)
        print(f"  confirmations written after {time.perf_counter() - started:.2f} s")
        await asyncio.gather(*(loop.run_in_executor(
            pool, send, daemon.port, who, addresses[who], "> quoted") for who in people))
        await wait_for(lambda: members(db) >= count, "members")
        await wait_for(lambda: len(list((outbox / "new").iterdir())) >= 3 * count, "welcomes")
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(f"  CPU user {usage.ru_utime - usage_before.ru_utime:.2f} s, system "
              f"{usage.ru_stime - usage_before.ru_stime:.2f} s")
    finally:
        pool.shutdown()
        await daemon.stop()
        db.dispose()
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database", default=None,
                        help="a PostgreSQL URL; a scratch schema is made and dropped")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.database) as url:
        elapsed, cpu = asyncio.run(run(url, args.count, args.clients, Path(tmp)))
    backend = "postgresql" if args.database else "sqlite"
    print(f"subscription round trips ({backend}): {args.count} in {elapsed:.2f} s = "
          f"{args.count / elapsed:.1f} round trips/s "
          f"({4 * args.count} SMTP messages in and out: request, reply, confirmation, answer; "
          f"plus {args.count} welcomes)")
    print(f"  CPU: {cpu * 1000 / args.count:.1f} ms per round trip "
          f"(this process: daemon and SMTP clients)")


if __name__ == "__main__":
    main()
