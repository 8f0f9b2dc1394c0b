"""Distribution end to end: a post through the listener reaches a real SMTP sink, per recipient."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from listd.clock import OffsetClock
from listd.config import Config, QuotaConfig
from listd.database import Database
from listd.distribute.verp import find_verp_target
from listd.models import BounceEvent, OutboundEntry, OutboundState
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.conftest import CLI, with_relay
from tests.support.client import in_thread, send
from tests.support.lists import make_list
from tests.support.sink import Sink
from tests.support.waiting import wait_until

NEWS = "news@lists.example.org"
POSTER = "poster@example.org"


def entries(db: Database) -> list[OutboundEntry]:
    with db.session() as session:
        return list(session.scalars(select(OutboundEntry).order_by(OutboundEntry.id)))


def settled(db: Database, count: int) -> list[OutboundEntry] | None:
    """The queue rows once there are COUNT and none is waiting for a first answer."""
    rows = entries(db)
    waiting = (OutboundState.QUEUED, OutboundState.SENDING)
    if len(rows) == count and not any(r.state in waiting for r in rows):
        return rows
    return None


def members(count: int) -> tuple[str, ...]:
    return tuple(f"member{n}@example.{'com' if n % 2 else 'net'}" for n in range(count))


async def post_raw(port: int, raw: bytes, recipient: str = NEWS, sender: str = POSTER) -> None:
    await in_thread(send, port, sender, [recipient], raw)


def simple_post(subject: str = "Hello", body: str = "Hello list.\n",
                headers: str = "") -> bytes:
    return (f"From: Poster <{POSTER}>\r\nTo: {NEWS}\r\nSubject: {subject}\r\n"
            f"Bcc: secret-friend@example.org\r\nMessage-ID: <post-1@example.org>\r\n"
            f"{headers}\r\n{body}").encode()


async def test_a_post_reaches_every_member_with_its_own_verp_envelope(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink) -> None:
    subscribers = members(6)
    make_list(db, config, NEWS, posting="anyone",
              subscribers=(*subscribers, POSTER), subject="News of the day")
    await post_raw(relayed_daemon.port, simple_post(subject="Re: [news] Re: [news] Hello"))

    rows = await wait_until(lambda: settled(db, 7), timeout=20, what="the fan-out")
    assert {r.state for r in rows} == {OutboundState.SENT}
    assert len(sink.received) == 7
    assert sorted(r.recipients[0] for r in sink.received) == sorted((*subscribers, POSTER))
    senders = {r.sender for r in sink.received}
    assert len(senders) == 7, "one VERP envelope sender per recipient"
    with db.session() as session:
        for received in sink.received:
            local, _, domain = received.sender.partition("@")
            assert domain == "lists.example.org" and len(local) <= 64
            assert local.startswith("news-bounces+")
            target = find_verp_target(session, local.partition("+")[2], config.secret or "")
            assert target is not None and target.recipient == received.recipients[0]
            assert target.member_id is not None
        assert find_verp_target(session, "1-00000000", config.secret or "") is None

    message = sink.received[0].message
    assert message["Subject"] == "[news] Re: Hello"
    assert message["Message-ID"] == "<post-1@example.org>"
    assert message["List-Id"] == '"News of the day" <news.lists.example.org>'
    assert message["List-Post"] == "<mailto:news@lists.example.org>"
    assert message["List-Help"] == "<mailto:news-request@lists.example.org?subject=help>"
    assert message["List-Unsubscribe"] == "<mailto:news-leave@lists.example.org>"
    assert message["List-Unsubscribe-Post"] is None
    assert message["List-Owner"] == "<mailto:news-owner@lists.example.org>"
    assert message["Precedence"] == "list"
    assert message["X-Loop"] == NEWS
    assert message["Bcc"] is None
    assert b"secret-friend" not in sink.received[0].raw
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert text.startswith("Hello list.\n")
    assert "To unsubscribe send an email to news-leave@lists.example.org" in text


async def test_multipart_alternative_gets_the_footer_in_both_alternatives(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink) -> None:
    make_list(db, config, NEWS, posting="anyone",
              subscribers=("a@example.com",), reply_to="list",
              archive_url="https://archive.example.org/news", footer="Be kind.")
    message = EmailMessage()
    message["From"] = POSTER
    message["To"] = NEWS
    message["Subject"] = "Grüße"
    message.set_content("Plain text, été.\n", charset="iso-8859-1", cte="quoted-printable")
    message.add_alternative("<html><body><p>HTML été</p></body></html>\n", subtype="html",
                            cte="base64")
    await post_raw(relayed_daemon.port, message.as_bytes())

    await wait_until(lambda: settled(db, 1), timeout=20, what="delivery")
    received = sink.received[0].message
    assert received.get_content_type() == "multipart/alternative"
    plain, html = list(received.iter_parts())
    assert plain.get_content_charset() == "iso-8859-1"
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert plain.get_content().replace("\r\n", "\n").startswith("Plain text, été.\n")
    assert "Be kind." in plain.get_content()
    assert html["Content-Transfer-Encoding"] == "base64"
    assert html.get_content().index("news-leave@lists.example.org") < \
        html.get_content().index("</body>")
    assert received["Subject"] == "[news] Grüße"
    assert received["Reply-To"] == NEWS
    assert received["List-Archive"] == "<https://archive.example.org/news>"


async def test_signed_and_base64_posts_keep_their_bytes(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink) -> None:
    make_list(db, config, NEWS, posting="anyone",
              subscribers=("a@example.com",))
    signed_part = (b"Content-Type: text/plain; charset=utf-8\r\n"
                   b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                   b"Signed words=C3=A9.\r\n")
    signed = (b"From: " + POSTER.encode() + b"\r\nTo: " + NEWS.encode() +
              b"\r\nSubject: signed\r\nMIME-Version: 1.0\r\n"
              b'Content-Type: multipart/signed; boundary="sig"; '
              b'protocol="application/pgp-signature"; micalg=pgp-sha256\r\n\r\n'
              b"--sig\r\n" + signed_part + b"--sig\r\n"
              b"Content-Type: application/pgp-signature\r\n\r\n"
              b"-----BEGIN PGP SIGNATURE-----\r\nabc\r\n-----END PGP SIGNATURE-----\r\n"
              b"--sig--\r\n")
    encoded = base64.encodebytes("Une phrase accentuée.\n".encode()).replace(b"\n", b"\r\n")
    base64_post = (b"From: " + POSTER.encode() + b"\r\nTo: " + NEWS.encode() +
                   b"\r\nSubject: base64\r\nMIME-Version: 1.0\r\n"
                   b"Content-Type: text/plain; charset=utf-8\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded)
    await post_raw(relayed_daemon.port, signed)
    await post_raw(relayed_daemon.port, base64_post)

    await wait_until(lambda: settled(db, 2), timeout=20, what="delivery")
    by_subject = {str(r.message["Subject"]): r for r in sink.received}
    wrapped = by_subject["[news] signed"]
    assert wrapped.message.get_content_type() == "multipart/mixed"
    inner, footer = list(wrapped.message.iter_parts())
    assert inner.get_content_type() == "multipart/signed"
    assert signed_part in wrapped.raw, "the signed part's bytes are untouched"
    assert "news-leave@lists.example.org" in footer.get_content()

    plain = by_subject["[news] base64"].message
    assert plain["Content-Transfer-Encoding"] == "base64"
    text = plain.get_content().replace("\r\n", "\n")
    assert text.startswith("Une phrase accentuée.\n")
    assert "news-leave@lists.example.org" in text


async def test_450_then_250_retries_and_delivers_once(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink,
        clock: OffsetClock) -> None:
    make_list(db, config, NEWS, posting="anyone",
              subscribers=("slow@example.com", "fast@example.com"))
    sink.refuse("slow@example.com", "450 4.2.1 Mailbox busy, try later")
    await post_raw(relayed_daemon.port, simple_post())

    rows = await wait_until(lambda: settled(db, 2), timeout=20, what="first attempts")
    states = {r.recipient: r for r in rows}
    assert states["fast@example.com"].state is OutboundState.SENT
    slow = states["slow@example.com"]
    assert slow.state is OutboundState.DEFERRED
    assert slow.last_response == "450 4.2.1 Mailbox busy, try later"
    assert slow.next_attempt_at > clock.now()

    clock.advance(dt.timedelta(minutes=2))
    relayed_daemon.runtime.signals.outbound.set()
    await wait_until(lambda: entries(db)[0].state is OutboundState.SENT and
                     all(r.state is OutboundState.SENT for r in entries(db)),
                     timeout=20, what="the retry")
    assert len(sink.to("slow@example.com")) == 1
    assert len(sink.to("fast@example.com")) == 1
    assert {r.recipient: r.attempts for r in entries(db)}["slow@example.com"] == 2
    with db.session() as session:
        assert session.scalars(select(BounceEvent)).all() == []


async def test_550_fails_only_that_recipient_and_records_a_bounce(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink) -> None:
    subscribers = members(5)
    make_list(db, config, NEWS, posting="anyone",
              subscribers=subscribers)
    sink.refuse(subscribers[2], "550 5.1.1 <gone@example.com>: Recipient address rejected")
    await post_raw(relayed_daemon.port, simple_post())

    rows = await wait_until(lambda: settled(db, 5), timeout=20, what="the fan-out")
    failed = [r for r in rows if r.state is OutboundState.FAILED]
    assert [r.recipient for r in failed] == [subscribers[2]]
    assert sum(r.state is OutboundState.SENT for r in rows) == 4
    assert len(sink.received) == 4
    with db.session() as session:
        (event,) = session.scalars(select(BounceEvent)).all()
    assert (event.address, event.kind, event.status, event.source) == (
        subscribers[2], "hard", "5.1.1", "relay")
    assert event.outbound_entry_id == failed[0].id
    assert event.member_id == failed[0].member_id is not None
    assert event.diagnostic is not None and "Recipient address rejected" in event.diagnostic


async def test_a_temporary_failure_past_the_give_up_time_fails(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink,
        clock: OffsetClock) -> None:
    make_list(db, config, NEWS, posting="anyone",
              subscribers=("slow@example.com",))
    sink.refuse("slow@example.com", *["451 4.3.0 try again"] * 3)
    await post_raw(relayed_daemon.port, simple_post())
    await wait_until(lambda: settled(db, 1), timeout=20, what="the first attempt")

    clock.advance(dt.timedelta(days=6))
    relayed_daemon.runtime.signals.outbound.set()
    rows = await wait_until(lambda: [r for r in entries(db) if r.state is OutboundState.FAILED],
                            timeout=20, what="giving up")
    assert rows[0].last_response is not None
    assert rows[0].last_response.startswith("gave up after 5 days")
    assert sink.received == []


@pytest.fixture
async def quota_daemon(config: Config, db: Database, clock: OffsetClock,
                       sink: Sink) -> AsyncIterator[Daemon]:
    relayed = with_relay(config, sink)
    limited = dataclasses.replace(relayed, outbound=dataclasses.replace(
        relayed.outbound, quota=QuotaConfig(per_minute=60), batch_size=25))
    server = Daemon(Runtime.create(limited, db, clock))
    await server.start()
    yield server
    await server.stop()


async def test_a_60_per_minute_cap_spreads_sends_over_minutes(
        quota_daemon: Daemon, db: Database, config: Config, sink: Sink,
        clock: OffsetClock) -> None:
    make_list(db, config, NEWS, posting="anyone",
              subscribers=members(150))
    await post_raw(quota_daemon.port, simple_post())

    await wait_until(lambda: len(sink.received) >= 60, timeout=20, what="the first minute")
    # The worker goes on claiming (every signal, at least every second) but gets nothing.
    for _ in range(3):
        quota_daemon.runtime.signals.outbound.set()
        await wait_until(lambda: not quota_daemon.runtime.signals.outbound.is_set(),
                         what="a claim round")
    assert len(sink.received) == 60
    rows = entries(db)
    assert sum(r.state is OutboundState.QUEUED for r in rows) == 90, "waiting, not failed"

    clock.advance(dt.timedelta(seconds=61))
    quota_daemon.runtime.signals.outbound.set()
    await wait_until(lambda: len(sink.received) >= 120, timeout=20, what="the second minute")
    clock.advance(dt.timedelta(seconds=61))
    quota_daemon.runtime.signals.outbound.set()
    rows = await wait_until(lambda: settled(db, 150), timeout=20, what="the third minute")
    assert len(sink.received) == 150
    minutes = sorted({r.sent_at.replace(second=0, microsecond=0) for r in rows if r.sent_at})
    assert len(minutes) >= 3


async def test_queue_cli_reports_deliveries_and_retries_failures(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink,
        listd_cli: CLI) -> None:
    import json

    # One refusal of two would warn the owners (bounce_warn_rate), a third queue entry: off.
    make_list(db, config, NEWS, posting="anyone",
              subscribers=("ok@example.com", "gone@example.com"), bounce_warn_rate=0)
    sink.refuse("gone@example.com", "550 5.1.1 no such user")
    await post_raw(relayed_daemon.port, simple_post())
    rows = await wait_until(lambda: settled(db, 2), timeout=20, what="the fan-out")
    post_id = rows[0].outbound_id
    failed = next(r for r in rows if r.state is OutboundState.FAILED)

    status = json.loads(listd_cli.ok("queue", "status", "--json").output)
    assert status["outbound"]["sent"] == 1 and status["outbound"]["failed"] == 1

    report = json.loads(listd_cli.ok("queue", "show", str(post_id), "--json").output)
    assert report["counts"]["sent"] == 1 and report["list"] == NEWS
    first = report["recipients"][0]
    assert (first["recipient"], first["state"], first["response"]) == (
        "gone@example.com", "failed", "550 5.1.1 no such user")
    text = listd_cli.ok("queue", "show", str(post_id)).output
    assert "failed   <gone@example.com>" in text and "sent     <ok@example.com>" in text

    assert "1 delivery queued again" in listd_cli.ok("queue", "retry", str(failed.id)).output
    relayed_daemon.runtime.signals.outbound.set()
    await wait_until(lambda: all(r.state is OutboundState.SENT for r in entries(db)),
                     timeout=20, what="the retried delivery")
    assert len(sink.to("gone@example.com")) == 1

    for args, error in ((("queue", "retry"), "give a queue entry id or --all"),
                        (("queue", "retry", "999"), "no queue entry 999"),
                        (("queue", "retry", str(failed.id)), "only deferred or failed"),
                        (("queue", "show", "999"), "no outbound message 999")):
        result = listd_cli(*args)
        assert result.exit_code == 1 and error in result.stderr, (args, result.stderr)
    assert "0 deliveries queued again" in listd_cli.ok("queue", "retry", "--all").output
