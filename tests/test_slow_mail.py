"""One message must not hold up the others: a resolver that never answers, a post whose MIME
structure costs seconds to parse and render, a post over the processing time budget.

The slow work of a message (parsing, DNS checks, rendering) runs outside the database
writer, in one of `processing.workers` lanes; other mail gets its 250 and its answer
meanwhile. The figures are printed (pytest -s) for the record.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from sqlalchemy import select

from listd.clock import OffsetClock
from listd.config import Config, ProcessingConfig
from listd.database import Database
from listd.models import HeldMessage, InboundMessage, InboundState, StoredMessage
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.conftest import DOMAIN
from tests.support.client import in_thread, send
from tests.support.dns_server import DnsServer
from tests.support.lists import make_list
from tests.support.robot import wait_for_mail
from tests.support.waiting import wait_until

NEWS = f"news@{DOMAIN}"
ROBOT = f"listd@{DOMAIN}"
OWNER = "owner@example.org"
ASKER = "asker@example.net"

Starter = Callable[..., "AsyncIterator[Daemon]"]


@pytest.fixture
def silent_dns() -> Iterator[DnsServer]:
    with DnsServer(silent=True) as server:
        yield server


@pytest.fixture
async def start(db: Database, clock: OffsetClock) -> AsyncIterator[Callable[..., object]]:
    daemons: list[Daemon] = []

    async def starter(config: Config) -> Daemon:
        # Past the intake's part limit (refused at DATA, tests/malformed): what these tests
        # measure is that mail the intake lets through cannot stall the rest.
        lenient = dataclasses.replace(config.smtp_in, max_mime_parts=10_000_000)
        daemon = Daemon(Runtime.create(dataclasses.replace(config, smtp_in=lenient), db, clock))
        await daemon.start()
        daemons.append(daemon)
        return daemon

    yield starter
    for daemon in daemons:
        await daemon.stop()


def pathological(parts: int, subject: str = "many parts") -> bytes:
    """A post of PARTS empty MIME parts: small in bytes, costly for the `email` package."""
    body = "".join("--b\r\n\r\n" for _ in range(parts)) + "--b--\r\n"
    return (f"From: {OWNER}\r\nTo: {NEWS}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{parts}.{subject.replace(' ', '.')}@example.org>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
            + body).encode()


def simple(sender: str, to: str, subject: str, body: str = "") -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash((sender, subject)))}@example.net>\r\n\r\n{body}\r\n"
            ).encode()


def timed_send(port: int, sender: str, to: str, message: bytes) -> float:
    """Seconds from connecting to the 250 after DATA."""
    began = time.monotonic()
    send(port, sender, [to], message)
    return time.monotonic() - began


def row_for(db: Database, subject_marker: bytes) -> InboundMessage | None:
    with db.reading() as session:
        for row, raw in session.execute(
                select(InboundMessage, StoredMessage.raw)
                .join(StoredMessage, StoredMessage.id == InboundMessage.message_id)):
            if subject_marker in raw[:2000]:
                return row
    return None


def held(db: Database) -> list[HeldMessage]:
    with db.reading() as session:
        return list(session.scalars(select(HeldMessage)))


async def test_a_silent_resolver_holds_up_only_the_post_that_waits_for_it(
        start: Callable[..., object], config: Config, db: Database,
        silent_dns: DnsServer) -> None:
    """The owner's post needs DKIM/SPF/DMARC answers that never come; meanwhile an unrelated
    HELP gets its 250 at once and its reply, and the post ends held after its DNS budget."""
    make_list(db, config, NEWS, template="newsletter", owners=(OWNER,),
              require_owner_authentication=True)
    daemon = await start(dataclasses.replace(config, dns=silent_dns.config))  # type: ignore[misc]
    await in_thread(send, daemon.port, OWNER, [NEWS], simple(OWNER, NEWS, "Waits on DNS"))
    await wait_until(lambda: silent_dns.queries, timeout=20, what="a DNS lookup pending")

    began = time.monotonic()
    seconds = await in_thread(timed_send, daemon.port, ASKER, ROBOT,
                              simple(ASKER, ROBOT, "help", "help"))
    await wait_for_mail(config, ASKER, 1, what="the HELP reply")
    replied = time.monotonic() - began
    post_row = row_for(db, b"Waits on DNS")
    print(f"\nsilent resolver: HELP 250 after {seconds:.3f}s, reply after {replied:.2f}s; "
          f"the post still waiting: {post_row is not None and post_row.processed_at is None}")
    assert seconds < 1.0
    assert replied < 2.0

    [row] = await wait_until(lambda: held(db), timeout=30, what="the post held")
    assert row.rule == "owner-authentication" and "DMARC temperror" in row.reason


async def test_a_post_of_many_parts_does_not_stall_a_help_sent_after_it(
        start: Callable[..., object], config: Config, db: Database) -> None:
    make_list(db, config, NEWS, owners=(OWNER,))
    daemon = await start(config)  # type: ignore[misc]
    began = time.monotonic()
    await in_thread(send, daemon.port, OWNER, [NEWS], pathological(30_000))
    accepted = time.monotonic() - began
    seconds = await in_thread(timed_send, daemon.port, ASKER, ROBOT,
                              simple(ASKER, ROBOT, "help", "help"))
    await wait_for_mail(config, ASKER, 1, what="the HELP reply")
    replied = time.monotonic() - began - accepted
    # Judged by order, not by seconds (machines differ): the HELP sent after the slow post
    # got its 250 and its answer while the post was still being worked on.
    in_the_works = row_for(db, b"many parts")
    assert in_the_works is not None and in_the_works.processed_at is None, \
        "the HELP was answered only after the slow post was processed"
    slow = await wait_until(lambda: (r := row_for(db, b"many parts")) is not None
                            and r.processed_at is not None and r, timeout=120,
                            what="the post processed")
    processed = time.monotonic() - began
    print(f"\n30,000 parts on {db.engine.dialect.name}: HELP 250 after {seconds:.3f}s, "
          f"reply {replied:.2f}s after it; the post itself processed after {processed:.1f}s "
          f"({slow.state.value}: {slow.outcome})")
    assert slow.state is InboundState.DONE and "accepted" in (slow.outcome or "")


async def test_a_post_over_the_time_budget_is_given_up_with_the_reason(
        start: Callable[..., object], config: Config, db: Database) -> None:
    make_list(db, config, NEWS, owners=(OWNER,))
    budget = ProcessingConfig(time_budget=0.05)
    daemon = await start(dataclasses.replace(config, processing=budget))  # type: ignore[misc]
    await in_thread(send, daemon.port, OWNER, [NEWS], pathological(30_000))
    row = await wait_until(lambda: (r := row_for(db, b"many parts")) is not None
                           and r.attempts > 0 and r, timeout=60, what="a first attempt")
    assert row.state is not InboundState.DONE
    assert "processing.time_budget" in (row.outcome or ""), row.outcome
    # Nothing of it went out.
    with db.reading() as session:
        assert session.scalar(select(InboundMessage.processed_at)
                              .where(InboundMessage.id == row.id)) is None
