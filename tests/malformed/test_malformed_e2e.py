"""Every accepted malformed mail gets an outcome (issue 19, 7): a post is held for the
moderators with the reason, a command mail is answered with what could not be read, a bounce
is forwarded to the owners; mail over the intake limits is refused at DATA."""

from __future__ import annotations

import dataclasses
import smtplib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.models import HeldMessage, InboundMessage, InboundState
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.malformed.samples import POSTS, SUBSCRIBER, message, nested
from tests.support.client import in_thread, send
from tests.support.lists import make_list
from tests.support.outbox import outbox, sent_to, settle
from tests.support.waiting import wait_until

LIST = "club@lists.example.org"
REQUEST = "club-request@lists.example.org"
BOUNCES = "club-bounces@lists.example.org"
OWNER = "owner@example.org"
MOD = "mod@example.org"


def inbound_rows(db: Database) -> list[InboundMessage]:
    with db.session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


async def processed(db: Database, count: int = 1) -> list[InboundMessage]:
    """Wait until COUNT inbound rows left the queue (a retried row stays queued)."""
    def done() -> list[InboundMessage]:
        rows = inbound_rows(db)
        finished = len(rows) >= count and all(r.state is not InboundState.QUEUED for r in rows)
        return rows if finished else []
    rows = await wait_until(done, timeout=15, what=f"{count} inbound rows processed")
    await settle(db, count)
    return rows


@pytest.fixture
def club(db: Database, config: Config, zone: dict[str, dict[str, list[str]]]) -> None:
    # p=reject makes the list munge From:, the path that rebuilt unreadable addresses.
    zone["_dmarc.example.org"] = {"TXT": ['"v=DMARC1; p=reject"']}
    make_list(db, config, LIST, template="discussion", owners=(OWNER,),
              subscribers=(SUBSCRIBER,), moderators=(MOD,))


@pytest.mark.parametrize("name", sorted(n for n in POSTS if n != "nested-300"))
async def test_malformed_post_is_held_for_the_moderators_with_the_reason(
        club: None, daemon: Daemon, db: Database, config: Config, name: str) -> None:
    await in_thread(send, daemon.port, SUBSCRIBER, [LIST], POSTS[name])
    row, = await processed(db)

    assert row.state is InboundState.DONE, row.outcome
    assert row.outcome is not None and row.outcome.startswith("held"), row.outcome
    with db.session() as session:
        held, = session.scalars(select(HeldMessage))
        assert (held.rule, held.sender) == ("malformed", SUBSCRIBER)
        assert held.reason.startswith("listd could not read this message:"), held.reason
    notice, = sent_to(config, MOD)
    assert "could not read" in notice.message.get_body(("plain",)).get_content()
    assert not [w for w in outbox(config) if w.recipient == SUBSCRIBER and
                "[club]" in str(w.message["Subject"])]


@pytest.fixture
async def lenient_daemon(config: Config, db: Database, clock: OffsetClock
                         ) -> AsyncIterator[Daemon]:
    """A listd whose intake lets 1,000 MIME levels through, to reach the workers' own guard."""
    loose = dataclasses.replace(config, smtp_in=dataclasses.replace(
        config.smtp_in, max_mime_depth=1000))
    server = Daemon(Runtime.create(loose, db, clock))
    await server.start()
    yield server
    await server.stop()


@pytest.mark.parametrize("levels", [300, 1000])
async def test_deep_post_past_the_intake_is_held_not_lost(
        club: None, lenient_daemon: Daemon, db: Database, config: Config,
        levels: int) -> None:
    await in_thread(send, lenient_daemon.port, SUBSCRIBER, [LIST], nested(levels))
    row, = await processed(db)

    assert row.outcome is not None and row.outcome.startswith("held"), row.outcome
    with db.session() as session:
        held, = session.scalars(select(HeldMessage))
    assert held.rule == "malformed"
    assert sent_to(config, MOD)


@pytest.mark.parametrize("recipient", [LIST, REQUEST])
async def test_mime_nested_past_the_limit_is_refused_at_data(
        club: None, daemon: Daemon, db: Database, recipient: str) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await in_thread(send, daemon.port, SUBSCRIBER, [recipient], nested(300))

    code, reason = refused.value.smtp_code, refused.value.smtp_error.decode()
    assert code == 554 and "5.6.0" in reason and "nested" in reason, reason
    assert inbound_rows(db) == []


async def test_too_many_parts_and_headers_are_refused_at_data(
        club: None, daemon: Daemon, db: Database, config: Config) -> None:
    parts = b"".join(b"--b\r\n\r\nx\r\n" for _ in range(config.smtp_in.max_mime_parts + 1))
    many_parts = message("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n",
                         parts + b"--b--\r\n")
    many_headers = message("".join(f"X-Filler-{i}: x\r\n"
                                   for i in range(config.smtp_in.max_header_count)))
    for raw, word in ((many_parts, "parts"), (many_headers, "header")):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await in_thread(send, daemon.port, SUBSCRIBER, [LIST], raw)
        assert refused.value.smtp_code == 554
        assert word in refused.value.smtp_error.decode()
    assert inbound_rows(db) == []


COMMAND_TRIGGERS = {name: POSTS[name] for name in (
    "message-id-empty", "message-id-semicolon", "message-id-at", "mixed-no-boundary",
    "alternative-no-boundary-8bit")}


@pytest.mark.parametrize("name", sorted(COMMAND_TRIGGERS))
async def test_malformed_command_mail_gets_a_reply_saying_what_could_not_be_read(
        club: None, daemon: Daemon, db: Database, config: Config, name: str) -> None:
    raw = COMMAND_TRIGGERS[name].replace(b"To: club@", b"To: club-request@")
    await in_thread(send, daemon.port, SUBSCRIBER, [REQUEST], raw)
    row, = await processed(db)

    assert row.state is InboundState.DONE, row.outcome
    reply, = sent_to(config, SUBSCRIBER)
    text = reply.message.get_body(("plain",)).get_content()
    assert "could not be read" in text, text
    assert "\n" not in str(reply.message["Subject"])


@pytest.mark.parametrize("name", ["message-id-empty", "mixed-no-boundary",
                                  "alternative-no-boundary-8bit"])
async def test_malformed_bounce_is_forwarded_to_the_owners(
        club: None, daemon: Daemon, db: Database, config: Config, name: str) -> None:
    raw = POSTS[name].replace(f"From: {SUBSCRIBER}".encode(),
                              b"From: MAILER-DAEMON@mx.example.org")
    await in_thread(send, daemon.port, "", [BOUNCES], raw)
    row, = await processed(db)

    assert row.state is InboundState.DONE, row.outcome
    assert row.outcome is not None and "owners" in row.outcome, row.outcome
    assert len(sent_to(config, OWNER)) == 1


async def test_deep_command_mail_past_the_intake_is_answered(
        club: None, lenient_daemon: Daemon, db: Database, config: Config) -> None:
    raw = nested(1000).replace(b"To: club@", b"To: club-request@")
    await in_thread(send, lenient_daemon.port, SUBSCRIBER, [REQUEST], raw)
    row, = await processed(db)

    assert row.outcome is not None and f"told {SUBSCRIBER}" in row.outcome, row.outcome
    reply, = sent_to(config, SUBSCRIBER)
    assert "nested too deeply" in reply.message.get_body(("plain",)).get_content()
