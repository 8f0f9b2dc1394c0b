"""Posts through the real listener, for each list type and each rule: what goes out, what is
held, what comes back to the poster, and what the audit log says."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from listd.config import Config
from listd.database import Database
from listd.lists import find_list
from listd.models import AuditEntry, HeldMessage, HeldState
from listd.posting.patterns import PatternKind, add_pattern
from listd.serve import Daemon
from tests.support.client import in_thread, post, send
from tests.support.lists import make_list
from tests.support.outbox import outcomes, sent_to, settle

LIST = "club@lists.example.org"
OWNER = "owner@example.org"
MOD = "mod@example.org"
ALICE = "alice@example.org"
BOB = "bob@example.org"
STRANGER = "stranger@example.net"


def held_posts(db: Database) -> list[HeldMessage]:
    with db.session() as session:
        return list(session.scalars(select(HeldMessage).order_by(HeldMessage.id)))


def audit_actions(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("post.%")).order_by(AuditEntry.id)))


def attached(message: EmailMessage) -> EmailMessage:
    for part in message.iter_attachments():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_content()
            assert isinstance(inner, EmailMessage)
            return inner
    raise AssertionError("no message/rfc822 attachment")


async def test_discussion_member_accepted_stranger_held_with_one_notice_per_moderator(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, LIST, template="discussion", subscribers=(ALICE, BOB),
              moderators=(MOD, "mod2@example.org"))
    await in_thread(post, daemon.port, "Alice@Example.ORG", LIST, "Meeting", "See you.\n")
    await in_thread(post, daemon.port, STRANGER, LIST, "Cheap watches", "Buy.\n")
    await settle(db, 2)

    assert [w.message["Subject"] for w in sent_to(config, BOB)] == ["[club] Meeting"]
    held, = held_posts(db)
    assert (held.sender, held.rule, held.state) == (STRANGER, "posting-policy", HeldState.HELD)
    assert f"{STRANGER} is not a member of {LIST}" in held.reason
    for moderator in (MOD, "mod2@example.org"):
        notice, = sent_to(config, moderator)
        confirm = f"club-confirm+{held.token}@lists.example.org"
        assert confirm in str(notice.message["From"]) and notice.message["Reply-To"] == confirm
        assert notice.sender == "club-bounces@lists.example.org"
        assert notice.message["Auto-Submitted"] == "auto-replied"
        body = notice.message.get_body(("plain",)).get_content()
        assert f"DISTRIBUTE {held.token}" in body and f"REJECT {held.token}" in body
        assert attached(notice.message)["Subject"] == "Cheap watches"
    # Owners are not bothered when the list has moderators; Bob never sees the stranger.
    assert sent_to(config, OWNER) == []
    assert [w.message["Subject"] for w in sent_to(config, BOB)] == ["[club] Meeting"]
    assert sorted(audit_actions(db)) == ["post.accepted", "post.held"]


async def test_poster_is_recognised_by_envelope_sender_when_from_differs(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, LIST, subscribers=(ALICE, BOB))
    message = (f"From: Alice at work <alice@work.example.com>\r\nTo: {LIST}\r\n"
               f"Subject: from work\r\nMessage-ID: <w1@example.com>\r\n\r\nhi\r\n").encode()
    await in_thread(send, daemon.port, "ALICE@example.org", [LIST], message)
    await settle(db)
    assert [w.message["Subject"] for w in sent_to(config, BOB)] == ["[club] from work"]


async def test_newsletter_subscriber_post_does_not_go_out_owner_post_does(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, LIST, template="newsletter", subscribers=(ALICE, BOB))
    await in_thread(post, daemon.port, ALICE, LIST, "Reply to all", "Hi everyone\n")
    await in_thread(post, daemon.port, OWNER, LIST, "Issue 1", "News.\n")
    await settle(db, 2)
    assert [w.message["Subject"] for w in sent_to(config, BOB)] == ["[club] Issue 1"]
    rejection, = sent_to(config, ALICE)[:1]
    assert rejection.message["Subject"].startswith(f"Your post to {LIST} was not distributed")
    assert "only the owners and moderators" in rejection.message.get_body(
        ("plain",)).get_content()
    assert held_posts(db) == []
    assert sorted(audit_actions(db)) == ["post.accepted", "post.rejected"]


async def test_moderated_list_holds_even_a_member(daemon: Daemon, db: Database,
                                                  config: Config) -> None:
    make_list(db, config, LIST, template="moderated", subscribers=(ALICE, BOB))
    await in_thread(post, daemon.port, ALICE, LIST, "Proposal", "Text.\n")
    await settle(db)
    held, = held_posts(db)
    assert held.rule == "moderated"
    # No moderator: the owners get the notice.
    assert len(sent_to(config, OWNER)) == 1 and sent_to(config, BOB) == []


async def test_private_list_member_posts_stranger_rejected(daemon: Daemon, db: Database,
                                                           config: Config) -> None:
    make_list(db, config, LIST, template="private", subscribers=(ALICE, BOB))
    await in_thread(post, daemon.port, ALICE, LIST, "Inside", "x\n")
    await in_thread(post, daemon.port, STRANGER, LIST, "Outside", "x\n")
    await settle(db, 2)
    assert [w.message["Subject"] for w in sent_to(config, BOB)] == ["[club] Inside"]
    assert "was not distributed" in sent_to(config, STRANGER)[0].message["Subject"]


@pytest.mark.parametrize(("settings", "subject", "body", "headers", "rule", "state"), [
    pytest.param({"emergency": "true"}, "Calm", "x\n", "", "emergency", "held", id="emergency"),
    pytest.param({"max_message_size": "300"}, "Big", "y" * 400 + "\n", "", "max-size", "held",
                 id="size"),
    pytest.param({"max_recipients": "2"}, "Many", "x\n",
                 "Cc: a@example.org, b@example.org\r\n", "max-recipients", "held",
                 id="recipients"),
    pytest.param({}, "unsubscribe", "\n", "", "administrivia", "rejected", id="administrivia"),
    pytest.param({}, "Out of office", "x\n", "Auto-Submitted: auto-replied\r\n", "auto-reply",
                 "discarded", id="auto-reply"),
])
async def test_each_rule_through_the_listener(
        daemon: Daemon, db: Database, config: Config, settings: dict[str, str], subject: str,
        body: str, headers: str, rule: str, state: str) -> None:
    make_list(db, config, LIST, subscribers=(ALICE, BOB), **settings)
    await in_thread(post, daemon.port, ALICE, LIST, subject, body, headers)
    await settle(db)
    outcome, = outcomes(db)
    assert outcome.startswith(state) and f"({rule}:" in outcome, outcome
    assert sent_to(config, BOB) == []
    if rule == "administrivia":
        pointer, = sent_to(config, ALICE)
        text = pointer.message.get_body(("plain",)).get_content()
        assert "listd@lists.example.org" in text and "UNSUBSCRIBE" in text


async def test_duplicate_message_id_and_banned_address_are_discarded(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, LIST, subscribers=(ALICE, BOB, "spam@bad.example"))
    with db.session() as session:
        add_pattern(session, find_list(session, LIST), PatternKind.BAN, "*@bad.example")
    await in_thread(post, daemon.port, ALICE, LIST, "Once", "x\n")
    await in_thread(post, daemon.port, ALICE, LIST, "Once", "x\n")  # same Message-ID
    await in_thread(post, daemon.port, "spam@bad.example", LIST, "Spam", "x\n")
    await settle(db, 3)
    first, second, third = outcomes(db)
    assert first.startswith("accepted")
    assert second.startswith("discarded (duplicate:")
    assert third.startswith("discarded (banned:")
    assert [w.message["Subject"] for w in sent_to(config, BOB)] == ["[club] Once"]
    # Several inbound workers: the three may be recorded in any order.
    assert sorted(audit_actions(db)) == ["post.accepted", "post.discarded", "post.discarded"]


async def test_mail_to_the_owner_addresses_is_forwarded(daemon: Daemon, db: Database,
                                                        config: Config) -> None:
    make_list(db, config, LIST, owners=(OWNER, "owner2@example.org"))
    await in_thread(send, daemon.port, ALICE, ["club-owner@lists.example.org"],
                    b"From: alice@example.org\r\nSubject: a question\r\n\r\nhello\r\n")
    await in_thread(send, daemon.port, ALICE, ["listd-owner@lists.example.org"],
                    b"From: alice@example.org\r\nSubject: for the admin\r\n\r\nhello\r\n")
    await in_thread(send, daemon.port, ALICE, ["club-owner@lists.example.org"],
                    b"From: alice@example.org\r\nX-Loop: club-owner@lists.example.org\r\n"
                    b"Subject: looping\r\n\r\nhello\r\n")
    await settle(db, 3)
    for owner in (OWNER, "owner2@example.org"):
        forwarded, = sent_to(config, owner)
        assert forwarded.message["Subject"] == "a question"
        assert forwarded.sender == "club-bounces@lists.example.org"
    admin, = sent_to(config, "listmaster@example.org")
    assert admin.message["Subject"] == "for the admin"
    assert "X-Loop" in outcomes(db)[2]
