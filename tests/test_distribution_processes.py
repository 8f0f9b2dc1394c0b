"""Distribution across real `listd serve` processes: SIGKILL mid-fan-out, and queue sharing."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from listd import lists, members
from listd.config import Config
from listd.database import Database
from listd.distribute.delivery import UNRECORDED_AT_MOST
from listd.models import (
    DeliveryMode,
    Digest,
    DigestPost,
    Member,
    OutboundEntry,
    OutboundState,
    Role,
)
from tests.conftest import PG_URL
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.process import ServeProcess
from tests.support.sink import Sink
from tests.support.waiting import wait_until

NEWS = "news@lists.example.org"
BATCH = 50


def relay_config(config: Config, sink: Sink, path: Path, batch: int = BATCH,
                 connections: int = 4, outbound: str = "", http: str = "") -> Path:
    path.write_text(
        f"database: {config.database}\n"
        f"domains: [lists.example.org]\n"
        f"listmasters: [listmaster@example.org]\n"
        f"secret: test-secret\n"
        f"list_templates: {config.list_templates}\n"
        f"smtp_in: {{host: 127.0.0.1, port: 0}}\n"
        # No fixed port: two processes (and other test runs) share this machine.
        f"http: {{host: 127.0.0.1, port: 0{http}}}\n"
        f"dns: {{nameservers: [127.0.0.1], port: {config.dns.port}, timeout: 1.0}}\n"
        f"outbound: {{mode: smtp, host: 127.0.0.1, port: {sink.port}, "
        f"connections: {connections}, batch_size: {batch}{outbound}}}\n")
    return path


def newsletter(db: Database, config: Config, count: int) -> None:
    make_list(db, config, NEWS, template="newsletter")
    with db.session() as session:
        members.import_members(session, lists.find_list(session, NEWS),
                               (f"reader{n}@example.com" for n in range(count)))


def states(db: Database) -> dict[OutboundState, int]:
    with db.session() as session:
        return dict(session.execute(select(OutboundEntry.state, func.count())
                                    .group_by(OutboundEntry.state)).all())


def all_sent(db: Database, count: int) -> bool:
    return states(db).get(OutboundState.SENT, 0) == count


async def test_sigkill_mid_fanout_then_restart_delivers_everyone_with_bounded_duplicates(
        db: Database, config: Config, sink: Sink, tmp_path: Path) -> None:
    count = 2000
    newsletter(db, config, count)
    config_file = relay_config(config, sink, tmp_path / "relay.yaml")
    serve = ServeProcess(config_file, tmp_path / "serve.log").start()
    try:
        await in_thread(post, serve.port, "owner@example.org", NEWS, "Big news")
        await wait_until(lambda: len(sink.received) >= 300, timeout=30,
                         what="the fan-out to be well under way")
    finally:
        serve.kill()
    at_kill = len(sink.received)
    assert at_kill < count, "the kill came in the middle of the fan-out"

    serve.start()
    try:
        await wait_until(lambda: all_sent(db, count), timeout=60,
                         what="the restarted process to finish the fan-out")
    finally:
        assert serve.terminate() == 0
    per_recipient = Counter(r.recipients[0] for r in sink.received)
    assert len(per_recipient) == count, "every recipient got the post"
    duplicates = sum(per_recipient.values()) - count
    # Only rows claimed and not yet recorded can go twice: at most two batches.
    assert duplicates <= 2 * BATCH, duplicates
    assert re.search(r"took back \d+ deliveries", serve.log())


@pytest.mark.skipif(not PG_URL, reason="queue sharing between processes needs PostgreSQL")
async def test_two_processes_split_a_10000_recipient_fanout_without_duplicates(
        db: Database, config: Config, sink: Sink, tmp_path: Path) -> None:
    count = 10_000
    newsletter(db, config, count)
    config_file = relay_config(config, sink, tmp_path / "relay.yaml")
    first = ServeProcess(config_file, tmp_path / "first.log").start()
    second = ServeProcess(config_file, tmp_path / "second.log").start()
    try:
        await in_thread(post, first.port, "owner@example.org", NEWS, "Shared news")
        await wait_until(lambda: all_sent(db, count), timeout=180,
                         what="the two processes to finish the fan-out")
    finally:
        assert first.terminate() == 0
        assert second.terminate() == 0
    per_recipient = Counter(r.recipients[0] for r in sink.received)
    assert len(per_recipient) == count
    assert max(per_recipient.values()) == 1, "no recipient got the post twice"
    for serve in (first, second):
        recorded = [int(n) for n in re.findall(r"delivery: (\d+) recorded", serve.log())]
        assert sum(recorded) > 0, "both processes took part"


def claims_held_by(db: Database, pid: int) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).where(
            OutboundEntry.state == OutboundState.SENDING,
            OutboundEntry.claimed_by.like(f"%:{pid}:%"))).scalar_one()


def extras(sink: Sink) -> int:
    per_recipient = Counter(r.recipients[0] for r in sink.received)
    return sum(per_recipient.values()) - len(per_recipient)


async def test_a_killed_process_deliveries_are_taken_over_by_the_live_one_within_seconds(
        db: Database, config: Config, sink: Sink, tmp_path: Path) -> None:
    count, connections = 3000, 4
    newsletter(db, config, count)
    # Paced, so the kill finds the victim holding claims; the lease stays at 10 minutes.
    config_file = relay_config(config, sink, tmp_path / "relay.yaml", connections=connections,
                               outbound=", heartbeat: 0.5, takeover_after: 3, "
                                        "quota: {rate: 250}")
    victim = ServeProcess(config_file, tmp_path / "victim.log").start()
    survivor = ServeProcess(config_file, tmp_path / "survivor.log").start()
    try:
        await in_thread(post, victim.port, "owner@example.org", NEWS, "Shared news")
        assert victim.process is not None
        pid = victim.process.pid
        await wait_until(lambda: len(sink.received) >= 300 and claims_held_by(db, pid),
                         timeout=60, what="the victim to hold claims mid fan-out")
        victim.kill()
        at_kill = len(sink.received)
        assert at_kill < count
        await wait_until(lambda: claims_held_by(db, pid) == 0, timeout=10,
                         what="the survivor to take back the dead process's claims")
        await wait_until(lambda: all_sent(db, count), timeout=60,
                         what="the survivor to finish the fan-out")
    finally:
        assert survivor.terminate() == 0
    per_recipient = Counter(r.recipients[0] for r in sink.received)
    assert len(per_recipient) == count
    # Only what the victim had on the wire can have gone twice.
    assert extras(sink) <= connections * UNRECORDED_AT_MOST, extras(sink)
    assert re.search(r"took back \d+ deliveries claimed by a process that is gone",
                     survivor.log())


@contextmanager
def writes_held(db: Database) -> Iterator[None]:
    """Hold the queue's write lock, as a busy database under load does for a while."""
    with db.engine.connect() as connection:
        # SQLite: the engine's BEGIN IMMEDIATE takes the write lock.
        transaction = connection.begin()
        if not db.is_sqlite:
            connection.exec_driver_sql("LOCK TABLE outbound_queue IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            transaction.rollback()


async def test_sigkills_mid_fanout_resend_at_most_what_was_on_the_wire(
        db: Database, config: Config, sink: Sink, tmp_path: Path) -> None:
    count, connections, kills = 2000, 4, 4
    bound = connections * UNRECORDED_AT_MOST
    newsletter(db, config, count)
    # The default batch size: the duplicates must not depend on it.
    config_file = relay_config(config, sink, tmp_path / "relay.yaml", batch=500,
                               connections=connections)
    serve = ServeProcess(config_file, tmp_path / "serve.log").start()
    await in_thread(post, serve.port, "owner@example.org", NEWS, "Big news")
    for _ in range(kills):
        seen = len(sink.received)
        try:
            await wait_until(lambda seen=seen: len(sink.received) >= seen + 150, timeout=30,
                             what="the fan-out to be under way")
            with writes_held(db):
                # While nothing can be recorded, listd must stop sending after what is on the
                # wire; the wait ends early (with a kill that finds more unrecorded) if not.
                held_at = len(sink.received)
                with contextlib.suppress(AssertionError):
                    await wait_until(lambda at=held_at: len(sink.received) > at + bound,
                                     timeout=1.5, what="more sends than the bound")
                serve.kill()
        finally:
            if serve.process is not None and serve.process.poll() is None:
                serve.kill()
        serve.start()
    try:
        await wait_until(lambda: all_sent(db, count), timeout=60, what="the fan-out to end")
    finally:
        assert serve.terminate() == 0
    assert len({r.recipients[0] for r in sink.received}) == count
    print(f"extras after {kills} kills: {extras(sink)}")
    assert extras(sink) <= kills * bound, extras(sink)


async def test_sigkill_mid_digest_fanout_builds_it_once_and_resumes(
        db: Database, config: Config, sink: Sink, tmp_path: Path) -> None:
    count = 2000
    make_list(db, config, NEWS, template="newsletter", digest_frequency="never",
              digest_max_posts=2)
    with db.session() as session:
        mailing_list = lists.find_list(session, NEWS)
        members.import_members(session, mailing_list,
                               (f"reader{n}@example.com" for n in range(count)))
        session.execute(update(Member).where(Member.list_id == mailing_list.id,
                                             Member.role == Role.SUBSCRIBER)
                        .values(delivery_mode=DeliveryMode.DIGEST))
    config_file = relay_config(config, sink, tmp_path / "relay.yaml")
    serve = ServeProcess(config_file, tmp_path / "serve.log").start()
    try:
        await in_thread(post, serve.port, "owner@example.org", NEWS, "Part one")
        await in_thread(post, serve.port, "owner@example.org", NEWS, "Part two")
        await wait_until(lambda: len(sink.received) >= 300, timeout=30,
                         what="the digest fan-out to be well under way")
    finally:
        serve.kill()
    assert len(sink.received) < count, "the kill came in the middle of the fan-out"
    serve.start()
    try:
        await wait_until(lambda: all_sent(db, count), timeout=60,
                         what="the restarted process to finish the digest fan-out")
    finally:
        assert serve.terminate() == 0
    per_recipient = Counter(r.recipients[0] for r in sink.received)
    assert len(per_recipient) == count, "every digest reader got the digest"
    assert sum(per_recipient.values()) - count <= 2 * BATCH
    subjects = {str(r.message["Subject"]) for r in sink.received}
    assert subjects == {"[news] Digest, Vol 1, Issue 1"}, subjects
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Digest)) == 1
        assert session.scalar(select(func.count()).select_from(DigestPost)
                              .where(DigestPost.digest_id.is_not(None))) == 2
