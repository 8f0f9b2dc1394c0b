"""Digests end to end through the daemon: each member gets each post once, in their form."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from sqlalchemy import select

from listd.clock import OffsetClock, utcnow
from listd.config import Config
from listd.database import Database
from listd.lists import find_list
from listd.members import find_member, set_delivery_mode
from listd.models import AuditEntry, DeliveryMode, Digest, DigestPost
from listd.serve import Daemon
from tests.conftest import CLI
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.maildir import Written
from tests.support.outbox import sent_to, settle
from tests.support.robot import body, confirm_address, mail, reads_it, wait_for_mail

DOMAIN = "lists.example.org"
NEWS = f"news@{DOMAIN}"
POSTER = "poster@example.org"
READERS = {mode: f"{mode.value}@example.net" for mode in DeliveryMode}


def at(clock: OffsetClock, moment: dt.datetime) -> None:
    clock.offset = moment - utcnow()


def make_news(db: Database, config: Config, **settings: object) -> None:
    make_list(db, config, NEWS, subscribers=(POSTER, *READERS.values()), **settings)
    with db.session() as session:
        mailing_list = find_list(session, NEWS)
        for mode, address in READERS.items():
            set_delivery_mode(session, mailing_list, address, mode)


async def send_post(daemon: Daemon, db: Database, subject: str, count: int) -> None:
    await in_thread(post, daemon.port, POSTER, NEWS, subject, f"Text of {subject}.\n")
    await settle(db, count)


def digest_parts(written: Written) -> list[EmailMessage]:
    """The posts of a MIME digest: the message/rfc822 parts of its multipart/digest."""
    (digest,) = [p for p in written.message.walk()
                 if p.get_content_type() == "multipart/digest"]
    posts = []
    for part in digest.iter_parts():  # type: ignore[attr-defined]
        assert part.get_content_type() == "message/rfc822"
        (inner,) = part.iter_parts()
        posts.append(inner)
    return posts


def plain_posts(written: Written) -> list[str]:
    """The messages of an RFC 1153 digest, between its separators."""
    text = body(written)
    _toc, sep, rest = text.partition("\n" + "-" * 70 + "\n")
    assert sep, text
    chunks = rest.split("\n" + "-" * 30 + "\n")
    assert chunks[-1].strip().startswith("End of [news] Digest"), chunks[-1]
    end_line, stars = chunks[-1].strip().splitlines()[:2]
    assert stars == "*" * len(end_line)
    return [c.strip() for c in chunks[:-1]]


async def test_digests_on_schedule_over_two_days(daemon: Daemon, db: Database, config: Config,
                                                 clock: OffsetClock) -> None:
    # Tomorrow at 10:00: the clock only moves forward (mail received now must be due).
    day1 = (utcnow() + dt.timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    at(clock, day1)
    make_news(db, config, digest_hour=7)
    await send_post(daemon, db, "First", 1)
    await send_post(daemon, db, "Second", 2)
    at(clock, day1 + dt.timedelta(hours=20))  # day 2, 06:00: not yet
    await send_post(daemon, db, "Third", 3)
    for mode in (DeliveryMode.DIGEST, DeliveryMode.DIGESTPLAIN, DeliveryMode.SUMMARY):
        assert sent_to(config, READERS[mode]) == []
    at(clock, day1 + dt.timedelta(hours=21, minutes=1))  # day 2, 07:01
    await wait_for_mail(config, READERS[DeliveryMode.SUMMARY], 1, "the first digest")
    await send_post(daemon, db, "Fourth", 4)
    at(clock, day1 + dt.timedelta(days=1, hours=21, minutes=1))  # day 3, 07:01
    await wait_for_mail(config, READERS[DeliveryMode.SUMMARY], 2, "the second digest")
    await settle(db, 4)

    each = sent_to(config, READERS[DeliveryMode.MAIL])
    assert sorted(str(w.message["Subject"]) for w in each) == [
        "[news] First", "[news] Fourth", "[news] Second", "[news] Third"]
    assert sent_to(config, READERS[DeliveryMode.NOMAIL]) == []

    mime = sent_to(config, READERS[DeliveryMode.DIGEST])
    assert [str(w.message["Subject"]) for w in mime] == [
        "[news] Digest, Vol 1, Issue 1", "[news] Digest, Vol 1, Issue 2"]
    assert [[str(p["Subject"]) for p in digest_parts(w)] for w in mime] == [
        ["First", "Second", "Third"], ["Fourth"]]
    first = digest_parts(mime[0])[0]
    assert str(first["From"]) == POSTER and "Text of First." in str(first.get_content())
    toc = mime[0].message.get_body(preferencelist=("plain",))
    assert toc is not None and "1. First" in str(toc.get_content())

    plain = sent_to(config, READERS[DeliveryMode.DIGESTPLAIN])
    assert len(plain) == 2
    posts = plain_posts(plain[0])
    assert [p.split("Subject: ")[1].splitlines()[0] for p in posts] == [
        "First", "Second", "Third"]
    # RFC 1153's header order: Date (when the post has one), From, Subject.
    assert posts[0].startswith("From: poster@example.org\nSubject: First\n"), posts[0]
    assert "Text of Second." in posts[1]

    summary = sent_to(config, READERS[DeliveryMode.SUMMARY])
    text = body(summary[0])
    assert "1. First" in text and "3. Third" in text and "Fourth" not in text
    for written in mime + plain + summary:
        # Like a post: VERP envelope, list headers, unsubscribe.
        assert written.sender.startswith("news-bounces+"), written.sender
        assert str(written.message["List-Id"]).endswith("<news.lists.example.org>")
        assert "news-leave@" in str(written.message["List-Unsubscribe"])
    with db.session() as session:
        assert session.scalar(select(DigestPost.id).where(DigestPost.digest_id.is_(None))) \
            is None
        assert [(d.volume, d.issue, d.posts) for d in session.scalars(
            select(Digest).order_by(Digest.id))] == [(1, 1, 3), (1, 2, 1)]


async def test_a_digest_goes_out_when_the_count_threshold_is_passed(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_news(db, config, digest_frequency="never", digest_max_posts=3)
    await send_post(daemon, db, "One", 1)
    await send_post(daemon, db, "Two", 2)
    assert sent_to(config, READERS[DeliveryMode.DIGEST]) == []
    await send_post(daemon, db, "Three", 3)
    (digest,) = await wait_for_mail(config, READERS[DeliveryMode.DIGEST], 1)
    assert [str(p["Subject"]) for p in digest_parts(digest)] == ["One", "Two", "Three"]


async def test_a_digest_goes_out_when_the_size_threshold_is_passed(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_news(db, config, digest_frequency="never", digest_max_kb=2)
    await in_thread(post, daemon.port, POSTER, NEWS, "Long", "many words\r\n" * 200)
    (digest,) = await wait_for_mail(config, READERS[DeliveryMode.DIGESTPLAIN], 1)
    assert "many words" in body(digest)


async def test_digest_keeps_a_dmarc_protected_author_visible(
        daemon: Daemon, db: Database, config: Config,
        zone: dict[str, dict[str, list[str]]]) -> None:
    zone["_dmarc.strict.example"] = {"TXT": ['"v=DMARC1; p=reject"']}
    author = "alice@strict.example"
    make_news(db, config, posting="anyone", digest_frequency="never", digest_max_posts=1)
    await in_thread(post, daemon.port, author, NEWS, "Protected")
    (digest,) = await wait_for_mail(config, READERS[DeliveryMode.DIGEST], 1)
    (plain,) = await wait_for_mail(config, READERS[DeliveryMode.DIGESTPLAIN], 1)
    (copy,) = sent_to(config, READERS[DeliveryMode.MAIL])
    assert author not in str(copy.message["From"])  # munged in the per-post copy
    (part,) = digest_parts(digest)
    assert str(part["From"]) == author
    assert f"From: {author}" in body(plain)


def test_digest_send_cli(listd_cli: CLI, db: Database, config: Config) -> None:
    make_news(db, config, digest_frequency="never")
    with db.session() as session:
        mailing_list = find_list(session, NEWS)
        session.add(DigestPost(list_id=mailing_list.id, raw=b"Subject: waiting\r\n\r\nx\r\n",
                               size=20, created_at=utcnow()))
    assert "0 digests queued" in listd_cli.ok("digest", "send").stdout
    sent = listd_cli.ok("digest", "send", NEWS, "--now").stdout
    assert f"{NEWS}: vol 1 issue 1, 1 posts" in sent
    assert "0 digests queued" in listd_cli.ok("digest", "send", "--now").stdout
    with db.session() as session:
        (entry,) = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "digest.built")).all()
        assert entry.actor == "cli" and entry.detail == {"volume": 1, "issue": 1, "posts": 1}
    result = listd_cli("digest", "send", f"nolist@{DOMAIN}")
    assert result.exit_code == 1 and "no list nolist@" in result.stderr


async def test_mailman_join_with_digest_plain(daemon: Daemon, db: Database,
                                             config: Config) -> None:
    jeanne = "jeanne@example.net"
    make_list(db, config, NEWS)
    await mail(daemon, jeanne, f"news-request@{DOMAIN}", "join digest=plain Jeanne\n")
    # The confirmation only: a request made in someone's name gets no results reply besides.
    (confirmation,) = await wait_for_mail(config, jeanne, 1)
    assert "-confirm+" in str(confirmation.message["From"])
    reads_it(daemon)
    await mail(daemon, jeanne, confirm_address(confirmation), "ok\n",
               subject="Re: " + str(confirmation.message["Subject"]))
    await wait_for_mail(config, jeanne, 2, "the welcome")
    with db.session() as session:
        member = find_member(session, find_list(session, NEWS), jeanne)
        assert member is not None and member.delivery_mode is DeliveryMode.DIGESTPLAIN
        assert member.display_name == "Jeanne"
    await mail(daemon, "paul@example.net", f"news-request@{DOMAIN}", "join digest=weekly\n")
    (reply,) = await wait_for_mail(config, "paul@example.net", 1)
    assert "Refused: usage: SUBSCRIBE list [Name] [digest=mime|plain|no] [address=X]" in body(reply)
