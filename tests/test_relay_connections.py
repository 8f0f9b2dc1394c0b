"""listd's relay connections end to end: a relay that drops idle connections costs nothing."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import pytest

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.models import OutboundState
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.conftest import with_relay
from tests.support.lists import make_list
from tests.support.sink import Sink
from tests.support.waiting import wait_until
from tests.test_distribution import NEWS, POSTER, entries, members, post_raw

MEMBERS = members(40)


@pytest.fixture
async def dropping_sink() -> AsyncIterator[Sink]:
    """A relay that closes connections idle for a second (Postfix under stress: 10 s)."""
    sink = Sink(idle_timeout=1.0)
    await sink.start()
    yield sink
    await sink.stop()


@pytest.fixture
async def relayed(config: Config, db: Database, clock: OffsetClock,
                  dropping_sink: Sink) -> AsyncIterator[Daemon]:
    server = Daemon(Runtime.create(with_relay(config, dropping_sink), db, clock))
    await server.start()
    yield server
    await server.stop()


def post(number: int) -> bytes:
    return (f"From: Poster <{POSTER}>\r\nTo: {NEWS}\r\nSubject: issue {number}\r\n"
            f"Message-ID: <issue-{number}@example.org>\r\n\r\nNews {number}.\r\n").encode()


def all_sent(db: Database, count: int) -> bool:
    rows = entries(db)
    return len(rows) == count and all(r.state is OutboundState.SENT for r in rows)


async def test_after_the_relay_dropped_idle_connections_a_post_reaches_everyone_at_once(
        relayed: Daemon, db: Database, config: Config, dropping_sink: Sink) -> None:
    make_list(db, config, NEWS, posting="anyone", subscribers=MEMBERS)
    await post_raw(relayed.port, post(1))
    await wait_until(lambda: all_sent(db, len(MEMBERS)), timeout=20, what="the first post")
    opened = len(dropping_sink.sessions)
    await wait_until(lambda: dropping_sink.open_sessions == 0, timeout=10,
                     what="the relay to drop every idle connection")

    started = time.monotonic()
    await post_raw(relayed.port, post(2))
    # A deferral would wait for its retry (30 s and more): everyone within seconds, or none.
    await wait_until(lambda: all_sent(db, 2 * len(MEMBERS)), timeout=10,
                     what="the second post, over new connections")
    assert time.monotonic() - started < 10
    assert {r.attempts for r in entries(db)} == {1}
    assert len(dropping_sink.received) == 2 * len(MEMBERS)
    assert len({(r.recipients[0], r.message["Subject"]) for r in dropping_sink.received}) == \
        2 * len(MEMBERS)
    assert len(dropping_sink.sessions) > opened


@pytest.fixture
async def one_connection_per_domain(config: Config, db: Database, clock: OffsetClock,
                                    sink: Sink) -> AsyncIterator[Daemon]:
    relayed = with_relay(config, sink)
    relayed = dataclasses.replace(relayed, outbound=dataclasses.replace(
        relayed.outbound, connections=2, per_domain_connections=1))
    server = Daemon(Runtime.create(relayed, db, clock))
    await server.start()
    yield server
    await server.stop()


async def test_the_per_domain_limit_counts_connections_not_messages(
        one_connection_per_domain: Daemon, db: Database, config: Config, sink: Sink) -> None:
    # One domain, one connection allowed for it: that connection still pipelines a chunk
    # of recipients, the end of one message and the next envelope in one write.
    subscribers = tuple(f"reader{n}@example.com" for n in range(30))
    make_list(db, config, NEWS, posting="anyone", subscribers=subscribers)
    await post_raw(one_connection_per_domain.port, post(1))
    await wait_until(lambda: all_sent(db, len(subscribers)), timeout=20, what="the fan-out")
    assert len(sink.received) == len(subscribers)
    reads = [read for session in sink.sessions for read in session.reads]
    assert any(b"\r\n.\r\nMAIL FROM:" in read for read in reads)
