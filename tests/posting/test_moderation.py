"""The moderation queue end to end: held by SMTP, decided by the CLI or by a moderator's mail
answer, exactly once, and expired by the maintenance worker when the clock moves on."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from sqlalchemy import func, select

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.errors import NotFound
from listd.lists import find_list
from listd.models import AuditEntry, HeldMessage, HeldState, OutboundEntry
from listd.posting import answers, moderation
from listd.posting.patterns import PatternKind, list_patterns
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.conftest import CLI
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.outbox import sent_to, settle
from tests.support.waiting import wait_until

LIST = "club@lists.example.org"
OWNER = "owner@example.org"
MOD = "mod@example.org"
BOB = "bob@example.org"
STRANGER = "stranger@example.net"


async def hold_one(daemon: Daemon, db: Database, config: Config, subject: str = "Hello",
                   moderators: tuple[str, ...] = (MOD,)) -> HeldMessage:
    make_list(db, config, LIST, subscribers=(BOB,), moderators=moderators)
    await in_thread(post, daemon.port, STRANGER, LIST, subject, "From outside.\n")
    await settle(db)
    with db.session() as session:
        return session.scalars(select(HeldMessage)).one()


def reply(notice: EmailMessage, sender: str, extra: str = "") -> EmailMessage:
    """What a moderator's mail program sends when they press Reply on the notice."""
    raw = (f"From: Moderator <{sender}>\r\nTo: {notice['Reply-To']}\r\n"
           f"Subject: Re: {notice['Subject']}\r\nIn-Reply-To: {notice['Message-ID']}\r\n"
           f"{extra}\r\nOK for me.\r\n").encode()
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def audit_of(db: Database, prefix: str) -> list[tuple[str, str]]:
    with db.session() as session:
        return [(a.actor, a.action) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action.like(f"{prefix}%"))
            .order_by(AuditEntry.id))]


