"""How many bounce reports per second listd parses, matches (VERP) and scores.

    python bench/bounce_processing.py [--reports 2000] [--runs 3] [--database URL]
        [--serial | --lanes N]

Builds a list of 1,000 members (`--members`) and one fan-out, stores REPORTS delivery status
notifications addressed to the members' VERP addresses exactly as the listener stores them,
then times the inbound worker processing them all (parse, VERP decode, member lookup,
scoring, commit), as `listd serve` runs it: `processing.workers` lanes of `InboundWorker`,
each preparing its row in the preparation pool and finishing it through the one database
writer, the rows that are ready together finished in one transaction. `--serial` runs
`process_batch` instead (one row after the other in this thread, one transaction each). The
listener's own cost is in bench/listener.py.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from scratch_db import scratch_database
from sqlalchemy import func, select

from listd import migrate
from listd.config import Config, ProcessingConfig
from listd.database import Database
from listd.distribute.expand import expand_batch
from listd.distribute.post import accept_post
from listd.distribute.verp import verp_token
from listd.lists import approve_list, request_list
from listd.members import import_members
from listd.models import InboundMessage, InboundState, OutboundEntry
from listd.processing.worker import InboundWorker, process_batch
from listd.runtime import Runtime
from listd.smtp_in.routing import Route, parse_local_part
from listd.smtp_in.spool import Envelope, store_inbound

LIST = "bench@lists.example.org"
REPORT = """\
From: MAILER-DAEMON@mx.example.net
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {address}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{address}>: Recipient address rejected: User unknown

--B--
""".replace("\n", "\r\n")


async def run_lanes(runtime: Runtime) -> int:
    """Process every stored report through `listd serve`'s inbound worker; how many."""
    stopping = asyncio.Event()
    lanes = asyncio.create_task(InboundWorker(runtime).run(stopping))
    runtime.signals.inbound.set()
    while await runtime.db.run_read(_queued, runtime.db):
        await asyncio.sleep(0.05)
    stopping.set()
    await lanes
    return await runtime.db.run_read(_done, runtime.db)


def _queued(db: Database) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.state == InboundState.QUEUED)) or 0


def _done(db: Database) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.state == InboundState.DONE)) or 0


def one_run(reports: int, database_url: str | None, serial: bool,
            lanes: int | None = None, members: int = 1000) -> tuple[float, float]:
    """Reports a second, and ms of this process' CPU a report."""
    with scratch_database(database_url) as database:
        config = Config(database=database, domains=("lists.example.org",), secret="bench",
                        processing=ProcessingConfig(workers=lanes) if lanes else
                        ProcessingConfig())
        db = Database(database)
        migrate.upgrade(db.engine)
        runtime = Runtime.create(config, db)
        with db.session() as session:
            mailing_list = request_list(session, config, LIST, ["owner@example.org"])
            approve_list(session, LIST)
            import_members(session, mailing_list,
                           (f"m{i}@example{i % 50}.org\n" for i in range(members)))
            accept_post(session, runtime, mailing_list,
                        b"From: owner@example.org\r\nSubject: x\r\n\r\nx\r\n")
        with db.session() as session:
            while expand_batch(session, runtime.clock.now()) is not None:
                pass
            entries = session.execute(select(OutboundEntry.id, OutboundEntry.recipient)).all()
            list_id = mailing_list.id
        with db.session() as session:
            for number in range(reports):
                entry_id, address = entries[number % len(entries)]
                local = f"bench-bounces+{verp_token(entry_id, runtime.secret)}"
                route = Route(f"{local}@lists.example.org",
                              parse_local_part(local, "lists.example.org", "listd"), list_id)
                store_inbound(session, REPORT.format(address=address).encode(),
                              Envelope("", [route], "bench"))
        started = time.perf_counter()
        cpu_before = time.process_time()
        processed = 0
        if serial:
            while outcomes := process_batch(runtime):
                processed += len(outcomes)
        else:
            processed = asyncio.run(run_lanes(runtime))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
        assert processed == reports, processed
        db.dispose()
        return reports / seconds, cpu * 1000 / reports


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default=None)
    parser.add_argument("--members", type=int, default=1000,
                        help="the list's members, so the post's recipients")
    parser.add_argument("--lanes", type=int, default=None,
                        help="processing.workers (default: the configuration's default)")
    parser.add_argument("--serial", action="store_true",
                        help="process_batch in this thread instead of the serve lanes")
    args = parser.parse_args()
    backend = "postgresql" if args.database else "sqlite"
    runs = [one_run(args.reports, args.database, args.serial, args.lanes, args.members)
            for _ in range(args.runs)]
    for number, (rate, cpu) in enumerate(runs, 1):
        print(f"run {number}: {args.reports} reports: {rate:,.0f} reports/s, "
              f"{cpu:.2f} ms CPU/report ({backend})")
    print(f"bounce processing (parse + VERP match + score + commit): median "
          f"{statistics.median(r for r, _ in runs):,.0f} reports/s, "
          f"{statistics.median(c for _, c in runs):.2f} ms CPU/report ({backend}, "
          f"{'process_batch, one thread' if args.serial else 'the serve lanes'})")


if __name__ == "__main__":
    main()
