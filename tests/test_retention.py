"""Retention: finished records go after their `retention:` days, summaries keep the counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.models import (
    AuditEntry,
    DeliverySummary,
    HeldMessage,
    OutboundEntry,
    OutboundMessage,
    StoredMessage,
)
from listd.retention import retention_job
from listd.serve import Daemon
from tests.support.lists import make_list
from tests.support.sink import Sink
from tests.support.waiting import wait_until
from tests.test_distribution import NEWS, POSTER, members, post_raw


def count(db: Database, model: type) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def a_post(subject: str, sender: str = POSTER) -> bytes:
    return (f"From: <{sender}>\r\nTo: {NEWS}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@example.org>\r\n\r\nHello.\r\n").encode()


def quiet(db: Database) -> int:
    """How many queue rows there are, once none waits for its first answer (else 0)."""
    with db.session() as session:
        rows = session.execute(select(OutboundEntry.state)).scalars().all()
    return len(rows) if all(s in ("sent", "failed", "deferred") for s in rows) else 0


def summaries(db: Database) -> list[DeliverySummary]:
    with db.session() as session:
        return list(session.scalars(select(DeliverySummary).order_by(DeliverySummary.outbound_id)))


async def test_old_deliveries_become_a_summary_and_each_kind_goes_after_its_days(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink,
        clock: OffsetClock) -> None:
    # No daily reminder of the held post: its mail would be new queue rows after each jump.
    make_list(db, config, NEWS, subscribers=(*members(5), POSTER), held_reminder=False)
    sink.refuse("member3@example.com", "550 5.1.1 no such user")
    sink.refuse("member1@example.com", "451 4.3.0 try later")
    # A non-member's post is held: its raw message must outlive the inbound retention.
    await post_raw(relayed_daemon.port, a_post("held", "stranger@example.net"),
                   sender="stranger@example.net")
    await post_raw(relayed_daemon.port, a_post("first"))
    await wait_until(lambda: quiet(db) >= 7, timeout=20, what="the first attempts")
    clock.advance(dt.timedelta(minutes=2))
    relayed_daemon.runtime.signals.outbound.set()
    await wait_until(lambda: sink.to("member1@example.com"), timeout=20, what="the retry")
    posts_before = count(db, OutboundMessage)
    audit_before = count(db, AuditEntry)
    assert audit_before > 0

    clock.advance(dt.timedelta(days=8))
    await wait_until(lambda: count(db, OutboundEntry) == 0, timeout=20,
                     what="the retention job to purge delivered rows")
    assert count(db, OutboundMessage) == 0
    by_kind = {s.kind: s for s in summaries(db)}
    assert len(summaries(db)) == posts_before
    post = by_kind["post"]
    assert (post.recipients, post.delivered, post.deferred, post.failed) == (6, 5, 1, 1)
    assert count(db, StoredMessage) == 2, "raw messages are kept for 30 days"

    # At 30 days the raw messages go, but the held post's. (The job is run here directly:
    # the periodic run was shown above.)
    clock.advance(dt.timedelta(days=23))
    runtime = relayed_daemon.runtime
    assert await runtime.db.run(retention_job, runtime) > 0
    assert count(db, StoredMessage) == 1
    with db.session() as session:
        held_raw = session.scalars(select(HeldMessage.message_id)).one()
        assert session.scalars(select(StoredMessage.id)).one() == held_raw
    clock.advance(dt.timedelta(days=366))
    await runtime.db.run(retention_job, runtime)
    assert count(db, AuditEntry) < audit_before
