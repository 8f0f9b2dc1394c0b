"""The loop breaker, end to end: an unmarked vacation responder on a DMARC-munged discussion
list, and a person who answers quickly."""

from __future__ import annotations

import asyncio
import datetime as dt
from email.utils import parseaddr

from sqlalchemy import select

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.models import HeldMessage, InboundMessage, InboundState
from listd.posting.answer_loop import AnswerRhythm
from listd.posting.post import Post
from listd.posting.rules.answer_loop import AnswerLoop
from listd.serve import Daemon
from listd.settings import ListSettings
from tests.support.dns_server import Zone
from tests.support.lists import make_list
from tests.support.maildir import Written
from tests.support.outbox import outbox, settle
from tests.support.robot import mail, wait_for_mail, written_to
from tests.support.waiting import wait_until

DOMAIN = "lists.example.org"
NEWS = f"news@{DOMAIN}"
OWNER = "owner@example.org"
PAUL = "paul@strict.example"
AWAY = "away@strict.example"
QUIET = "quiet@example.net"
# A responder that marks nothing and says nothing a rule could read as automatic.
UNMARKED = "Thank you for your message. I will read it as soon as possible.\n"
# Without a loop breaker the responder below would answer for ever; it stops here.
SAFETY_CAP = 40


def list_copies(config: Config, recipient: str | None = None) -> list[Written]:
    """The copies of posts the list sent (VERP envelope senders), to RECIPIENT or to all."""
    return [w for w in outbox(config) if w.sender.startswith("news-bounces+")
            and (recipient is None or w.recipient == recipient)]


class Responder:
    """AWAY's vacation responder: answers every mail at once, to its From:, as 'Re: …'."""

    def __init__(self, daemon: Daemon, config: Config) -> None:
        self.daemon, self.config = daemon, config
        self.answered: set[str] = set()
        self.stop = asyncio.Event()

    def unanswered(self) -> list[Written]:
        return [w for w in written_to(self.config, AWAY)
                if str(w.message["Message-ID"]) not in self.answered]

    async def run(self) -> None:
        while not self.stop.is_set() and len(self.answered) < SAFETY_CAP:
            await wait_until(lambda: self.unanswered() or self.stop.is_set(), timeout=60,
                             what="mail for the responder")
            for written in self.unanswered():
                await self.answer(written)

    async def answer(self, written: Written) -> None:
        message_id = str(written.message["Message-ID"])
        self.answered.add(message_id)
        to = parseaddr(str(written.message["From"]))[1]
        await mail(self.daemon, f"Away <{AWAY}>", to, UNMARKED,
                   subject=f"Re: {written.message['Subject']}",
                   headers=f"In-Reply-To: {message_id}\r\nReferences: {message_id}\r\n")


def handled(db: Database) -> int:
    """How many received mails listd has finished with."""
    with db.session() as session:
        return len(list(session.scalars(select(InboundMessage.id).where(
            InboundMessage.state.not_in((InboundState.QUEUED, InboundState.PROCESSING))))))


async def quiet(db: Database, responder: Responder, posts: int) -> None:
    """Wait until listd has handled every post and answer and the responder has nothing left
    to answer; or until the responder gave up at SAFETY_CAP (a loop nothing broke)."""
    def everything_handled() -> bool:
        return handled(db) >= posts + len(responder.answered)

    while len(responder.answered) < SAFETY_CAP:
        await wait_until(everything_handled, timeout=30, what="every post and answer handled")
        await settle(db)
        if everything_handled() and not responder.unanswered():
            return
        await wait_until(lambda: not responder.unanswered()
                         or len(responder.answered) >= SAFETY_CAP,
                         timeout=30, what="the responder to answer")


async def test_an_unmarked_responder_on_a_munged_list_makes_a_bounded_number_of_copies(
        daemon: Daemon, db: Database, config: Config, zone: Zone) -> None:
    zone["_dmarc.strict.example"] = {"TXT": ['"v=DMARC1; p=reject"']}
    make_list(db, config, NEWS, template="discussion", owners=(OWNER,),
              subscribers=(PAUL, AWAY, QUIET))
    responder = Responder(daemon, config)
    task = asyncio.create_task(responder.run())
    try:
        await mail(daemon, f"Paul <{PAUL}>", NEWS, "Shall we meet on Friday?\n",
                   subject="Meeting")
        await quiet(db, responder, posts=1)
    finally:
        responder.stop.set()
        await task
    # DMARC mitigation put the list in From:, so the responder answered the list.
    first = list_copies(config, AWAY)[0]
    assert parseaddr(str(first.message["From"]))[1] == NEWS
    # Paul's post and the responder's first two answers went out; the third was held.
    assert len(list_copies(config, QUIET)) == 3
    assert len(list_copies(config)) == 9
    with db.session() as session:
        held = list(session.scalars(select(HeldMessage)))
    assert [(h.sender, h.rule) for h in held] == [(AWAY, "answer-loop")]
    await wait_for_mail(config, OWNER, 1, "the owners' notice")
    await settle(db)
    notices = [w for w in written_to(config, OWNER)
               if str(w.message["Subject"]).startswith("Held for moderation")]
    assert len(notices) == 1
    # The responder was not written to about its held post (it would answer that too).
    assert all("Held" not in str(w.message["Subject"]) for w in written_to(config, AWAY))


async def test_a_person_replying_twice_in_a_minute_is_not_held(
        daemon: Daemon, db: Database, config: Config, clock: OffsetClock, zone: Zone) -> None:
    zone["_dmarc.strict.example"] = {"TXT": ['"v=DMARC1; p=reject"']}
    make_list(db, config, NEWS, template="discussion", owners=(OWNER,),
              subscribers=(PAUL, QUIET))
    await mail(daemon, QUIET, NEWS, "Who comes on Friday?\n", subject="Friday")
    await settle(db)
    (copy,) = list_copies(config, PAUL)
    message_id = str(copy.message["Message-ID"])
    # Paul answers at once, then adds a correction seconds later: both quick, both pass.
    for text in ("I do.\n", "Sorry, Saturday only.\n"):
        await mail(daemon, PAUL, NEWS, text, subject="Re: [news] Friday",
                   headers=f"In-Reply-To: {message_id}\r\n")
        clock.advance(dt.timedelta(seconds=20))
    await settle(db, 3)
    assert len(list_copies(config, QUIET)) == 3
    with db.session() as session:
        assert session.scalar(select(HeldMessage.id)) is None


def test_the_rule_holds_from_the_third_quick_answer() -> None:
    def post(quick: bool, before: int) -> Post:
        return Post(list_address=NEWS, robot_address=f"listd@{DOMAIN}",
                    settings=ListSettings(), size=100, posters=(AWAY,),
                    rhythm=AnswerRhythm(quick=quick, quick_before=before))

    rule = AnswerLoop()
    assert rule.check(post(True, 0)) is None and rule.check(post(True, 1)) is None
    assert rule.check(post(False, 10)) is None
    held = rule.check(post(True, 2))
    assert held is not None and held.rule == "answer-loop"
    assert AnswerLoop.first_hold(post(True, 2)) and not AnswerLoop.first_hold(post(True, 3))
