"""Changes made in someone else's name: forged SET, confirmation bombing, and auto-responders
answering confirmation requests. End to end: real listener, real worker, the Maildir outbox."""

from __future__ import annotations

import datetime as dt
import smtplib
import uuid

from sqlalchemy import func, select

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.lists import find_list
from listd.members import find_member
from listd.models import DeliveryMode, InboundMessage, InboundState, Member
from listd.serve import Daemon
from tests.support.client import in_thread
from tests.support.lists import make_list
from tests.support.outbox import settle
from tests.support.robot import (
    body,
    confirm_address,
    is_confirmation,
    mail,
    reads_it,
    token_of,
    wait_for_mail,
    written_to,
)
from tests.support.waiting import wait_until

DOMAIN = "lists.example.org"
NEWS = f"news@{DOMAIN}"
ROBOT = f"listd@{DOMAIN}"
VICTIM = "victim@example.net"


def member(db: Database, address: str) -> Member | None:
    with db.session() as session:
        return find_member(session, find_list(session, NEWS), address)


def delivery(db: Database, address: str) -> DeliveryMode:
    found = member(db, address)
    assert found is not None
    return found.delivery_mode


async def test_a_forged_set_nomail_changes_nothing_until_the_member_confirms(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(VICTIM,))
    # Mallory forges the victim's From: on every kind of delivery change.
    for mode in ("NOMAIL", "DIGEST", "nomail"):
        await mail(daemon, VICTIM, f"news-request@{DOMAIN}", f"SET {mode}\n",
                   envelope_sender="mallory@example.com")
    await settle(db, 3)
    assert delivery(db, VICTIM) is DeliveryMode.MAIL
    # One confirmation per distinct change, and no "Results of your commands" besides.
    received = written_to(config, VICTIM)
    assert [is_confirmation(w) for w in received] == [True, True]
    nomail = next(w for w in received if "NOMAIL" in str(w.message["Subject"]))
    assert str(nomail.message["Subject"]).startswith(f"Confirm delivery mode NOMAIL on {NEWS}")
    assert f"CONFIRM {token_of(nomail)}" in body(nomail)

    # The member wants it after all: their own answer carries it out.
    reads_it(daemon)
    await mail(daemon, VICTIM, confirm_address(nomail), "Yes.\n",
               subject=f"Re: {nomail.message['Subject']}")
    done = (await wait_for_mail(config, VICTIM, 3))[2]
    assert f"Done: your subscription to {NEWS} is now in NOMAIL mode." in body(done)
    assert delivery(db, VICTIM) is DeliveryMode.NOMAIL
    # Asking for the mode one already has changes nothing and needs no confirmation.
    await mail(daemon, VICTIM, ROBOT, "SET news NOMAIL\n")
    same = (await wait_for_mail(config, VICTIM, 4))[3]
    assert "Done: your subscription" in body(same) and not is_confirmation(same)


def forge_subscriptions(port: int, count: int) -> None:
    """COUNT forged SUBSCRIBE mails in the victim's name, over a few SMTP sessions."""
    for batch in range(0, count, 50):
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for _ in range(batch, min(batch + 50, count)):
                client.sendmail("mallory@example.com", [ROBOT],
                                f"From: {VICTIM}\r\nTo: {ROBOT}\r\nSubject: hi\r\n"
                                f"Message-ID: <{uuid.uuid4().hex}@example.com>\r\n\r\n"
                                "SUBSCRIBE news\r\n".encode())


def processed(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.state != InboundState.QUEUED)) or 0


