"""REMIND * over a site: every subscriber of every active list, one reminder each naming its
lists, queued as a fan-out.

    python bench/remind_all.py [--database URL] [--lists N] [--members N] [--runs N]

Figures: the time `commands.invitations.remind_everyone` takes to read the subscriptions, group
the subscribers by their set of lists, and queue one stored message per group with one queue
entry per subscriber (one transaction), the median of --runs; and how many stored messages and
queue entries that made. --members subscribers per list, --lists lists on two domains, each
member of list K also on list K+1 (so most have two lists, the groups stay few).
Without --database a temporary SQLite file is used; a PostgreSQL URL gets a scratch schema.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from scratch_db import scratch_database
from sqlalchemy import delete, func, insert, select

from listd import lists, migrate
from listd.clock import utcnow
from listd.commands.invitations import remind_everyone
from listd.config import Config
from listd.database import Database
from listd.models import DeliveryMode, Member, MemberStatus, OutboundEntry, OutboundMessage, Role
from listd.runtime import Runtime

DOMAINS = ("lists.example.org", "other.example.org")


def fill(db: Database, config: Config, count: int, members: int) -> None:
    now = utcnow()
    with db.session() as session:
        for number in range(count):
            address = f"list{number}@{DOMAINS[number % 2]}"
            created = lists.request_list(session, config, address, ("owner@example.org",))
            lists.approve_list(session, address)
            people = [f"m{(number * members // 2 + i):07d}@example.com" for i in range(members)]
            session.execute(insert(Member), [
                {"list_id": created.id, "address": a, "display_name": "", "role": Role.SUBSCRIBER,
                 "delivery_mode": DeliveryMode.MAIL, "status": MemberStatus.ENABLED,
                 "bounce_score": 0.0, "bounce_warnings": 0, "subscribed_at": now}
                for a in people])


def one_run(db: Database, runtime: Runtime) -> tuple[float, int, int, int]:
    with db.session() as session:
        session.execute(delete(OutboundEntry))
        session.execute(delete(OutboundMessage))
    start = time.perf_counter()
    with db.session() as session:
        people, _lists = remind_everyone(session, runtime, "listmaster@example.org")
    seconds = time.perf_counter() - start
    with db.session() as session:
        stored = session.scalar(select(func.count()).select_from(OutboundMessage)) or 0
        entries = session.scalar(select(func.count()).select_from(OutboundEntry)) or 0
    return seconds, people, stored, entries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database")
    parser.add_argument("--lists", type=int, default=20)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with scratch_database(args.database) as url:
        config = Config(database=url, domains=DOMAINS, secret="bench")
        db = Database(url)
        migrate.upgrade(db.engine)
        fill(db, config, args.lists, args.members)
        runtime = Runtime.create(config, db)
        print(f"load average {os.getloadavg()[0]:.1f}, backend {db.engine.dialect.name}",
              flush=True)
        runs = [one_run(db, runtime) for _ in range(args.runs)]
        _, people, stored, entries = runs[-1]
        median = statistics.median(r[0] for r in runs)
        print(f"REMIND * over {args.lists} lists x {args.members} members: {people:,} "
              f"subscribers, {stored} stored messages, {entries:,} queue entries; "
              f"median {median:.2f} s ({people / median:,.0f} subscribers/s)", flush=True)
        print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
        db.dispose()


if __name__ == "__main__":
    main()
