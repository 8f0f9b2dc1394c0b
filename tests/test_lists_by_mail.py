"""Lists by mail end to end: CREATELIST from anyone, decided by a listmaster's answer."""

from __future__ import annotations

from sqlalchemy import select

from listd import members
from listd.commands.list_requests import BadRequest, parse_request
from listd.config import Config
from listd.database import Database
from listd.lists import find_list
from listd.models import AuditEntry, ListStatus
from listd.serve import Daemon
from tests.support.client import in_thread, post
from tests.support.maildir import Written
from tests.support.outbox import settle
from tests.support.robot import (
    body,
    mail,
    reads_it,
    wait_for_mail,
    written_to,
)
from tests.test_smtp_in import rcpt_reply

DOMAIN = "lists.example.org"
NEWS = f"news@{DOMAIN}"
ROBOT = f"listd@{DOMAIN}"
LISTMASTER = "listmaster@example.org"
CAROL = "carol@example.net"
ALICE = "alice@example.org"


def status(db: Database, address: str = NEWS) -> ListStatus:
    with db.session() as session:
        return find_list(session, address).status


def subject(written: Written) -> str:
    return " ".join(str(written.message["Subject"]).split())


def test_the_createlist_line_is_read_with_or_without_quotes() -> None:
    read = parse_request(("news", "newsletter", '"Association', 'news"', "Alice@Example.org",
                          "bob@example.org"), DOMAIN)
    assert (read.address, read.template, read.subject, read.owners) == (
        NEWS, "newsletter", "Association news", ("alice@example.org", "bob@example.org"))
    read = parse_request((f"news@{DOMAIN}", "discussion", "«Talk»", "<a@example.org>"), DOMAIN)
    assert (read.subject, read.owners) == ("Talk", ("a@example.org",))
    assert parse_request(("news", "discussion", "a@example.org"), DOMAIN).subject == ""
    for bad in [("news", "discussion"), ("news", "discussion", "no", "owner"),
                ("news", "discussion", "x@")]:
        try:
            parse_request(bad, DOMAIN)
        except BadRequest:
            continue
        raise AssertionError(f"{bad} was read")


async def test_a_list_requested_by_mail_is_approved_by_a_listmaster_by_mail(
        daemon: Daemon, db: Database, config: Config) -> None:
    await mail(daemon, CAROL, ROBOT,
               f'CREATELIST news newsletter "Association news" {ALICE} bob@example.org\n')
    reply, = await wait_for_mail(config, CAROL, 1)
    assert (f"Waiting: your request for {NEWS} was sent to the listmasters"
            in body(reply))
    notice, = await wait_for_mail(config, LISTMASTER, 1)
    assert subject(notice) == f"List request: {NEWS}"
    text = body(notice)
    assert f"{CAROL} asks for a new list" in text
    assert "Template:  newsletter" in text and "Subject:   Association news" in text
    assert f"Owners:    {ALICE}, bob@example.org" in text
    approve_at = str(notice.message["Reply-To"])
    assert approve_at.startswith("listd-confirm+") and approve_at in text
    # Until approved, the list refuses all mail at RCPT.
    assert status(db) is ListStatus.PENDING
    assert (await in_thread(rcpt_reply, daemon.port, NEWS)).startswith("550 5.1.1")

    # The token leaked (the notice was forwarded): a non-listmaster's answer is refused,
    # and leaves the token good for a listmaster.
    reads_it(daemon)
    await mail(daemon, CAROL, approve_at, "yes\n", subject=f"Re: {notice.message['Subject']}")
    refused = (await wait_for_mail(config, CAROL, 2))[1]
    assert "Refused: only a listmaster may decide on a list request." in body(refused)
    token = approve_at.split("+", 1)[1].split("@", 1)[0]
    await mail(daemon, ALICE, ROBOT, f"CONFIRM {token}\n")
    refused, = await wait_for_mail(config, ALICE, 1)
    assert "Refused: only a listmaster may decide" in body(refused)
    await settle(db)
    assert status(db) is ListStatus.PENDING

    await mail(daemon, f"The Listmaster <{LISTMASTER}>", approve_at, "Fine.\n",
               subject=f"Re: {notice.message['Subject']}")
    done = (await wait_for_mail(config, LISTMASTER, 2))[1]
    assert f"Done: the list {NEWS} is now open; the requester and the owners were told." \
        in body(done)
    for told in (CAROL, ALICE, "bob@example.org"):
        mails = await wait_for_mail(config, told, 3 if told == CAROL else 2 if told == ALICE
                                    else 1)
        assert subject(mails[-1]) == f"Your list {NEWS} is open"
    assert status(db) is ListStatus.ACTIVE
    with db.session() as session:
        assert session.scalar(select(AuditEntry.actor).where(
            AuditEntry.action == "list.active")) == LISTMASTER
        assert session.scalar(select(AuditEntry.actor).where(
            AuditEntry.action == "list.requested")) == CAROL
        members.add_member(session, find_list(session, NEWS), "reader@example.net")

    # The list now takes mail: an owner's post reaches the subscriber.
    await in_thread(post, daemon.port, ALICE, NEWS, "Issue 1", "News.\n")
    delivered, = await wait_for_mail(config, "reader@example.net", 1)
    assert subject(delivered) == "[news] Issue 1"
    # The refusal token died with the approval.
    refuse_token = text.split("CONFIRM ")[2].split()[0]
    await mail(daemon, LISTMASTER, ROBOT, f"CONFIRM {refuse_token}\n")
    late = (await wait_for_mail(config, LISTMASTER, 3))[2]
    assert "Refused: this confirmation was already used." in body(late)
    assert status(db) is ListStatus.ACTIVE


async def test_a_listmaster_refuses_and_bad_requests_are_answered(
        daemon: Daemon, db: Database, config: Config) -> None:
    await mail(daemon, CAROL, ROBOT,
               "CREATELIST news\n"
               f"CREATELIST news-owner discussion {ALICE}\n"
               f"CREATELIST other nosuchtemplate {ALICE}\n"
               f"CREATELIST news discussion Talk about news {ALICE}\n")
    reply, = await wait_for_mail(config, CAROL, 1)
    text = body(reply)
    assert "> CREATELIST news\nRefused: usage: CREATELIST list@domain template" in text
    assert "Refused: invalid list name 'news-owner'" in text
    assert "nosuchtemplate" in text.split("> CREATELIST other")[1].split(">")[0]
    assert f"Waiting: your request for {NEWS} was sent to the listmasters" in text
    notice, = await wait_for_mail(config, LISTMASTER, 1)
    refuse_at = next(line.split()[-1].rstrip(",") for line in body(notice).splitlines()
                     if "To refuse it, send a mail to" in line)
    reads_it(daemon)
    await mail(daemon, LISTMASTER, refuse_at, "no\n")
    done = (await wait_for_mail(config, LISTMASTER, 2))[1]
    assert f"Done: the list {NEWS} was refused" in body(done)
    refused = (await wait_for_mail(config, CAROL, 2))[1]
    assert subject(refused) == f"Your list request {NEWS} was refused"
    assert status(db) is ListStatus.REJECTED
    assert (await in_thread(rcpt_reply, daemon.port, NEWS)).startswith("550 5.1.1")
    assert len(written_to(config, ALICE)) == 1
