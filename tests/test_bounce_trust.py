"""Issue 19, items 1, 2 and 18c: a report acts on a member only when listd can prove it is
about a copy it sent to that member; only the recipient's own complaint unsubscribes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from listd.bounce.classify import classify_message
from listd.bounce.scoring import Effect
from listd.bounce.unacted import FORWARDS_PER_DAY
from listd.cli.main import cli
from listd.config import Config
from listd.database import Database
from listd.lists import find_list, set_list_setting
from listd.members import add_member, remove_member
from listd.models import AuditEntry, BounceEvent, OutboundEntry, OutboundMessage, OutboundState
from listd.processing.worker import process_batch
from listd.runtime import Runtime
from listd.serve import Daemon
from listd.smtp_in.routing import Route, parse_local_part
from listd.smtp_in.spool import Envelope, store_inbound
from tests.support.client import in_thread, send
from tests.support.lists import make_list
from tests.support.maildir import Written, read_outbox
from tests.support.waiting import wait_until
from tests.test_bounce_processing import GONE, NEWS, OK, bounce_back, dsn, fan_out, member

BOUNCES = "news-bounces@lists.example.org"
NOT_PROVEN = Effect.NOT_PROVEN.value


def feedback(complainant: str | None, feedback_type: str = "abuse",
             message_id: str = "<post-1@example.org>") -> bytes:
    rcpt = f"Original-Rcpt-To: {complainant}\n" if complainant else ""
    return f"""\
From: fbl@isp.example.com
To: {BOUNCES}
Subject: Email Feedback Report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="FB"

--FB
Content-Type: text/plain

This is an email feedback report ({feedback_type}).

--FB
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: IspFBL/2.1
Version: 1
{rcpt}Arrival-Date: Tue, 1 Dec 2026 09:00:00 +0000

--FB
Content-Type: text/rfc822-headers

From: poster@example.org
To: {NEWS}
Subject: issue 1
Message-ID: {message_id}

--FB--
""".replace("\n", "\r\n").encode()


def returned_dsn(recipient: str, message_id: str) -> bytes:
    """A Postfix-style DSN quoting the returned copy's headers, Message-ID included."""
    return dsn(recipient, "5.1.1", "550 5.1.1 User unknown").replace(
        b"Subject: the newsletter\r\n",
        f"Subject: the newsletter\r\nMessage-ID: {message_id}\r\n".encode())


def events(db: Database) -> list[tuple[str, str, bool]]:
    with db.session() as session:
        rows = session.execute(select(BounceEvent.address, BounceEvent.effect,
                                      BounceEvent.member_id).order_by(BounceEvent.id)).all()
    return [(a, e, m is not None) for a, e, m in rows]


def owner_notices(config: Config) -> list[Written]:
    return [w for w in read_outbox(Path(config.outbound.path))
            if w.recipient == "owner@example.org" and "did not act" in str(
                w.message["Subject"])]


async def processed_without_token(db: Database, port: int, sender: str, recipient: str,
                                  report: bytes, config: Config) -> Written:
    await in_thread(send, port, sender, [recipient], report)
    notices = await wait_until(lambda: owner_notices(config),
                               what="the report forwarded to the owners")
    return notices[0]