async def test_held_then_approved_with_the_cli_is_distributed(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    held = await hold_one(daemon, db, config)
    listed = json.loads((await in_thread(listd_cli.ok, "held", "ls", LIST, "--json")).stdout)
    assert [(r["id"], r["sender"], r["rule"]) for r in listed] == [
        (held.id, STRANGER, "posting-policy")]
    result = await in_thread(listd_cli.ok, "held", "approve", str(held.id), "--accept-sender")
    assert "is now approved" in result.stdout
    await settle(db)
    assert [w.message["Subject"] for w in sent_to(config, BOB)] == ["[club] Hello"]
    assert json.loads((await in_thread(listd_cli.ok, "held", "ls", "--json")).stdout) == []
    # Approved once with --accept-sender: the stranger's next post is not held.
    with db.session() as session:
        assert [p.pattern for p in list_patterns(session, find_list(session, LIST),
                                                 PatternKind.ACCEPT)] == [STRANGER]
    await in_thread(post, daemon.port, STRANGER, LIST, "Again", "x\n")
    await settle(db, 2)
    assert [w.message["Subject"] for w in sent_to(config, BOB)] == ["[club] Hello", "[club] Again"]
    assert audit_of(db, "held.") == [("cli", "held.approved")]

    again = await in_thread(listd_cli, "held", "approve", str(held.id))
    assert again.exit_code == 1 and "already approved by cli" in again.stderr
    missing = await in_thread(listd_cli, "held", "reject", "9999")
    assert missing.exit_code == 1 and missing.stderr.strip() == "listd: error: no held post #9999"


async def test_reject_with_a_reason_reaches_the_poster(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    held = await hold_one(daemon, db, config, subject="Cheap watches")
    await in_thread(listd_cli.ok, "held", "reject", str(held.id), "--reason", "off topic")
    await settle(db)
    waiting, told = sent_to(config, STRANGER)
    assert " ".join(str(waiting.message["Subject"]).split()) == \
        f"Your post to {LIST} waits for a moderator: Cheap watches"
    assert told.message["Subject"] == f"Your post to {LIST} was rejected: Cheap watches"
    assert "Reason given: off topic" in told.message.get_body(("plain",)).get_content()
    assert sent_to(config, BOB) == []
    with db.session() as session:
        decided = session.get(HeldMessage, held.id)
        assert decided is not None
        assert (decided.state, decided.decided_by, decided.decision_reason) == (
            HeldState.REJECTED, "cli", "off topic")


async def test_discard_tells_nobody(daemon: Daemon, db: Database, config: Config,
                                    listd_cli: CLI) -> None:
    held = await hold_one(daemon, db, config)
    await in_thread(listd_cli.ok, "held", "discard", str(held.id))
    await settle(db)
    # The poster was told at once that the post waits; the discard itself tells nobody.
    assert [" ".join(str(w.message["Subject"]).split()) for w in sent_to(config, STRANGER)] == [
        f"Your post to {LIST} waits for a moderator: Hello"]
    assert sent_to(config, BOB) == []
    assert audit_of(db, "held.") == [("cli", "held.discarded")]


async def test_a_moderator_approves_by_replying_to_the_notice(
        daemon: Daemon, db: Database, config: Config) -> None:
    held = await hold_one(daemon, db, config)
    notice, = sent_to(config, MOD)
    answer_to = str(notice.message["Reply-To"])
    token = answer_to.split("+", 1)[1].split("@", 1)[0]
    assert token == held.token and len(token) >= 32
    answer = reply(notice.message, "MOD@example.org")
    runtime = daemon.runtime
    with db.session() as session:
        decided = answers.approve_by_mail(session, runtime, token,
                                          answers.Answer.of("mod@example.org", answer))
    assert decided.state is HeldState.APPROVED and decided.queued_mail
    runtime.signals.outbound.set()
    await settle(db)
    assert [w.message["Subject"] for w in sent_to(config, BOB)] == ["[club] Hello"]
    assert audit_of(db, "held.") == [("mod@example.org", "held.approved")]


async def test_mail_answers_that_may_not_decide(daemon: Daemon, db: Database,
                                                config: Config) -> None:
    held = await hold_one(daemon, db, config)
    notice, = sent_to(config, MOD)
    runtime = daemon.runtime

    def attempt(envelope: str, message: EmailMessage, token: str = held.token) -> str:
        with pytest.raises((answers.NotAllowed, NotFound)) as refused, db.session() as session:
            answers.approve_by_mail(session, runtime, token, answers.Answer.of(envelope, message))
        return str(refused.value)

    # A forged or guessed token names nothing.
    assert attempt(MOD, reply(notice.message, MOD), "0" * 40) == "no held post matches this token"
    # The owner may not decide when the list has moderators; a stranger never.
    assert "not a moderator" in attempt(OWNER, reply(notice.message, OWNER))
    assert "not a moderator" in attempt(STRANGER, reply(notice.message, STRANGER))
    # Robots never approve, even from a moderator's address.
    automatic = [
        ("", reply(notice.message, MOD)),
        (MOD, reply(notice.message, MOD, "Auto-Submitted: auto-replied\r\n")),
        (MOD, reply(notice.message, MOD, "X-Autoreply: yes\r\n")),
        (MOD, reply(notice.message, MOD, "Precedence: bulk\r\n")),
    ]
    vacation = reply(notice.message, MOD)
    vacation.replace_header("Subject", "Out of office: back on Monday")
    automatic.append((MOD, vacation))
    for envelope, message in automatic:
        assert "automatic answer" in attempt(envelope, message)
    with db.session() as session:
        still = session.get(HeldMessage, held.id)
        assert still is not None and still.state is HeldState.HELD
        # The reject command goes through the same checks, and then tells the poster.
        with pytest.raises(answers.NotAllowed):
            answers.reject_by_mail(session, runtime, held.token,
                                   answers.Answer.of(STRANGER, reply(notice.message, STRANGER)))
        decided = answers.reject_by_mail(session, runtime, held.token.upper(),
                                         answers.Answer.of(MOD, reply(notice.message, MOD)),
                                         "please write to the owner first")
        assert decided.state is HeldState.REJECTED


async def test_owners_decide_when_the_list_has_no_moderator(
        daemon: Daemon, db: Database, config: Config) -> None:
    held = await hold_one(daemon, db, config, moderators=())
    notice, = sent_to(config, OWNER)
    with db.session() as session:
        decided = answers.approve_by_mail(
            session, daemon.runtime, held.token,
            answers.Answer.of(OWNER, reply(notice.message, OWNER)))
    assert decided.state is HeldState.APPROVED


async def test_two_concurrent_approvals_give_one_delivery(
        daemon: Daemon, db: Database, config: Config) -> None:
    held = await hold_one(daemon, db, config)
    # Two moderators' answers handled at the same moment, each in its own transaction (on
    # PostgreSQL each on its own connection, as two listd processes would).
    barrier = threading.Barrier(2)
    results: list[str] = []

    def approve(actor: str) -> None:
        other = Database(config.database)
        try:
            runtime = Runtime.create(config, other)
            barrier.wait()
            with other.session() as session:
                found = moderation.find_held(session, held.id)
                moderation.approve_held(session, runtime, found, actor)
            results.append("approved")
        except moderation.AlreadyDecided as exc:
            results.append(str(exc))
        finally:
            other.dispose()

    await asyncio.gather(in_thread(approve, "mod@example.org"),
                         in_thread(approve, "mod2@example.org"))
    assert sorted(results)[0] == "approved"
    assert "already approved by mod" in sorted(results)[1]
    daemon.runtime.signals.outbound.set()
    await settle(db)
    assert len(sent_to(config, BOB)) == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboundEntry)
                              .where(OutboundEntry.recipient == BOB)) == 1
    assert [a for _, a in audit_of(db, "held.")] == ["held.approved"]


async def test_an_unanswered_post_expires_and_the_poster_is_told(
        daemon: Daemon, db: Database, config: Config, clock: OffsetClock) -> None:
    held = await hold_one(daemon, db, config, subject="Anyone there?")
    assert held.expires_at - held.held_at == dt.timedelta(days=14)
    clock.advance(dt.timedelta(days=14, minutes=1))

    def expired_notice() -> list[object]:
        return [w for w in sent_to(config, STRANGER)
                if "not approved in time" in str(w.message["Subject"])]

    told, = await wait_until(expired_notice, timeout=20, what="the expiry notice")
    assert "within 14 days" in told.message.get_body(("plain",)).get_content()
    with db.session() as session:
        expired = session.get(HeldMessage, held.id)
        assert expired is not None and expired.state is HeldState.EXPIRED
        # Too late for a moderator now.
        with pytest.raises(moderation.AlreadyDecided, match="already expired by listd"):
            moderation.approve_held(session, daemon.runtime, expired, MOD)
    assert audit_of(db, "held.") == [("listd", "held.expired")]
    assert sent_to(config, BOB) == []
