"""Bounces mailed back through the real listener: matched by VERP, scored, acted on in time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from listd import suppression
from listd.bounce.lifecycle import bounce_lifecycle_job, run_bounce_lifecycle
from listd.bounce.scoring import MESSAGE_OR_SENDER_REASONS
from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.distribute.expand import expand_batch
from listd.distribute.post import accept_post
from listd.distribute.verp import verp_token
from listd.lists import find_list, set_list_setting
from listd.models import (
    BounceEvent,
    InboundMessage,
    InboundState,
    Member,
    MemberStatus,
    OutboundEntry,
    OutboundMessage,
    SuppressionReason,
)
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.support.client import in_thread, send
from tests.support.lists import make_list
from tests.support.maildir import read_outbox
from tests.support.robot import reads_it
from tests.support.sink import Sink
from tests.support.waiting import wait_until

NEWS = "news@lists.example.org"
GONE = "gone@example.net"
FULL = "full@example.net"
OK = "fine@example.net"


def dsn(recipient: str, status: str, diagnostic: str, action: str = "failed") -> bytes:
    return f"""\
From: MAILER-DAEMON@mx.example.net
To: news-bounces@lists.example.org
Subject: Delivery Status Notification
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="XX"

--XX
Content-Type: text/plain

Your message could not be delivered to one or more recipients.

--XX
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--XX
Content-Type: text/rfc822-headers

From: owner@example.org
To: {NEWS}
Subject: the newsletter

--XX--
""".replace("\n", "\r\n").encode()


def arf(complainant: str) -> bytes:
    return f"""\
From: feedback@mail.example.com
To: news-bounces@lists.example.org
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="FB"

--FB
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.1.

--FB
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Rcpt-To: {complainant}

--FB
Content-Type: text/rfc822-headers

From: owner@example.org
To: {complainant}
Subject: the newsletter

--FB--
""".replace("\n", "\r\n").encode()


VACATION = (b"From: gone@example.net\r\nTo: news-bounces@lists.example.org\r\n"
            b"Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\n"
            b"I am away until Monday.\r\n")


def fan_out(db: Database, runtime: Runtime) -> dict[str, str]:
    """Queue one post for the list; return each subscriber's VERP token."""
    with db.session() as session:
        mailing_list = find_list(session, NEWS)
        accept_post(session, runtime, mailing_list, b"Subject: issue 1\r\n\r\nnews\r\n")
    with db.session() as session:
        while expand_batch(session, runtime.clock.now()) is not None:
            pass
        rows = session.execute(select(OutboundEntry.id, OutboundEntry.recipient)).all()
    return {recipient: verp_token(entry_id, runtime.secret) for entry_id, recipient in rows}


def member(db: Database, address: str) -> Member | None:
    with db.session() as session:
        return session.scalar(select(Member).where(Member.address == address))


async def bounce_back(db: Database, port: int, token: str, report: bytes) -> InboundMessage:
    recipient = f"news-bounces+{token}@lists.example.org"
    with db.session() as session:
        before = session.scalar(select(func.max(InboundMessage.id))) or 0
    await in_thread(send, port, "", [recipient], report)

    def processed() -> InboundMessage | None:
        with db.session() as session:
            row = session.scalars(select(InboundMessage).where(
                InboundMessage.recipient == recipient, InboundMessage.id > before)).first()
            return row if row is not None and row.state is not InboundState.QUEUED else None

    return await wait_until(processed, what=f"the bounce to {recipient} to be processed")


