"""Domain quota benchmark: what the claimer pays to book a large fan-out to one limited domain.

    .venv/bin/python bench/domain_quota.py [--members 100000] [--quota 2000] [--database URL]

Queues one message to N recipients, nine in ten at one domain with `outbound.domain_quotas`
QUOTA per hour and one in ten at other domains (no limit), then runs the claimer's
transaction (claim_due, then DomainQuota.pace, batches of 500) until nothing is due: every
row is claimed for sending or booked for a later hour. Nothing is sent; the claimed rows are
marked sent so the next batch moves on, as the recorder would. Prints the rounds, the time
per round and per row (all of the claim transaction, and pace() alone), the rows booked,
and how many hours ahead the last booking is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch_db import scratch_database  # noqa: E402
from listd import migrate  # noqa: E402
from listd.clock import utcnow  # noqa: E402
from listd.config import DomainQuotas  # noqa: E402
from listd.database import Database  # noqa: E402
from listd.distribute.claims import claim_due  # noqa: E402
from listd.distribute.domain_quota import DomainQuota  # noqa: E402
from listd.distribute.queue import enqueue_mail  # noqa: E402
from listd.models import OutboundEntry, OutboundState  # noqa: E402

BATCH = 500


def run(url: str, count: int, quota: int) -> None:
    db = Database(url)
    migrate.upgrade(db.engine)
    recipients = [f"r{n}@gmail.example" if n % 10 else f"r{n}@other{n % 7}.example"
                  for n in range(count)]
    with db.session() as session:
        enqueue_mail(session, sender="news-bounces@lists.example.org", recipients=recipients,
                     message=b"Subject: x\r\n\r\nx\r\n")
    pacing = DomainQuota(DomainQuotas({"gmail.example": quota}))
    now = utcnow()
    rounds = kept = booked = 0
    pacing_time = 0.0
    started = time.perf_counter()
    while True:
        with db.session() as session:
            rows = claim_due(session, now, "bench", BATCH)
            if not rows:
                break
            before = time.perf_counter()
            paced = pacing.pace(session, now, rows, "bench")
            pacing_time += time.perf_counter() - before
            session.execute(update(OutboundEntry).where(
                OutboundEntry.id.in_([r.entry_id for r in paced.kept]))
                .values(state=OutboundState.SENT, sent_at=now, claimed_by=None))
        rounds += 1
        kept += len(paced.kept)
        booked += paced.deferred
    elapsed = time.perf_counter() - started
    with db.session() as session:
        last = session.execute(select(func.max(OutboundEntry.next_attempt_at))).scalar_one()
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"N={count:>7}  {backend:<10}  quota {quota}/hour  {rounds} rounds  "
          f"{elapsed:6.2f} s ({elapsed / rounds * 1000:6.1f} ms a round, "
          f"{elapsed / count * 1e6:5.1f} µs a row; pace() alone {pacing_time:6.2f} s, "
          f"{pacing_time / count * 1e6:5.1f} µs a row)  kept now {kept}  booked later {booked}  "
          f"last booking {(last - now) / dt.timedelta(hours=1):4.1f} h ahead  "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--quota", type=int, default=2000)
    parser.add_argument("--database", default=None,
                        help="a PostgreSQL URL (a scratch schema is made); default SQLite")
    args = parser.parse_args()
    with scratch_database(args.database) as url:
        run(url, args.members, args.quota)


if __name__ == "__main__":
    main()
