"""Pacing per recipient domain (`outbound.domain_quotas`), end to end through two `listd serve`
daemons sharing one database and the SMTP sink; the clock moves, nobody sleeps."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy import select

from listd import lists, members
from listd.clock import OffsetClock
from listd.config import Config, ConfigError, DomainQuotas, load_config
from listd.database import Database
from listd.distribute.domain_quota import Bookings, minute_of
from listd.models import OutboundEntry, OutboundState
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.conftest import CLI, PG_URL, with_relay
from tests.support.client import in_thread, send
from tests.support.client import post as post_mail
from tests.support.lists import make_list
from tests.support.process import ServeProcess
from tests.support.sink import Sink
from tests.support.waiting import wait_until
from tests.test_distribution_processes import relay_config, states

NEWS = "news@lists.example.org"
POSTER = "poster@example.org"
LIMITED = tuple(f"reader{n}@Example.COM" for n in range(5))
FREE = tuple(f"reader{n}@example.net" for n in range(4))
HOUR = dt.timedelta(hours=1)

Start = Callable[[dict[str, int]], Awaitable[list[Daemon]]]


def rows(db: Database) -> list[OutboundEntry]:
    with db.session() as session:
        return list(session.scalars(select(OutboundEntry).order_by(OutboundEntry.id)))


def paced(db: Database) -> list[OutboundEntry]:
    return [r for r in rows(db) if r.paced_domain is not None]


def arrived(sink: Sink) -> Counter[str]:
    return Counter(r.recipients[0].lower() for r in sink.received)


@pytest.fixture
async def daemons(config: Config, db: Database, clock: OffsetClock,
                  sink: Sink) -> AsyncIterator[Start]:
    """Two daemons (two processes' worth: own database pools, own worker ids) with QUOTAS."""
    async with AsyncExitStack() as stack:
        async def start(quotas: dict[str, int]) -> list[Daemon]:
            relayed = with_relay(config, sink)
            paced_config = dataclasses.replace(relayed, outbound=dataclasses.replace(
                relayed.outbound, domain_quotas=DomainQuotas(quotas), batch_size=4,
                # The test's clock jumps by hours: heartbeats must not look stale for it, or
                # each daemon would take the other's claims as a dead process's.
                takeover_after=3 * 3600.0))
            started = []
            for _ in range(2):
                database = Database(config.database)
                stack.callback(database.dispose)
                server = Daemon(Runtime.create(paced_config, database, clock))
                await server.start()
                stack.push_async_callback(server.stop)
                started.append(server)
            return started
        yield start


async def post(daemon: Daemon) -> None:
    raw = (f"From: {POSTER}\r\nTo: {NEWS}\r\nSubject: Paced\r\n"
           f"Message-ID: <paced@example.org>\r\n\r\nHello.\r\n").encode()
    await in_thread(send, daemon.port, POSTER, [NEWS], raw)


async def claim_rounds(servers: list[Daemon], rounds: int = 3) -> None:
    """Let every daemon claim a few more times (each round ends when it cleared its signal)."""
    for _ in range(rounds):
        for server in servers:
            server.runtime.signals.outbound.set()
        for server in servers:
            signal = server.runtime.signals.outbound
            await wait_until(lambda signal=signal: not signal.is_set(), what="a claim round")


async def test_a_domain_gets_its_quota_per_hour_while_others_go_at_full_speed(
        daemons: Start, db: Database, config: Config, sink: Sink,
        clock: OffsetClock, listd_cli: CLI) -> None:
    servers = await daemons({"example.com": 3})
    make_list(db, config, NEWS, posting="anyone", subscribers=(*LIMITED, *FREE))
    await post(servers[0])

    await wait_until(lambda: len(sink.received) >= 7 and len(paced(db)) == 2, timeout=20,
                     what="the quota's worth and every other domain's recipients")
    await claim_rounds(servers)
    got = arrived(sink)
    assert sum(n for r, n in got.items() if r.endswith("@example.com")) == 3
    assert all(got[r] == 1 for r in FREE)
    waiting = paced(db)
    assert {(r.state, r.attempts, r.paced_domain) for r in waiting} == {
        (OutboundState.QUEUED, 0, "example.com")}, "waiting, not failed nor tried"
    first_sent = min(r.sent_at for r in rows(db) if r.sent_at is not None)
    assert all(r.next_attempt_at >= minute_of(first_sent) + HOUR - dt.timedelta(minutes=1)
               for r in waiting), "not before the hour is up"

    status = json.loads(listd_cli.ok("queue", "status", "--json").output)
    assert [(w["domain"], w["recipients"]) for w in status["waiting_for_domain_quota"]] == [
        ("example.com", 2)]
    assert "waiting for the hourly quota of example.com: 2 recipients" in listd_cli.ok(
        "queue", "status").output

    clock.advance(HOUR)
    await claim_rounds(servers, rounds=1)
    await wait_until(lambda: len(sink.received) == 9 and not paced(db), timeout=20,
                     what="the rest, an hour later")
    await claim_rounds(servers)
    assert arrived(sink) == Counter(r.lower() for r in (*LIMITED, *FREE)), "each exactly once"
    assert {r.state for r in rows(db)} == {OutboundState.SENT}
    assert json.loads(listd_cli.ok("queue", "status", "--json").output)[
        "waiting_for_domain_quota"] == []


async def test_the_default_quota_applies_to_every_domain_not_named(
        daemons: Start, db: Database, config: Config, sink: Sink,
        clock: OffsetClock) -> None:
    # example.net: 0 takes it out of the default; example.com has the default's 2.
    servers = await daemons({"default": 2, "example.net": 0})
    make_list(db, config, NEWS, posting="anyone", subscribers=(*LIMITED, *FREE))
    await post(servers[1])

    await wait_until(lambda: len(sink.received) >= 6 and len(paced(db)) == 3, timeout=20,
                     what="the default quota's worth")
    await claim_rounds(servers)
    got = arrived(sink)
    assert sum(n for r, n in got.items() if r.endswith("@example.com")) == 2
    assert all(got[r] == 1 for r in FREE)

    clock.advance(HOUR)
    await claim_rounds(servers, rounds=1)
    await wait_until(lambda: len(sink.received) >= 8, timeout=20, what="the next hour's two")
    await claim_rounds(servers)
    assert len(sink.received) == 8 and len(paced(db)) == 1
    clock.advance(HOUR)
    await claim_rounds(servers, rounds=1)
    await wait_until(lambda: len(sink.received) == 9 and not paced(db), timeout=20,
                     what="the last one, in the third hour")
    assert max(arrived(sink).values()) == 1


def test_a_burst_over_the_quota_is_booked_an_hour_later() -> None:
    now = dt.datetime(2026, 12, 1, 14, 30, 20)
    booked = Bookings(3, now, {}).book(5)
    assert booked == [minute_of(now)] * 3 + [minute_of(now) + HOUR] * 2


def test_bookings_keep_every_sixty_minute_window_within_the_quota() -> None:
    """Minute by minute, new recipients arrive and earlier bookings come due; all that was
    ever counted, in any 60 consecutive minutes, stays within the quota."""
    quota, start = 7, dt.datetime(2026, 12, 1, 0, 0)
    randoms = random.Random(16)
    stored: dict[dt.datetime, int] = {}
    for step in range(600):
        now = start + dt.timedelta(minutes=step, seconds=randoms.randrange(60))
        recent = {m: n for m, n in stored.items() if m > minute_of(now) - HOUR}
        bookings = Bookings(quota, now, recent)
        for minute in bookings.book(randoms.choice([0, 0, 1, 3, 12])):
            assert minute >= minute_of(now)
        stored.update(bookings.written())
    for end in sorted(stored):
        window = sum(n for m, n in stored.items() if end - HOUR < m <= end)
        assert window <= quota, end
    assert sum(stored.values()) > 600 * quota // 60, "the quota is used, not wasted"


@pytest.mark.parametrize(("text", "message"), [
    ("outbound: {domain_quotas: 2000}\n", "'outbound.domain_quotas' must be a mapping"),
    ("outbound: {domain_quotas: {gmail.com: -1}}\n",
     "'outbound.domain_quotas.gmail.com' must be a whole number"),
    ("outbound: {domain_quotas: {gmail.com: lots}}\n",
     "'outbound.domain_quotas.gmail.com' must be a whole number of recipients per hour"),
    ("outbound: {domain_quotas: {default: 1.5}}\n",
     "'outbound.domain_quotas.default' must be a whole number"),
    ("outbound: {domain_quotas: {'user@gmail.com': 10}}\n",
     "'outbound.domain_quotas' names 'user@gmail.com', which is not a domain name"),
    ("outbound: {domain_quotas: {gmail.com: 1, GMAIL.com: 2}}\n",
     "'outbound.domain_quotas' names the domain gmail.com twice"),
])
def test_bad_domain_quotas_are_refused_naming_the_key(tmp_path: Path, text: str,
                                                      message: str) -> None:
    path = tmp_path / "listd.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_domain_quotas_are_read_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "listd.yaml"
    path.write_text("outbound:\n  domain_quotas:\n    default: 0\n    Gmail.com: 2000\n"
                    "    bücher.example: 5\n")
    quotas = load_config(path, environ={}).outbound.domain_quotas
    assert quotas == {"default": 0, "gmail.com": 2000, "xn--bcher-kva.example": 5}
    assert (quotas.quota_of("gmail.com"), quotas.quota_of("yahoo.com")) == (2000, 0)
    assert load_config(path, environ={"LISTD_OUTBOUND__DOMAIN_QUOTAS": "{default: 7}"}
                       ).outbound.domain_quotas.quota_of("yahoo.com") == 7
    path.write_text("outbound: {mode: maildir}\n")
    assert load_config(path, environ={}).outbound.domain_quotas == {}


@pytest.mark.skipif(not PG_URL, reason="queue sharing between processes needs PostgreSQL")
async def test_two_serve_processes_share_one_domain_quota(
        db: Database, config: Config, sink: Sink, tmp_path: Path) -> None:
    limited, free, quota = 150, 100, 50
    make_list(db, config, NEWS, template="newsletter")
    with db.session() as session:
        members.import_members(session, lists.find_list(session, NEWS), [
            *(f"reader{n}@example.com" for n in range(limited)),
            *(f"reader{n}@example.net" for n in range(free))])
    # Small batches and many connections: the two claim side by side, all the time.
    config_file = relay_config(config, sink, tmp_path / "relay.yaml", batch=20, connections=8,
                               outbound=f", domain_quotas: {{example.com: {quota}}}")
    first = ServeProcess(config_file, tmp_path / "first.log").start()
    second = ServeProcess(config_file, tmp_path / "second.log").start()
    try:
        await in_thread(post_mail, first.port, "owner@example.org", NEWS, "Shared quota")
        # Done for this hour: every row sent or booked for later, none claimable.
        await wait_until(lambda: states(db) == {
            OutboundState.SENT: quota + free, OutboundState.QUEUED: limited - quota}
            and len(paced(db)) == limited - quota, timeout=90,
            what="the quota's worth and all of the other domain")
    finally:
        assert first.terminate() == 0
        assert second.terminate() == 0
    got = arrived(sink)
    assert sum(n for r, n in got.items() if r.endswith("@example.com")) == quota
    assert sum(n for r, n in got.items() if r.endswith("@example.net")) == free
    # Which process claims how much is up to timing (the other one may find nothing left):
    # what must hold whoever claims is the quota, and each recipient once.
    assert max(got.values()) == 1
