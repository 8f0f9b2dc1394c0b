"""Archive search over many messages, and building one digest of many posts.

    python bench/archive_digest.py [--database URL] [--messages N] [--posts N] [--queries N]

Figures:
  archive path   archiving 2,000 messages through listd.archive.store.archive_message (parse,
                 thread, number, index) in one transaction — messages/s;
  bulk load      the other N - 2,000 rows and their search entries written in bulk (not
                 timed as a listd path: it only fills the archive for the search figure);
  search         the median and 95th percentile of --queries searches (one or two words drawn
                 from the corpus's vocabulary), each returning up to 100 ids;
  digest build   one digest of --posts waiting posts: numbering, the conditional UPDATE, the
                 three forms (MIME, RFC 1153, summary) composed and rendered, three outbound rows.
Without --database a temporary SQLite file is used; a PostgreSQL URL gets a scratch schema.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from email.message import EmailMessage
from email.utils import make_msgid

from scratch_db import scratch_database
from sqlalchemy import insert, select

from listd import lists, migrate
from listd.archive import search
from listd.archive.store import archive_message
from listd.clock import utcnow
from listd.config import Config
from listd.database import Database
from listd.digest.store import build_digest
from listd.models import ArchivedMessage, DigestPost
from listd.runtime import Runtime

DOMAIN = "lists.example.org"
LIST = f"bench@{DOMAIN}"
WORDS = [f"word{n}" for n in range(5000)] + ["meeting", "budget", "harvest", "union", "strike"]


def sample_post(rng: random.Random, number: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Member {number % 500} <member{number % 500}@example.org>"
    message["To"] = LIST
    message["Subject"] = " ".join(rng.choices(WORDS, k=5))
    message["Message-ID"] = make_msgid(domain="example.org")
    message["Date"] = "Tue, 01 Dec 2026 09:30:00 +0000"
    message.set_content("\n".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(20)))
    return message.as_bytes()


def archive_path(db: Database, count: int, rng: random.Random) -> float:
    raws = [sample_post(rng, n) for n in range(count)]
    start = time.perf_counter()
    with db.session() as session:
        mailing_list = lists.find_list(session, LIST)
        for raw in raws:
            archive_message(session, mailing_list, raw, utcnow())
    return count / (time.perf_counter() - start)


def bulk_load(db: Database, first: int, count: int, rng: random.Random) -> None:
    now = utcnow()
    for batch_start in range(first, first + count, 5000):
        numbers = range(batch_start, min(batch_start + 5000, first + count))
        with db.session() as session:
            list_id = lists.find_list(session, LIST).id
            rows = [{"list_id": list_id, "number": n, "message_id": f"<{n}@bench>",
                     "in_reply_to": None, "references": "", "thread_number": n,
                     "subject": " ".join(rng.choices(WORDS, k=5)), "author_name": "",
                     "author_address": f"member{n % 500}@example.org", "date": now,
                     "body_text": "\n".join(" ".join(rng.choices(WORDS, k=12))
                                            for _ in range(20)),
                     "raw": b"", "size": 0, "archived_at": now} for n in numbers]
            session.execute(insert(ArchivedMessage), rows)
            ids = dict(session.execute(select(ArchivedMessage.number, ArchivedMessage.id).where(
                ArchivedMessage.list_id == list_id, ArchivedMessage.number >= numbers[0])).all())
            search.index_messages(session, [
                {"id": ids[r["number"]], "subject": r["subject"],
                 "author": r["author_address"], "body": r["body_text"]} for r in rows])


def time_searches(db: Database, queries: int, rng: random.Random) -> tuple[float, float, int]:
    timings, hits = [], 0
    with db.reading() as session:
        list_id = lists.find_list(session, LIST).id
        for _ in range(queries):
            query = " ".join(rng.choices(WORDS, k=rng.choice((1, 2))))
            start = time.perf_counter()
            hits += len(search.search(session, list_id, query))
            timings.append(time.perf_counter() - start)
    timings.sort()
    return (statistics.median(timings) * 1000, timings[int(len(timings) * 0.95)] * 1000,
            hits // queries)


def time_digest(db: Database, runtime: Runtime, posts: int, rng: random.Random) -> float:
    with db.session() as session:
        mailing_list = lists.find_list(session, LIST)
        for number in range(posts):
            raw = sample_post(rng, number)
            session.add(DigestPost(list_id=mailing_list.id, raw=raw, size=len(raw),
                                   created_at=utcnow()))
    start = time.perf_counter()
    with db.session() as session:
        digest = build_digest(session, runtime, lists.find_list(session, LIST), utcnow())
        assert digest is not None and digest.posts == posts
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(13)
    with scratch_database(args.database) as url:
        config = Config(database=url, domains=(DOMAIN,), secret="bench")
        db = Database(url)
        migrate.upgrade(db.engine)
        with db.session() as session:
            lists.request_list(session, config, LIST, ("owner@example.org",), "discussion")
            lists.approve_list(session, LIST)
        runtime = Runtime.create(config, db)
        print(f"load average {os.getloadavg()[0]:.1f}, backend {db.engine.dialect.name}",
              flush=True)
        sample = min(2000, args.messages)
        rate = archive_path(db, sample, rng)
        print(f"archive path: {sample} messages, {rate:,.0f} messages/s", flush=True)
        bulk_load(db, sample + 1, args.messages - sample, rng)
        median, p95, hits = time_searches(db, args.queries, rng)
        print(f"search over {args.messages}: median {median:.1f} ms, p95 {p95:.1f} ms, "
              f"{hits} hits/query")
        seconds = time_digest(db, runtime, args.posts, rng)
        print(f"digest build, {args.posts} posts, 3 forms: {seconds:.2f} s", flush=True)
        print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
        db.dispose()


if __name__ == "__main__":
    main()
