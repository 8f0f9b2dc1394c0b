"""Retention benchmark: 100 posts to a list, the clock moved 8 days on between posts.

    .venv/bin/python bench/retention.py [--posts 100] [--members 100] [--database URL]

Runs `listd serve` in this process (outbound to a Maildir in a temporary directory), posts
over SMTP, waits for each fan-out to finish, moves the daemon's clock forward past
`retention.delivered` and runs the retention job, as the hourly job would. Prints the row
counts of the growing tables and the database size every 10 posts, once with retention off
(every `retention:` key 0) and once with the defaults. Binds 127.0.0.1 on free ports only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import smtplib
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch_db import scratch_database  # noqa: E402
from listd import lists, members, migrate  # noqa: E402
from listd.clock import OffsetClock  # noqa: E402
from listd.config import (  # noqa: E402
    Config,
    DnsConfig,
    HttpConfig,
    OutboundConfig,
    RetentionConfig,
    SmtpInConfig,
)
from listd.database import Database  # noqa: E402
from listd.models import (  # noqa: E402
    AuditEntry,
    DeliverySummary,
    InboundMessage,
    OutboundEntry,
    OutboundMessage,
    StoredMessage,
)
from listd.retention import retention_job  # noqa: E402
from listd.runtime import Runtime  # noqa: E402
from listd.serve import Daemon  # noqa: E402

LIST = "news@lists.example.org"
OWNER = "owner@example.org"
TABLES = (OutboundEntry, OutboundMessage, StoredMessage, InboundMessage, AuditEntry,
          DeliverySummary)


def counts(db: Database) -> dict[str, int]:
    with db.reading() as session:
        return {t.__tablename__: session.execute(select(func.count()).select_from(t))
                .scalar_one() for t in TABLES}


def size(url: str) -> str:
    if not url.startswith("sqlite:///"):
        return "-"
    path = Path(url.removeprefix("sqlite:///"))
    total = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    return f"{total / 1e6:.2f} MB"


def post(port: int, n: int) -> None:
    body = (f"From: {OWNER}\r\nTo: {LIST}\r\nSubject: issue {n}\r\n"
            f"Message-ID: <issue-{n}-{time.time_ns()}@example.org>\r\n\r\n"
            + "News of the week.\r\n" * 200)
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.sendmail(OWNER, [LIST], body.encode())


async def settled(db: Database, expected: int) -> None:
    while True:
        with db.reading() as session:
            done = session.execute(select(func.count()).where(
                OutboundEntry.state.in_(("sent", "failed")))).scalar_one()
        if done >= expected:
            return
        await asyncio.sleep(0.05)


async def run(url: str, posts: int, member_count: int, retention: RetentionConfig,
              outbox: Path) -> None:
    db = Database(url)
    migrate.upgrade(db.engine)
    config = Config(database=url, domains=("lists.example.org",), listmasters=(OWNER,),
                    secret="bench", smtp_in=SmtpInConfig(port=0),
                    http=HttpConfig(enabled=False),
                    dns=DnsConfig(nameservers=("127.0.0.1",), port=9, timeout=0.1),
                    outbound=OutboundConfig(mode="maildir", path=str(outbox)),
                    retention=retention)
    with db.session() as session:
        created = lists.request_list(session, config, LIST, [OWNER], "newsletter")
        lists.approve_list(session, LIST)
        members.import_members(session, created,
                               (f"reader{n}@example.com" for n in range(member_count)))
    clock = OffsetClock()
    daemon = Daemon(Runtime.create(config, db, clock))
    await daemon.start()
    started = time.monotonic()
    delivered = 0
    try:
        for n in range(1, posts + 1):
            await asyncio.to_thread(post, daemon.port, n)
            delivered += member_count
            await settled(db, delivered if not retention.delivered else member_count)
            clock.advance(dt.timedelta(days=8))
            await daemon.runtime.db.run(retention_job, daemon.runtime)
            if n % 10 == 0 or n == 1:
                print(f"  after {n:3d} posts: {counts(db)}  db {size(url)}", flush=True)
    finally:
        await daemon.stop()
        db.dispose()
    print(f"  {posts} posts in {time.monotonic() - started:.1f} s, load {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--database", help="a PostgreSQL URL (a scratch schema is made)")
    args = parser.parse_args()
    logging.getLogger("listd").setLevel(logging.ERROR)  # the DMARC notes of every post
    for label, retention in (("retention off", RetentionConfig(0, 0, 0, 0)),
                             ("retention defaults", RetentionConfig())):
        print(f"{label}: {args.posts} posts to {args.members} members, clock +8 days each")
        with scratch_database(args.database) as url, tempfile.TemporaryDirectory() as outbox:
            asyncio.run(run(url, args.posts, args.members, retention, Path(outbox)))


if __name__ == "__main__":
    main()