async def test_verp_bounces_score_suspend_warn_and_remove_on_schedule(
        daemon: Daemon, db: Database, config: Config, clock: OffsetClock) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, FULL, OK))
    runtime = daemon.runtime
    tokens = fan_out(db, runtime)

    hard = dsn(GONE, "5.1.1", "550 5.1.1 <gone@example.net>: User unknown")
    soft = dsn(FULL, "5.2.2", "552 5.2.2 Mailbox full")
    first = await bounce_back(db, daemon.port, tokens[GONE], hard)
    assert "gone@example.net: scored" in (first.outcome or "")
    await bounce_back(db, daemon.port, tokens[FULL], soft)
    assert member(db, GONE).bounce_score == 1.0  # type: ignore[union-attr]
    assert member(db, FULL).bounce_score == 0.5  # type: ignore[union-attr]

    # A second bounce the same day does not count again.
    same_day = await bounce_back(db, daemon.port, tokens[GONE], hard)
    assert "already counted today" in (same_day.outcome or "")
    assert member(db, GONE).bounce_score == 1.0  # type: ignore[union-attr]

    # One hard bounce a day for five days reaches the threshold (5) and suspends delivery.
    for _ in range(4):
        clock.advance(dt.timedelta(days=1, minutes=1))
        last = await bounce_back(db, daemon.port, tokens[GONE], hard)
    assert "suspended" in (last.outcome or "")
    suspended = member(db, GONE)
    assert suspended is not None and suspended.status is MemberStatus.SUSPENDED
    assert suspended.bounce_warnings == 1

    outbox = Path(config.outbound.path)
    notices = await wait_until(lambda: [w for w in read_outbox(outbox)
                                        if "suspended" in str(w.message["Subject"])],
                               what="suspension notices")
    assert {w.recipient for w in notices} == {GONE, "owner@example.org"}

    # Warnings 7 days apart, then removal after the third went unanswered. The daemon's own
    # maintenance job may run the life cycle too once the clock moves: each step is judged by
    # the member's state, which is the same whoever ran it.
    def lifecycle() -> None:
        with db.session() as session:
            run_bounce_lifecycle(session, runtime)

    def warnings() -> int:
        return member(db, GONE).bounce_warnings  # type: ignore[union-attr]

    await db.run(lifecycle)
    assert warnings() == 1
    clock.advance(dt.timedelta(days=7))
    await db.run(lifecycle)
    assert warnings() == 2
    await db.run(lifecycle)
    assert warnings() == 2
    clock.advance(dt.timedelta(days=7))
    await db.run(lifecycle)
    assert warnings() == 3
    clock.advance(dt.timedelta(days=7))
    await db.run(lifecycle)
    assert member(db, GONE) is None
    with db.session() as session:
        gone = suppression.find(session, GONE)
        assert gone is not None and gone.reason is SuppressionReason.BOUNCES
    # FULL's single soft bounce went stale after a quiet week, and FINE never bounced.
    assert member(db, FULL).bounce_score == 0.0  # type: ignore[union-attr]
    assert member(db, OK).status is MemberStatus.ENABLED  # type: ignore[union-attr]
    removed = await wait_until(lambda: [w for w in read_outbox(outbox)
                                        if "removed" in str(w.message["Subject"])],
                               what="the removal notice to the owners")
    assert removed[0].recipient == "owner@example.org"


async def test_what_must_not_score(daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, FULL, OK))
    tokens = fan_out(db, daemon.runtime)

    dmarc = await bounce_back(db, daemon.port, tokens[OK], dsn(
        OK, "5.7.1", "550 5.7.1 Unauthenticated email from example.org is not accepted due "
        "to domain's DMARC policy"))
    assert "about the message or sender" in (dmarc.outcome or "")
    delay = await bounce_back(db, daemon.port, tokens[FULL], dsn(
        FULL, "4.4.7", "451 4.4.7 delivery temporarily suspended", action="delayed"))
    assert "recorded nothing" in (delay.outcome or "")
    vacation = await bounce_back(db, daemon.port, tokens[FULL], VACATION)
    assert "recorded nothing" in (vacation.outcome or "")
    forged = await bounce_back(db, daemon.port, tokens[GONE][:-2] + "zz", dsn(
        GONE, "5.1.1", "550 5.1.1 User unknown"))
    assert "forged" in (forged.outcome or "")
    other_list_token = await bounce_back(db, daemon.port, verp_token(10_000, "test-secret"),
                                         dsn(GONE, "5.1.1", "550 5.1.1 User unknown"))
    assert "nothing changed" in (other_list_token.outcome or "")

    for address in (GONE, FULL, OK):
        found = member(db, address)
        assert found is not None and found.bounce_score == 0.0, address
    with db.session() as session:
        events = session.execute(select(BounceEvent.address, BounceEvent.effect)).all()
    # The DMARC refusal is kept for audit, but counted against nobody; so are the reports
    # through forged tokens, as not proven.
    not_proven = "recorded: not proven to be about a copy sent to this member"
    assert [(a, e) for a, e in events] == [(OK, "recorded: about the message or sender"),
                                           (GONE, not_proven), (GONE, not_proven)]