async def test_confirmation_bombing_puts_one_mail_a_day_in_the_victims_mailbox(
        daemon: Daemon, db: Database, config: Config, clock: OffsetClock) -> None:
    make_list(db, config, NEWS, template="newsletter")
    forged = 300
    await in_thread(forge_subscriptions, daemon.port, forged)
    await wait_until(lambda: processed(db) >= forged, timeout=120,
                     what=f"{forged} forged requests processed")
    await settle(db, forged)
    (confirmation,) = written_to(config, VICTIM)
    assert is_confirmation(confirmation)
    assert member(db, VICTIM) is None

    # A day later the same requests make one reminder, with the same token, and no more.
    clock.advance(dt.timedelta(days=1, minutes=1))
    await in_thread(forge_subscriptions, daemon.port, 20)
    await settle(db, forged + 20)
    received = written_to(config, VICTIM)
    assert len(received) == 2 and token_of(received[1]) == token_of(confirmation)

    # The victim really wants to join: a later CONFIRM still works.
    reads_it(daemon)
    await mail(daemon, VICTIM, ROBOT, f"CONFIRM {token_of(confirmation)}\n")
    mails = await wait_for_mail(config, VICTIM, 4)
    assert {str(w.message["Subject"]) for w in mails[2:]} == {
        f"Welcome to {NEWS}", "Results of your commands"}
    assert member(db, VICTIM) is not None


UNMARKED = "Thank you for your message. I will read it as soon as possible.\n"


async def test_an_auto_responder_cannot_confirm_and_is_told_how_once(
        daemon: Daemon, db: Database, config: Config) -> None:
    """Mallory subscribes the victim, whose responder answers every mail at once, marking
    nothing (no Auto-Submitted, no X-Autoreply)."""
    make_list(db, config, NEWS, template="newsletter")
    await mail(daemon, VICTIM, ROBOT, "SUBSCRIBE news\n", envelope_sender="mallory@example.com")
    (request,) = await wait_for_mail(config, VICTIM, 1)
    answer_to = confirm_address(request)
    reply_subject = f"Re: {request.message['Subject']}"
    quoted = "".join(f"> {line}\n" for line in body(request).splitlines())
    # Seconds after the request: too soon for a person, whatever it says.
    await mail(daemon, VICTIM, answer_to, UNMARKED + quoted, subject=reply_subject)
    told = (await wait_for_mail(config, VICTIM, 2))[1]
    assert "this answer looks automatic (answered within seconds" in body(told)
    assert f"CONFIRM {token_of(request)}" in body(told)
    assert member(db, VICTIM) is None

    # Later, out-of-office phrasing (several languages) and auto-reply subjects: refused, and
    # not told again.
    reads_it(daemon)
    for subject, text in ((reply_subject, "I am out of the office until Monday.\n"),
                          (reply_subject, "Je suis absente jusqu'au 3 juin.\n"),
                          (reply_subject, "Ich bin derzeit nicht im Büro.\n"),
                          (reply_subject, "Estaré ausente hasta el lunes.\n"),
                          (f"Automatic reply: {request.message['Subject']}", UNMARKED)):
        await mail(daemon, VICTIM, answer_to, text, subject=subject)
    # Marked by its headers: the robot does not even answer.
    await mail(daemon, VICTIM, answer_to, UNMARKED, subject=reply_subject,
               headers="X-Autoreply: yes\r\n")
    await settle(db, 8)
    assert len(written_to(config, VICTIM)) == 2
    assert member(db, VICTIM) is None

    # Another address that got hold of the token cannot use it either.
    await mail(daemon, "mallory@example.com", answer_to, "yes\n", subject=reply_subject)
    refusal = (await wait_for_mail(config, "mallory@example.com", 1))[0]
    assert "must be answered from the address it was sent to" in body(refusal)

    # The person answers, quoting the request: that is taken.
    await mail(daemon, f"Victim <{VICTIM}>", answer_to, f"Yes, that was me.\n\n{quoted}",
               subject=reply_subject)
    welcome = (await wait_for_mail(config, VICTIM, 3))[2]
    assert str(welcome.message["Subject"]) == f"Welcome to {NEWS}"
    assert member(db, VICTIM) is not None


async def test_a_person_writing_confirm_is_taken(daemon: Daemon, db: Database,
                                                 config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(VICTIM,))
    await mail(daemon, VICTIM, ROBOT, "SIGNOFF news\n")
    (request,) = await wait_for_mail(config, VICTIM, 1)
    reads_it(daemon)
    await mail(daemon, VICTIM, ROBOT, f"CONFIRM {token_of(request)}\nThanks.\n")
    await wait_for_mail(config, VICTIM, 3)
    assert member(db, VICTIM) is None