@pytest.mark.parametrize("recipient", [BOUNCES, NEWS], ids=["to-bounces", "null-sender-to-list"])
async def test_a_forged_complaint_without_token_unsubscribes_nobody(
        daemon: Daemon, db: Database, config: Config, config_file: Path,
        recipient: str) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    fan_out(db, daemon.runtime)
    notice = await processed_without_token(db, daemon.port, "", recipient,
                                           feedback(OK), config)
    assert member(db, OK) is not None
    assert events(db) == [(OK, NOT_PROVEN, False)]
    # The owners get the report itself, attached, with why nothing was done.
    assert b"Feedback-Type: abuse" in notice.raw and OK in notice.message.get_body(
        ("plain",)).get_content()  # type: ignore[union-attr]
    with db.session() as session:
        assert session.scalar(select(AuditEntry.action).where(
            AuditEntry.action == "bounce.not_acted")) is not None
    listed = CliRunner().invoke(cli, ["--config", str(config_file), "bounce", "ls", NEWS,
                                      "--reports", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(r["address"], r["effect"]) for r in json.loads(listed.stdout)] == [
        (OK, NOT_PROVEN)]


async def test_a_token_of_one_member_cannot_unsubscribe_another(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    tokens = fan_out(db, daemon.runtime)
    done = await bounce_back(db, daemon.port, tokens[GONE], feedback(OK))
    assert "not acted on" in (done.outcome or "")
    assert member(db, OK) is not None and member(db, GONE) is not None
    assert events(db) == [(OK, NOT_PROVEN, False)]


@pytest.mark.parametrize("feedback_type", ["auth-failure", "not-spam", "virus", "other",
                                           "fraud", "dkim"])
async def test_feedback_that_is_not_the_recipients_complaint_only_informs_the_owners(
        daemon: Daemon, db: Database, config: Config, feedback_type: str) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    tokens = fan_out(db, daemon.runtime)
    # Fraud names a third party here: a report about the message, not OK's own complaint.
    named = "brand-protection@example.com" if feedback_type == "fraud" else OK
    done = await bounce_back(db, daemon.port, tokens[OK], feedback(named, feedback_type))
    assert member(db, OK) is not None, done.outcome
    assert events(db)[0][1] == Effect.NOT_A_COMPLAINT.value
    await wait_until(lambda: owner_notices(config), what="the report sent to the owners")


@pytest.mark.parametrize("feedback_type", ["abuse", "Abuse", "fraud"])
async def test_the_recipients_own_complaint_through_its_token_unsubscribes(
        daemon: Daemon, db: Database, config: Config, feedback_type: str) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    tokens = fan_out(db, daemon.runtime)
    done = await bounce_back(db, daemon.port, tokens[OK], feedback(OK, feedback_type))
    assert f"{OK}: unsubscribed" in (done.outcome or "")
    assert member(db, OK) is None and member(db, GONE) is not None


async def test_a_forged_dsn_without_token_scores_nobody(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    fan_out(db, daemon.runtime)
    await processed_without_token(db, daemon.port, "", BOUNCES,
                                  dsn(GONE, "5.1.1", "550 5.1.1 User unknown"), config)
    assert member(db, GONE).bounce_score == 0.0  # type: ignore[union-attr]
    assert events(db) == [(GONE, NOT_PROVEN, False)]


async def test_a_genuine_verp_bounce_still_scores(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    tokens = fan_out(db, daemon.runtime)
    # The report names a forwarding address: the token says whose copy it was.
    done = await bounce_back(db, daemon.port, tokens[GONE],
                             dsn("forwarded@elsewhere.example", "5.1.1", "550 5.1.1 unknown"))
    assert f"{GONE}: scored" in (done.outcome or "")
    assert member(db, GONE).bounce_score == 1.0  # type: ignore[union-attr]


async def post_through_the_list(daemon: Daemon, db: Database, config: Config) -> dict[str, str]:
    """Post for real; return each member's delivered copy's Return-Path (its VERP sender)."""
    message_id = "<issue-2.4711@example.org>"
    await in_thread(send, daemon.port, "poster@example.org", [NEWS],
                    f"From: poster@example.org\r\nTo: {NEWS}\r\nSubject: issue 2\r\n"
                    f"Message-ID: {message_id}\r\n\r\nnews\r\n".encode())

    def copies() -> dict[str, str]:
        found = {w.recipient: str(w.message["Return-Path"])
                 for w in read_outbox(Path(config.outbound.path))
                 if w.message["Message-ID"] == message_id}
        return found if found.keys() >= {GONE, OK} else {}

    return await wait_until(copies, what="the post delivered to both members")


def quoting(report: bytes, return_path: str) -> bytes:
    """REPORT with the returned copy's headers as delivered: Return-Path first."""
    marker = b"Content-Type: text/rfc822-headers\r\n\r\n"
    assert marker in report
    return report.replace(marker, marker + f"Return-Path: {return_path}\r\n".encode())


async def test_a_message_id_proves_nothing_anyone_can_read_it(
        daemon: Daemon, db: Database, config: Config) -> None:
    """A post's Message-ID is in every member's copy and in the archive: a report that
    quotes it and names a member is still anybody's word."""
    make_list(db, config, NEWS, posting="anyone", subscribers=(GONE, OK))
    await post_through_the_list(daemon, db, config)
    await processed_without_token(db, daemon.port, "", BOUNCES,
                                  returned_dsn(GONE, "<issue-2.4711@example.org>"), config)
    await in_thread(send, daemon.port, "", [BOUNCES],
                    feedback(OK, message_id="<issue-2.4711@example.org>"))
    await wait_until(lambda: len(events(db)) == 2, timeout=30, what="both reports recorded")
    assert events(db) == [(GONE, NOT_PROVEN, False), (OK, NOT_PROVEN, False)]
    assert member(db, GONE).bounce_score == 0.0  # type: ignore[union-attr]
    assert member(db, OK) is not None


async def test_without_token_the_returned_copys_verp_sender_proves_the_report(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, posting="anyone", subscribers=(GONE, OK))
    return_paths = await post_through_the_list(daemon, db, config)
    assert "+" in return_paths[GONE] and return_paths[GONE] != return_paths[OK]
    # The report names OK, but the copy it returns is GONE's: the copy decides.
    await in_thread(send, daemon.port, "", [BOUNCES],
                    quoting(returned_dsn(OK, "<x@example.org>"), return_paths[GONE]))
    await wait_until(lambda: member(db, GONE).bounce_score == 1.0,  # type: ignore[union-attr]
                     what="the bounce proven by its returned copy to be scored")
    assert member(db, OK).bounce_score == 0.0  # type: ignore[union-attr]
    # A made-up token, and a genuine one of another list's address scheme, prove nothing.
    forged = return_paths[OK].replace("+", "+1")
    other = return_paths[OK].replace("news-bounces", "other-bounces")
    for return_path in (forged, other):
        await in_thread(send, daemon.port, "", [BOUNCES],
                        quoting(returned_dsn(OK, "<x@example.org>"), return_path))
    await wait_until(lambda: len(events(db)) == 3, timeout=30, what="three reports recorded")
    assert events(db) == [(GONE, "scored", True), (OK, NOT_PROVEN, False),
                          (OK, NOT_PROVEN, False)]
    assert member(db, OK).bounce_score == 0.0  # type: ignore[union-attr]


async def test_a_complaint_proven_by_its_original_mail_from_unsubscribes(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, posting="anyone", subscribers=(GONE, OK))
    return_paths = await post_through_the_list(daemon, db, config)
    report = feedback(OK).replace(
        b"Version: 1\r\n", f"Version: 1\r\nOriginal-Mail-From: {return_paths[OK]}\r\n"
        .encode())
    await in_thread(send, daemon.port, "", [BOUNCES], report)
    await wait_until(lambda: member(db, OK) is None, what="the complainant unsubscribed")
    assert member(db, GONE) is not None


def test_a_bounce_that_sends_a_probe_wakes_delivery(db: Database, config: Config,
                                                    clock: object) -> None:
    """18c: whether delivery is woken is a typed outcome, not a search for 'suspended'."""
    runtime = Runtime.create(config, db, clock)  # type: ignore[arg-type]
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    with db.session() as session:
        set_list_setting(session, NEWS, "bounce_threshold", "1")
        set_list_setting(session, NEWS, "bounce_probe", "true")
    tokens = fan_out(db, runtime)
    address = f"news-bounces+{tokens[GONE]}@lists.example.org"
    with db.session() as session:
        route = Route(address, parse_local_part(address.partition("@")[0],
                                                "lists.example.org", config.robot),
                      find_list(session, NEWS).id)
        store_inbound(session, dsn(GONE, "5.1.1", "550 5.1.1 unknown"),
                      Envelope("", [route], "127.0.0.1"))
    outcomes = process_batch(runtime)
    assert [o.queued_mail for o in outcomes] == [True], [o.summary for o in outcomes]
    assert "probe sent" in outcomes[0].summary


async def test_an_old_token_names_nobody_once_its_queue_entry_is_purged(
        daemon: Daemon, db: Database, config: Config) -> None:
    """A token names a queue entry id: ids must never be reused (SQLite would reuse the
    highest ones after a purge), or an old token for one member would act on another."""
    # No owners' notice of the changes below: only the posts' copies are queued.
    make_list(db, config, NEWS, subscribers=(GONE,), subscription_notices="off")
    old = fan_out(db, daemon.runtime)[GONE]
    with db.session() as session:
        session.execute(delete(OutboundEntry))
        session.execute(delete(OutboundMessage))
        mailing_list = find_list(session, NEWS)
        remove_member(session, mailing_list, GONE)
        add_member(session, mailing_list, OK)
    assert set(fan_out(db, daemon.runtime)) == {OK}
    done = await bounce_back(db, daemon.port, old, dsn(GONE, "5.1.1", "550 5.1.1 unknown"))
    assert "forged" in (done.outcome or "")
    assert member(db, OK).bounce_score == 0.0  # type: ignore[union-attr]


@pytest.mark.parametrize("report", [
    # Postfix names the original envelope sender in its per-message DSN fields.
    dsn(GONE, "5.1.1", "550 5.1.1 unknown").replace(
        b"Reporting-MTA: dns; mx.example.net\r\n",
        b"Reporting-MTA: dns; mx.example.net\r\n"
        b"X-Postfix-Sender: rfc822; News-Bounces+2a-0123456789@lists.example.org\r\n"),
    # A plain-text report quoting the delivered copy's headers inline.
    b"From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\n\r\n"
    b"Sorry, I couldn't deliver to <gone@example.net>: mailbox unknown.\r\n\r\n"
    b"--- Below this line is a copy of the message.\r\n\r\n"
    b"Return-Path: <news-bounces+2a-0123456789@lists.example.org>\r\n"
    b"Received: from lists.example.org\r\nSubject: issue 2\r\n\r\nnews\r\n",
], ids=["x-postfix-sender", "inline-copy"])
def test_the_returned_copys_envelope_sender_is_read(report: bytes) -> None:
    assert classify_message(report).returned_senders == (
        "news-bounces+2a-0123456789@lists.example.org",)


async def test_forged_reports_cannot_flood_the_owners(
        daemon: Daemon, db: Database, config: Config) -> None:
    """Anyone can mail LIST-bounces@: past a day's forwards, reports are only recorded."""
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    sent = FORWARDS_PER_DAY + 3
    for n in range(sent):
        await in_thread(send, daemon.port, "", [BOUNCES],
                        dsn(f"victim{n}@example.net", "5.1.1", "550 5.1.1 unknown"))
    await wait_until(lambda: len(events(db)) == sent, timeout=60,
                     what="every report recorded")
    await wait_until(lambda: len(owner_notices(config)) == FORWARDS_PER_DAY, timeout=30,
                     what="the day's forwards delivered")
    with db.session() as session:
        pending = session.scalar(select(func.count()).select_from(OutboundEntry).where(
            OutboundEntry.state != OutboundState.SENT))
    assert pending == 0
    assert len(owner_notices(config)) == FORWARDS_PER_DAY
