"""How many posts per second go through the posting policy pipeline.

    python bench/posting_pipeline.py [--database URL] [--posts N] [--members N]

Three figures, each the median of several runs:
  rules       the rules alone, on facts already read (pure Python);
  facts+rules reading each post's facts from the database (membership, accept and ban
              patterns, Message-ID seen before) and running the rules, no writes;
  handler     the inbound worker's whole path as a lane of `listd serve` runs it: prepare
              (read, parse, facts, render), then one transaction that decides and acts
              (accept → hand to distribution, hold → held row + moderator notice, reject →
              notice), audits, marks the row and claims the lane's next row; one commit per
              post. 70% of posts come from members.
Without --database a temporary SQLite file is used; a PostgreSQL URL gets a scratch schema.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from email import policy
from email.parser import BytesParser

from scratch_db import scratch_database

from listd import lists, members, migrate
from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.models import InboundMessage, MailingList, StoredMessage
from listd.posting.patterns import PatternKind, add_pattern
from listd.posting.pipeline import evaluate
from listd.posting.post import read_post
from listd.processing.worker import process_batch
from listd.runtime import Runtime
from listd.smtp_in.routing import Route, parse_local_part
from listd.smtp_in.spool import Envelope, store_inbound

DOMAIN = "lists.example.org"
LIST = f"bench@{DOMAIN}"
RUNS = 5


def message(number: int, sender: str) -> bytes:
    return (f"From: Poster {number} <{sender}>\r\nTo: {LIST}\r\nCc: a@example.org\r\n"
            f"Subject: Post number {number} about the meeting\r\n"
            f"Message-ID: <bench-{number}-{uuid.uuid4().hex}@example.org>\r\n\r\n"
            f"Hello all,\r\nhere is what I think about item {number}.\r\n-- \r\nPoster\r\n"
            ).encode()


def setup(db: Database, config: Config, member_count: int) -> MailingList:
    with db.session() as session:
        created = lists.request_list(session, config, LIST, ["owner@example.org"])
        members.import_members(session, created, (f"m{n}@example.org" for n in range(
            member_count)))
        for n in range(50):
            add_pattern(session, created, PatternKind.ACCEPT, f"friend{n}@example.net")
        for n in range(10):
            add_pattern(session, created, PatternKind.BAN, f"*@spam{n}.example")
        lists.approve_list(session, LIST)
        return created


def queue_posts(db: Database, count: int, member_count: int, start: int) -> list[int]:
    destination = parse_local_part("bench", DOMAIN, "listd")
    with db.session() as session:
        list_id = lists.find_list(session, LIST).id
        route = Route(LIST, destination, list_id)
        ids = []
        for n in range(start, start + count):
            # 7 in 10 from members, the rest from strangers (held).
            sender = (f"m{n % max(member_count, 1)}@example.org" if n % 10 < 7
                      else f"stranger{n}@example.net")
            ids += store_inbound(session, message(n, sender), Envelope(sender, [route], "bench"))
    return ids


def timed(fn: Callable[[], int]) -> float:
    started = time.perf_counter()
    done = fn()
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--members", type=int, default=10,
                        help="subscribers (each accepted post queues one row per subscriber)")
    args = parser.parse_args()
    with scratch_database(args.database) as url:
        db = Database(url)
        migrate.upgrade(db.engine)
        config = Config(database=url, domains=(DOMAIN,), listmasters=("lm@example.org",),
                        secret="bench", language="en")
        runtime = Runtime.create(config, db, OffsetClock())
        setup(db, config, args.members)
        queue_posts(db, args.posts, args.members, 0)
        with db.session() as session:
            mailing_list = lists.find_list(session, LIST)
            rows = session.query(InboundMessage).order_by(InboundMessage.id).all()
            raws = {r.id: session.get_one(StoredMessage, r.message_id).raw for r in rows}
            parser_ = BytesParser(policy=policy.default)
            parsed = [(r, parser_.parsebytes(raws[r.id])) for r in rows]

            def facts_and_rules() -> int:
                for row, msg in parsed:
                    evaluate(read_post(session, mailing_list, msg, raws[row.id],
                                       row.envelope_sender, "listd", row.id))
                return len(parsed)

            posts = [read_post(session, mailing_list, msg, raws[row.id],
                               row.envelope_sender, "listd", row.id) for row, msg in parsed]

            def rules_only() -> int:
                for _ in range(10):
                    for one in posts:
                        evaluate(one)
                return 10 * len(posts)

            rules_rate = statistics.median(timed(rules_only) for _ in range(RUNS))
            facts_rate = statistics.median(timed(facts_and_rules) for _ in range(RUNS))

        handler_rates = []
        handler_cpu = []
        for run in range(3):
            if run:
                queue_posts(db, args.posts, args.members, run * args.posts)

            def handle_all() -> int:
                # One lane: each finishing transaction claims the next row, as the lanes of
                # `listd serve` do (worker.py), so there is no claim transaction per post.
                done = 0
                while handled := len(process_batch(runtime, limit=args.posts)):
                    done += handled
                return done

            cpu_before = time.process_time()
            handler_rates.append(timed(handle_all))
            handler_cpu.append((time.process_time() - cpu_before) * 1000 / args.posts)
        backend = db.engine.dialect.name
        db.dispose()
    print(f"posting pipeline on {backend}, {args.posts} posts, {args.members} subscribers, "
          f"50 accept + 10 ban patterns")
    print(f"  rules only:            {rules_rate:10.0f} posts/s")
    print(f"  facts from DB + rules: {facts_rate:10.0f} posts/s")
    print(f"  whole handler, commit: {statistics.median(handler_rates):10.0f} posts/s "
          f"(one write transaction per post)")
    print(f"  load average:          {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"  whole handler, CPU:    {statistics.median(handler_cpu):10.2f} ms/post "
          f"(process CPU time, median of {len(handler_cpu)})")


if __name__ == "__main__":
    main()