async def test_a_complaint_unsubscribes_at_once_and_tells_the_owners(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    tokens = fan_out(db, daemon.runtime)
    done = await bounce_back(db, daemon.port, tokens[OK], arf(OK))
    assert "complaint: fine@example.net: unsubscribed" in (done.outcome or "")
    assert member(db, OK) is None and member(db, GONE) is not None
    notices = await wait_until(lambda: [w for w in read_outbox(Path(config.outbound.path))
                                        if "spam complaint" in str(w.message["Subject"])],
                               what="the owners' notice")
    assert notices[0].recipient == "owner@example.org"


async def test_bounce_ls_and_reset(daemon: Daemon, db: Database, config: Config,
                                   config_file: Path) -> None:
    import json

    from listd.cli.main import cli

    make_list(db, config, NEWS, subscribers=(GONE, OK))
    with db.session() as session:
        set_list_setting(session, NEWS, "bounce_threshold", "1")
    tokens = fan_out(db, daemon.runtime)
    await bounce_back(db, daemon.port, tokens[GONE], dsn(GONE, "5.1.1", "550 5.1.1 unknown"))
    runner = CliRunner()
    listed = runner.invoke(cli, ["--config", str(config_file), "bounce", "ls", NEWS, "--json"])
    rows = json.loads(listed.stdout)
    assert [(r["address"], r["score"], r["status"], r["reason"]) for r in rows] == [
        (GONE, 1.0, "suspended", "userunknown")]
    reset = runner.invoke(cli, ["--config", str(config_file), "bounce", "reset", NEWS, GONE])
    assert reset.exit_code == 0, reset.output
    restored = member(db, GONE)
    assert restored is not None and restored.status is MemberStatus.ENABLED
    assert restored.bounce_score == 0.0
    missing = runner.invoke(cli, ["--config", str(config_file), "bounce", "reset", NEWS,
                                  "nobody@example.org"])
    assert missing.exit_code == 1 and "nobody@example.org is not subscriber" in missing.stderr


async def suspend(daemon: Daemon, db: Database, config: Config) -> dict[str, str]:
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    with db.session() as session:
        set_list_setting(session, NEWS, "bounce_threshold", "1")
    tokens = fan_out(db, daemon.runtime)
    await bounce_back(db, daemon.port, tokens[GONE], dsn(GONE, "5.1.1", "550 5.1.1 unknown"))
    assert member(db, GONE).status is MemberStatus.SUSPENDED  # type: ignore[union-attr]
    return tokens


async def test_answering_the_suspension_notice_resumes_delivery(
        daemon: Daemon, db: Database, config: Config) -> None:
    await suspend(daemon, db, config)
    notice = (await wait_until(
        lambda: [w for w in read_outbox(Path(config.outbound.path))
                 if w.recipient == GONE and "suspended" in str(w.message["Subject"])],
        what="the notice to the member"))[0]
    reply_to = str(notice.message["Reply-To"])
    assert reply_to.startswith("news-confirm+")
    reads_it(daemon)
    await in_thread(send, daemon.port, GONE, [reply_to],
                    f"From: {GONE}\r\nSubject: Re: {notice.message['Subject']}\r\n\r\n"
                    f"yes please\r\n".encode())
    await wait_until(lambda: member(db, GONE).status is MemberStatus.ENABLED,  # type: ignore[union-attr]
                     what="delivery to resume")
    assert member(db, GONE).bounce_score == 0.0  # type: ignore[union-attr]


async def test_set_mail_resumes_delivery(daemon: Daemon, db: Database, config: Config) -> None:
    await suspend(daemon, db, config)
    await in_thread(send, daemon.port, GONE, ["news-request@lists.example.org"],
                    f"From: {GONE}\r\nSubject: commands\r\n\r\nSET news MAIL\r\n".encode())
    # A change of delivery, like any change, is confirmed from the member's address first.
    confirmation = await wait_until(
        lambda: [w for w in read_outbox(Path(config.outbound.path))
                 if w.recipient == GONE and "-confirm+" in str(w.message["From"])],
        what="the confirmation request")
    assert member(db, GONE).status is MemberStatus.SUSPENDED  # type: ignore[union-attr]
    reads_it(daemon)
    await in_thread(send, daemon.port, GONE, [str(confirmation[0].message["Reply-To"])],
                    f"From: {GONE}\r\nSubject: Re: confirm\r\n\r\nyes\r\n".encode())
    await wait_until(lambda: member(db, GONE).status is MemberStatus.ENABLED,  # type: ignore[union-attr]
                     what="delivery to resume")


async def test_relay_refusals_during_fan_out_are_scored_like_reports(
        relayed_daemon: Daemon, sink: Sink, db: Database, config: Config) -> None:
    dmarc = "strict@example.net"
    # Three refusals of four would also warn the owners (warn_rate): tested on its own.
    make_list(db, config, NEWS, posting="anyone", subscribers=(GONE, FULL, OK, dmarc),
              bounce_warn_rate=0)
    sink.refuse(GONE, "550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown")
    sink.refuse(FULL, "552 5.2.2 <full@example.net>: Mailbox full")
    sink.refuse(dmarc, "550 5.7.1 Unauthenticated email is not accepted due to domain's DMARC "
                       "policy")
    await in_thread(send, relayed_daemon.port, "poster@example.org", [NEWS],
                    b"From: poster@example.org\r\nSubject: issue 2\r\n\r\nnews\r\n")
    await wait_until(lambda: len(sink.received) == 1, what="the one accepted delivery")

    def events() -> list[tuple[str, str, str | None, str | None, str]] | None:
        with db.session() as session:
            rows = session.execute(select(
                BounceEvent.address, BounceEvent.kind, BounceEvent.status, BounceEvent.reason,
                BounceEvent.effect).order_by(BounceEvent.address)).all()
        return [tuple(r) for r in rows] if len(rows) == 3 else None  # type: ignore[misc]

    recorded = await wait_until(events, what="three relay refusals recorded")
    assert recorded == [
        (FULL, "soft", "5.2.2", "mailboxfull", "scored"),
        (GONE, "hard", "5.1.1", "userunknown", "scored"),
        (dmarc, "soft", "5.7.1", recorded[2][3], "recorded: about the message or sender"),
    ]
    assert recorded[2][3] in MESSAGE_OR_SENDER_REASONS
    assert member(db, GONE).bounce_score == 1.0  # type: ignore[union-attr]
    assert member(db, FULL).bounce_score == 0.5  # type: ignore[union-attr]
    assert member(db, dmarc).bounce_score == 0.0  # type: ignore[union-attr]


async def test_a_probe_confirms_a_dead_address_before_suspending(
        daemon: Daemon, db: Database, config: Config, clock: OffsetClock) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    with db.session() as session:
        set_list_setting(session, NEWS, "bounce_threshold", "1")
        set_list_setting(session, NEWS, "bounce_probe", "true")
    tokens = fan_out(db, daemon.runtime)
    hard = dsn(GONE, "5.1.1", "550 5.1.1 User unknown")
    first = await bounce_back(db, daemon.port, tokens[GONE], hard)
    assert "probe sent" in (first.outcome or "")
    assert member(db, GONE).status is MemberStatus.ENABLED  # type: ignore[union-attr]
    probe = (await wait_until(lambda: [
        w for w in read_outbox(Path(config.outbound.path))
        if w.recipient == GONE and "Checking your address" in str(w.message["Subject"])],
        what="the probe"))[0]
    # The probe carries its own VERP address: its bounce settles the question.
    assert probe.sender.startswith("news-bounces+")
    probe_token = probe.sender.partition("+")[2].partition("@")[0]
    settled = await bounce_back(db, daemon.port, probe_token, hard)
    assert "suspended" in (settled.outcome or "")
    assert member(db, GONE).status is MemberStatus.SUSPENDED  # type: ignore[union-attr]


async def test_a_probe_that_does_not_bounce_clears_the_score(
        daemon: Daemon, db: Database, config: Config, clock: OffsetClock) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    with db.session() as session:
        set_list_setting(session, NEWS, "bounce_threshold", "1")
        set_list_setting(session, NEWS, "bounce_probe", "true")
    tokens = fan_out(db, daemon.runtime)
    await bounce_back(db, daemon.port, tokens[GONE], dsn(GONE, "5.1.1", "550 5.1.1 unknown"))
    assert member(db, GONE).bounce_score == 1.0  # type: ignore[union-attr]
    clock.advance(dt.timedelta(days=3, minutes=1))
    assert await db.run(bounce_lifecycle_job, daemon.runtime) == 1
    cleared = member(db, GONE)
    assert cleared is not None and cleared.status is MemberStatus.ENABLED
    assert cleared.bounce_score == 0.0 and cleared.probe_sent_at is None


async def test_owners_are_warned_once_when_a_post_bounced_for_too_many_members(
        relayed_daemon: Daemon, sink: Sink, db: Database, config: Config) -> None:
    owner = "owner@example.org"
    others = tuple(f"member{n}@example.net" for n in range(3))
    make_list(db, config, NEWS, posting="anyone", owners=(owner,),
              subscribers=(GONE, FULL, *others), subscription_notices="off")
    sink.refuse(GONE, "550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown")
    await in_thread(send, relayed_daemon.port, "poster@example.org", [NEWS],
                    b"From: poster@example.org\r\nSubject: one\r\n\r\nnews\r\n")
    await wait_until(lambda: _bounces(db) == 1 or None, what="one refusal recorded")
    # One of five (20 %): no warning. Two of five (40 %) on the next post: one warning.
    sink.refuse(FULL, "550 5.1.1 <full@example.net>: User unknown")
    sink.refuse(others[0], "550 5.1.1 <member0@example.net>: User unknown")
    await in_thread(send, relayed_daemon.port, "poster@example.org", [NEWS],
                    b"From: poster@example.org\r\nSubject: two\r\n\r\nnews\r\n")
    warning = await wait_until(lambda: next(
        (r for r in sink.received if owner in r.recipients), None), what="the owners' warning")
    text = str(warning.message.get_body(preferencelist=("plain",)).get_content())  # type: ignore
    assert " ".join(str(warning.message["Subject"]).split()) == \
        f"{NEWS}: a post bounced for 40 % of its recipients"
    assert 'The post "[news] two" to news@lists.example.org has bounced for 2 of its 5' in text
    assert _bounces(db) == 3
    assert [r for r in sink.received if owner in r.recipients] == [warning]


def _bounces(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(BounceEvent)) or 0


async def test_the_warn_rate_counts_each_copy_once_on_the_posts_row(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, owners=("owner@example.org",), subscribers=(GONE, FULL, OK),
              bounce_warn_rate=50, subscription_notices="off")
    tokens = fan_out(db, daemon.runtime)
    hard = dsn(GONE, "5.1.1", "550 5.1.1 <gone@example.net>: User unknown")
    # Two reports about the same copy are one bounced recipient of three (33 %): no warning.
    await bounce_back(db, daemon.port, tokens[GONE], hard)
    await bounce_back(db, daemon.port, tokens[GONE], hard)
    assert _post_counts(db) == (1, 3, False)
    await bounce_back(db, daemon.port, tokens[FULL], dsn(FULL, "5.2.2", "552 5.2.2 Mailbox full"))
    assert _post_counts(db) == (2, 3, True)


def _post_counts(db: Database) -> tuple[int, int | None, bool]:
    """The post's bounced recipients, its recipients as counted, and whether owners were warned."""
    with db.session() as session:
        post = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "post")).one()
        return post.bounced_recipients, post.recipient_total, post.bounce_warned_at is not None
