"""The front door through a real socket: every refusal code, durable acceptance, LMTP, bad input."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib

import pytest
from sqlalchemy import func, select

from listd.config import Config
from listd.database import Database
from listd.models import InboundMessage, InboundState, StoredMessage
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.support.client import dialogue, in_thread, post, send
from tests.support.lists import make_list
from tests.support.waiting import wait_until

NEWS = "news@lists.example.org"


def inbound_rows(db: Database) -> list[InboundMessage]:
    with db.session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def processed_rows(db: Database, count: int) -> list[InboundMessage] | None:
    """All inbound rows, once there are COUNT of them and none is still queued."""
    rows = inbound_rows(db)
    if len(rows) == count and all(r.state is not InboundState.QUEUED for r in rows):
        return rows
    return None


def rcpt_reply(port: int, recipient: str, sender: str = "a@example.org") -> str:
    replies = dialogue(port, [b"EHLO client.example.org\r\n",
                              f"MAIL FROM:<{sender}>\r\n".encode(),
                              f"RCPT TO:<{recipient}>\r\n".encode(), b"QUIT\r\n"])
    return replies[3]


async def test_rcpt_is_refused_for_everything_listd_does_not_handle(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS)
    make_list(db, config, "waiting@lists.example.org", approve=False)
    make_list(db, config, "old@lists.example.org")
    with db.session() as session:
        from listd.lists import close_list
        close_list(session, "old@lists.example.org")

    port = daemon.port
    cases = {
        "ghost@lists.example.org": "550 5.1.1 <ghost@lists.example.org>: no such list here",
        "waiting@lists.example.org": "550 5.1.1 <waiting@lists.example.org>: the list is "
                                     "waiting for approval",
        "old@lists.example.org": "550 5.1.1 <old@lists.example.org>: the list is closed",
        "news@elsewhere.example.net": "550 5.1.1 <news@elsewhere.example.net>: this server "
                                      "does not handle mail for elsewhere.example.net",
        "news+detail@lists.example.org": "550 5.1.1",
        "ghost-request@lists.example.org": "550 5.1.1 <ghost-request@lists.example.org>: "
                                           "no such list here",
        "not an address@@": "553 5.1.3",
    }
    for recipient, expected in cases.items():
        reply = await in_thread(rcpt_reply, port, recipient)
        assert reply.startswith(expected), (recipient, reply)

    for accepted in (NEWS, "NEWS@Lists.Example.ORG", "news-request@lists.example.org",
                     "news-owner@lists.example.org", "news-bounces+abc-123@lists.example.org",
                     "news-confirm+tok@lists.example.org", "news-join@lists.example.org",
                     "news-leave@lists.example.org", "listd@lists.example.org"):
        reply = await in_thread(rcpt_reply, port, accepted)
        assert reply.startswith("250 2.1.5"), (accepted, reply)


async def test_protocol_errors_get_their_codes(daemon: Daemon, db: Database,
                                               config: Config) -> None:
    make_list(db, config, NEWS)
    replies = await in_thread(dialogue, daemon.port, [
        b"EHLO client.example.org\r\n",
        f"RCPT TO:<{NEWS}>\r\n".encode(),
        b"DATA\r\n",
        b"MAIL FROM:<a@example.org>\r\n",
        b"DATA\r\n",
        b"MAIL FROM:<b@example.org>\r\n",
        b"FROBNICATE\r\n",
        b"QUIT\r\n",
    ])
    ehlo, rcpt_first, data_first, mail, data_no_rcpt, nested, unknown = replies[1:8]
    assert "SIZE 10485760" in ehlo and "8BITMIME" in ehlo and "SMTPUTF8" in ehlo
    assert rcpt_first.startswith("503 5.5.1")
    assert data_first.startswith("503 5.5.1")
    assert mail.startswith("250")
    assert data_no_rcpt.startswith("503 5.5.1")
    assert nested.startswith("503 5.5.1 Nested MAIL")
    assert unknown.startswith("500")


async def test_too_many_recipients_and_too_big(db: Database, config: Config) -> None:
    small = dataclasses.replace(config, smtp_in=dataclasses.replace(
        config.smtp_in, max_recipients=2, max_message_size=2000))
    make_list(db, small, NEWS)
    daemon = Daemon(Runtime.create(small, db))
    await daemon.start()
    try:
        replies = await in_thread(dialogue, daemon.port, [
            b"EHLO c.example.org\r\n", b"MAIL FROM:<a@example.org>\r\n",
            f"RCPT TO:<{NEWS}>\r\n".encode(), b"RCPT TO:<news-request@lists.example.org>\r\n",
            b"RCPT TO:<news-owner@lists.example.org>\r\n", b"RSET\r\n",
            b"MAIL FROM:<a@example.org> SIZE=999999\r\n", b"QUIT\r\n"])
        assert replies[5].startswith("452 4.5.3")
        assert replies[7].startswith("552 5.3.4")

        # smtplib announces the size at MAIL FROM, which is refused at once…
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            await in_thread(send, daemon.port, "a@example.org", [NEWS], b"x" * 3000)
        assert refused.value.smtp_code == 552 and b"5.3.4" in refused.value.smtp_error
        # …and a client that does not say is stopped after DATA.
        replies = await in_thread(dialogue, daemon.port, [
            b"EHLO c.example.org\r\n", b"MAIL FROM:<a@example.org>\r\n",
            f"RCPT TO:<{NEWS}>\r\n".encode(), b"DATA\r\n",
            b"Subject: big\r\n\r\n" + (b"x" * 900 + b"\r\n") * 3 + b".\r\n", b"QUIT\r\n"])
        assert replies[5].startswith("552 5.3.4"), replies
        assert inbound_rows(db) == []
    finally:
        await daemon.stop()


async def test_accepted_mail_is_stored_before_250_and_handed_on(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS)
    message = (b"From: Jeanne <jeanne@example.org>\r\nTo: news-request@lists.example.org\r\n"
               b"Subject: help\r\nMessage-ID: <m1@example.org>\r\n\r\nhelp\r\n")
    await in_thread(send, daemon.port, "jeanne@example.org",
                    ["news-request@lists.example.org", "news-owner@lists.example.org"], message)
    rows = inbound_rows(db)
    # Both rows exist as soon as the client has its 250: the commit came first.
    assert [(r.recipient, r.destination) for r in rows] == [
        ("news-request@lists.example.org", "request"), ("news-owner@lists.example.org", "owner")]
    with db.session() as session:
        stored = session.scalars(select(StoredMessage)).one()
        assert stored.raw == message and stored.message_id == "<m1@example.org>"
    await wait_until(lambda: processed_rows(db, 2), what="the worker to take the stored mail")


async def test_loops_and_the_null_sender_are_kept_not_posted(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, subscribers=("a@example.org",))
    await in_thread(post, daemon.port, "a@example.org", NEWS, "looping", "x\n",
                    "List-Id: News <news.lists.example.org>\r\n")
    await in_thread(post, daemon.port, "a@example.org", NEWS, "x-loop", "x\n",
                    f"X-Loop: {NEWS}\r\n")
    await in_thread(send, daemon.port, "", [NEWS],
                    b"From: MAILER-DAEMON@example.net\r\nSubject: Undelivered\r\n\r\nbounce\r\n")
    rows = await wait_until(lambda: processed_rows(db, 3), what="processing")
    outcomes = [r.outcome or "" for r in rows]
    assert "List-Id <news.lists.example.org>" in outcomes[0] and "not redistributed" in outcomes[0]
    assert "X-Loop" in outcomes[1]
    assert "null sender, so not a post" in outcomes[2]
    assert all(r.state in (InboundState.DONE, InboundState.UNHANDLED) for r in rows)


async def test_lmtp_answers_once_per_recipient(db: Database, config: Config) -> None:
    lmtp = dataclasses.replace(config, smtp_in=dataclasses.replace(config.smtp_in, lmtp=True))
    make_list(db, lmtp, NEWS)
    make_list(db, lmtp, "club@lists.example.org")
    daemon = Daemon(Runtime.create(lmtp, db))
    await daemon.start()
    try:
        replies = await in_thread(dialogue, daemon.port, [
            b"LHLO mta.example.org\r\n", b"MAIL FROM:<a@example.org>\r\n",
            f"RCPT TO:<{NEWS}>\r\n".encode(), b"RCPT TO:<ghost@lists.example.org>\r\n",
            b"RCPT TO:<club@lists.example.org>\r\n", b"DATA\r\n",
            (b"Subject: both\r\n\r\nhi\r\n.\r\n", 2), b"QUIT\r\n"])
        assert replies[0].startswith("220")
        assert replies[4].startswith("550 5.1.1")
        # Two accepted recipients: two replies after the final dot, each naming its recipient.
        assert replies[7].startswith(f"250 2.0.0 <{NEWS}>")
        assert replies[8].startswith("250 2.0.0 <club@lists.example.org>")
        assert replies[9].startswith("221")
        assert len(inbound_rows(db)) == 2
    finally:
        await daemon.stop()


async def test_postfix_address_verification_never_sends_data(daemon: Daemon, db: Database,
                                                              config: Config) -> None:
    make_list(db, config, NEWS)
    replies = await in_thread(dialogue, daemon.port, [
        b"EHLO mta.example.org\r\n", b"MAIL FROM:<double-bounce@mta.example.org>\r\n",
        f"RCPT TO:<{NEWS}>\r\n".encode(), b"RSET\r\n", b"QUIT\r\n"])
    assert replies[3].startswith("250") and replies[4].startswith("250")
    assert inbound_rows(db) == []


@pytest.mark.parametrize("message", [
    pytest.param(b"Subject: no from at all\r\n\r\nbody\r\n", id="no-from"),
    pytest.param(b"From: a@example.org\r\nSubject: \xe9t\xe9 \xff\xfe\r\n\r\n8-bit headers\r\n",
                 id="8bit-headers"),
    pytest.param(b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                 b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                 b"!!!not base64!!!\r\n--b", id="broken-mime"),
    pytest.param(b"\r\n", id="empty"),
    pytest.param(b"From: a@example.org\r\nSubject: " + "naïve ünïcode".encode() +
                 b"\r\n\r\n" + "ça va".encode() + b"\r\n", id="utf8"),
])
async def test_malformed_messages_are_stored_and_processed_without_crashing(
        daemon: Daemon, db: Database, config: Config, message: bytes) -> None:
    make_list(db, config, NEWS)
    await in_thread(send, daemon.port, "a@example.org", ["news-request@lists.example.org"],
                    message)
    rows = await wait_until(lambda: processed_rows(db, 1), what="processing")
    assert rows[0].state in (InboundState.DONE, InboundState.UNHANDLED), rows[0].outcome


async def test_a_10_mb_line_is_refused_and_the_server_goes_on(daemon: Daemon, db: Database,
                                                              config: Config) -> None:
    make_list(db, config, NEWS)
    with pytest.raises(smtplib.SMTPDataError) as caught:
        await in_thread(send, daemon.port, "a@example.org", [NEWS],
                        b"Subject: long\r\n\r\n" + b"x" * (10 * 1024 * 1024 - 200) + b"\r\n")
    assert caught.value.smtp_code in (500, 552)
    await in_thread(post, daemon.port, "a@example.org", NEWS)
    assert len(inbound_rows(db)) == 1


async def test_200_concurrent_sessions_all_get_answers(daemon: Daemon, db: Database,
                                                       config: Config) -> None:
    make_list(db, config, NEWS)
    import aiosmtplib

    async def one(number: int) -> None:
        message = (f"From: p{number}@example.org\r\nSubject: post {number}\r\n"
                   f"Message-ID: <c{number}@example.org>\r\n\r\nbody {number}\r\n").encode()
        await aiosmtplib.send(message, sender=f"p{number}@example.org", recipients=[NEWS],
                              hostname="127.0.0.1", port=daemon.port, timeout=120)

    results = await asyncio.gather(*(one(n) for n in range(200)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 200
        ids = set(session.scalars(select(StoredMessage.message_id)))
    assert ids == {f"<c{n}@example.org>" for n in range(200)}


async def test_lhlo_advertises_what_listd_does_and_the_banner_says_lmtp(
        db: Database, config: Config) -> None:
    lmtp = dataclasses.replace(config, smtp_in=dataclasses.replace(config.smtp_in, lmtp=True))
    make_list(db, lmtp, NEWS)
    daemon = Daemon(Runtime.create(lmtp, db))
    await daemon.start()
    try:
        # PIPELINING: the whole transaction in one write, as Postfix's LMTP client sends it.
        replies = await in_thread(dialogue, daemon.port, [
            b"LHLO mta.example.org\r\n",
            (b"MAIL FROM:<a@example.org>\r\n" + f"RCPT TO:<{NEWS}>\r\n".encode() +
             b"RCPT TO:<ghost@lists.example.org>\r\nDATA\r\n", 4),
            (b"Subject: piped\r\n\r\nhi\r\n.\r\n", 1), b"NOOP\r\n", b"QUIT\r\n"])
    finally:
        await daemon.stop()
    banner, lhlo, *rest = replies
    assert banner.startswith("220 ") and "ESMTP" not in banner and "LMTP" in banner
    extensions = [line[4:] for line in lhlo.splitlines()]
    assert {"PIPELINING", "ENHANCEDSTATUSCODES"} <= set(extensions)
    assert not any(e.startswith("AUTH") for e in extensions)
    assert [r[:9] for r in rest] == ["250 2.0.0", "250 2.1.5", "550 5.1.1", "354 End d",
                                     "250 2.0.0", "250 2.0.0", "221 2.0.0"]


async def test_esmtp_replies_all_carry_enhanced_codes(daemon: Daemon) -> None:
    replies = await in_thread(dialogue, daemon.port, [
        b"EHLO client.example.org\r\n", b"FROB\r\n", b"RSET extra\r\n", b"RSET\r\n",
        b"QUIT\r\n"])
    assert "ENHANCEDSTATUSCODES" in replies[1]
    codes = [r.split(" ")[1] for r in replies[2:]]
    assert codes == ["5.5.2", "5.5.4", "2.0.0", "2.0.0"]
