"""Moderation by mail end to end: a post held through the listener, decided by a moderator's
reply to the real notice or by DISTRIBUTE / REJECT / DISCARD, each decision taken once."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import select

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.lists import set_list_setting
from listd.models import AuditEntry, HeldMessage, HeldState
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.maildir import Written
from tests.support.outbox import outcomes, sent_to, settle
from tests.support.robot import body, mail, wait_for_mail

DOMAIN = "lists.example.org"
LIST = f"club@{DOMAIN}"
ROBOT = f"listd@{DOMAIN}"
OWNER = "owner@example.org"
MOD = "mod@example.org"
MOD2 = "mod2@example.org"
BOB = "bob@example.org"
STRANGER = "stranger@example.net"


def subject(written: Written) -> str:
    return " ".join(str(written.message["Subject"]).split())


async def held_post(daemon: Daemon, db: Database, config: Config, *,
                    moderators: tuple[str, ...] = (MOD,), language: str = "en",
                    title: str = "Hello") -> tuple[HeldMessage, Written]:
    """A stranger's post to a discussion list, held; the first moderator's notice."""
    make_list(db, config, LIST, owners=(OWNER,), subscribers=(BOB,), moderators=moderators,
              language=language)
    await in_thread(post, daemon.port, STRANGER, LIST, title, "From outside.\n")
    notice, = await wait_for_mail(config, (moderators or (OWNER,))[0], 1, "the notice")
    with db.session() as session:
        return session.scalars(select(HeldMessage)).one(), notice


async def reply_to_notice(daemon: Daemon, notice: Written, sender: str,
                          headers: str = "", text: str = "OK for me.\n") -> None:
    """What a moderator's mail program sends on Reply: to the notice's Reply-To, quoting it."""
    quoted = "".join(f"> {line}\n" for line in body(notice).splitlines())
    await mail(daemon, f"Someone <{sender}>", str(notice.message["Reply-To"]),
               f"{text}\n{quoted}", subject=f"Re: {notice.message['Subject']}",
               headers=f"In-Reply-To: {notice.message['Message-ID']}\r\n{headers}")


def state_of(db: Database, held_id: int) -> HeldState:
    with db.session() as session:
        held = session.get(HeldMessage, held_id)
        assert held is not None
        return held.state


def decisions(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        return [(a.actor, a.action) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("held.%")).order_by(AuditEntry.id))]


async def test_a_reply_to_the_notice_approves_and_the_post_is_distributed(
        daemon: Daemon, db: Database, config: Config) -> None:
    held, notice = await held_post(daemon, db, config)
    assert str(notice.message["Reply-To"]) == f"club-confirm+{held.token}@{DOMAIN}"
    # The poster is told the post waits, once, and nothing reached the list.
    waiting, = await wait_for_mail(config, STRANGER, 1)
    assert subject(waiting) == f"Your post to {LIST} waits for a moderator: Hello"
    assert "There is no need to send it again" in body(waiting)
    assert sent_to(config, BOB) == []

    # A vacation responder answering the notice from the moderator's own address: nothing.
    await reply_to_notice(daemon, notice, MOD, "Auto-Submitted: auto-replied\r\n",
                          "I am away until Monday.")
    # The owner may not decide when the list has moderators.
    await reply_to_notice(daemon, notice, OWNER)
    refused, = await wait_for_mail(config, OWNER, 1)
    assert f"Refused: {OWNER} is not a moderator of {LIST}." in body(refused)
    await settle(db, 3)
    assert state_of(db, held.id) is HeldState.HELD
    assert len(sent_to(config, MOD)) == 1  # the responder got no answer
    assert outcomes(db)[1] == "not answered: marked Auto-Submitted"

    await reply_to_notice(daemon, notice, MOD)
    await settle(db, 4)
    assert [subject(w) for w in sent_to(config, BOB)] == ["[club] Hello"]
    answer = sent_to(config, MOD)[1]
    assert f"Done: the post of {STRANGER} to {LIST} (#{held.id}) is approved" in body(answer)
    assert state_of(db, held.id) is HeldState.APPROVED
    assert decisions(db) == [(MOD, "held.approved")]
    # Approving says nothing more to the poster: the post itself reaches them if subscribed.
    assert len(sent_to(config, STRANGER)) == 1


async def test_reject_by_command_sends_the_reason_to_the_poster_only(
        daemon: Daemon, db: Database, config: Config) -> None:
    held, notice = await held_post(daemon, db, config, title="Cheap watches")
    assert f"REJECT {held.token} your reason" in body(notice)
    await mail(daemon, MOD, ROBOT, f"REJECT {held.token} off topic here\n")
    answer, = (await wait_for_mail(config, MOD, 2))[1:]
    assert (f"Done: the post of {STRANGER} to {LIST} (#{held.id}) is rejected; "
            "they were sent your reason.") in body(answer)
    await settle(db, 2)
    _waiting, rejected = sent_to(config, STRANGER)
    assert subject(rejected) == f"Your post to {LIST} was rejected: Cheap watches"
    assert "Reason given: off topic here" in body(rejected)
    assert sent_to(config, BOB) == []

    # Decided once: a late DISTRIBUTE, or a reply to the notice, changes nothing.
    await mail(daemon, MOD, ROBOT, f"DISTRIBUTE {held.token}\n")
    await reply_to_notice(daemon, notice, MOD)
    mails = await wait_for_mail(config, MOD, 4)
    for late in mails[2:]:
        assert f"Refused: held post #{held.id} was already rejected by {MOD}." in body(late)
    await settle(db, 4)
    assert sent_to(config, BOB) == []
    assert decisions(db) == [(MOD, "held.rejected")]


async def test_forged_tokens_and_strangers_decide_nothing(
        daemon: Daemon, db: Database, config: Config) -> None:
    held, _notice = await held_post(daemon, db, config)
    forged = "0" * len(held.token)
    await mail(daemon, MOD, ROBOT, f"DISTRIBUTE {forged}\nREJECT {forged} no\nDISTRIBUTE\n")
    answer = (await wait_for_mail(config, MOD, 2))[1]
    assert body(answer).count("Refused: no held post matches this token") == 2
    assert "Refused: usage: DISTRIBUTE [list] token" in body(answer)
    # A forged token at the confirm address, and the right token at another list's address.
    make_list(db, config, f"other@{DOMAIN}")
    await mail(daemon, MOD, f"club-confirm+{forged}@{DOMAIN}", "ok\n")
    await mail(daemon, MOD, f"other-confirm+{held.token}@{DOMAIN}", "ok\n")
    for answer in (await wait_for_mail(config, MOD, 4))[2:]:
        assert "Refused: this confirmation is not known here" in body(answer)
    # A stranger holding the real token (the notice was forwarded to them).
    await mail(daemon, "mallory@example.net", ROBOT, f"DISTRIBUTE {held.token}\n")
    refused, = await wait_for_mail(config, "mallory@example.net", 1)
    assert f"Refused: mallory@example.net is not a moderator of {LIST}." in body(refused)
    await settle(db, 5)
    assert state_of(db, held.id) is HeldState.HELD
    assert sent_to(config, BOB) == [] and decisions(db) == []


async def test_two_moderators_replying_at_once_give_one_delivery(
        daemon: Daemon, db: Database, config: Config) -> None:
    _held, notice = await held_post(daemon, db, config, moderators=(MOD, MOD2))
    notice2, = await wait_for_mail(config, MOD2, 1)
    await asyncio.gather(reply_to_notice(daemon, notice, MOD),
                         reply_to_notice(daemon, notice2, MOD2))
    await settle(db, 3)
    assert [subject(w) for w in sent_to(config, BOB)] == ["[club] Hello"]
    answers = [body(w) for who in (MOD, MOD2) for w in sent_to(config, who)[1:]]
    assert len(answers) == 2
    assert sum("is approved and goes to the list" in text for text in answers) == 1
    assert sum("was already approved by" in text for text in answers) == 1
    assert [action for _, action in decisions(db)] == ["held.approved"]


async def test_discard_and_owners_moderate_a_list_without_moderators(
        daemon: Daemon, db: Database, config: Config) -> None:
    held, notice = await held_post(daemon, db, config, moderators=())
    assert str(notice.message["Reply-To"]).startswith("club-confirm+")
    await mail(daemon, OWNER, f"club-request@{DOMAIN}", f"DISCARD {held.token} spam\n")
    answer = (await wait_for_mail(config, OWNER, 2))[1]
    assert f"Done: the post of {STRANGER} to {LIST} (#{held.id}) is discarded" in body(answer)
    await settle(db, 2)
    assert len(sent_to(config, STRANGER)) == 1  # only the first "waits" notice
    assert decisions(db) == [(OWNER, "held.discarded")]


async def test_automatic_posts_are_held_without_telling_anyone_back(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, LIST, subscribers=(BOB,), moderators=(MOD,))
    await in_thread(post, daemon.port, "newsletter@example.net", LIST, "Our offers", "x\n",
                    "Precedence: bulk\r\n")
    await wait_for_mail(config, MOD, 1, "the notice")
    await settle(db)
    assert sent_to(config, "newsletter@example.net") == []
    assert outcomes(db)[0].endswith("; the poster was not told")
    # A list can keep quiet towards every poster (spam with forged From: gets no mail back).
    with db.session() as session:
        set_list_setting(session, LIST, "held_notice", "false")
    await in_thread(post, daemon.port, STRANGER, LIST, "Hello", "x\n")
    await wait_for_mail(config, MOD, 2, "the second notice")
    await settle(db, 2)
    assert sent_to(config, STRANGER) == []


async def test_french_list_moderation_by_mail(daemon: Daemon, db: Database,
                                              config: Config) -> None:
    held, notice = await held_post(daemon, db, config, language="fr", title="Bonjour")
    assert subject(notice) == f"En attente de modération sur {LIST} : Bonjour"
    waiting, = await wait_for_mail(config, STRANGER, 1)
    assert subject(waiting) == f"Votre message à {LIST} attend un modérateur : Bonjour"
    await mail(daemon, MOD, f"club-request@{DOMAIN}", f"REJECT {held.token} hors sujet\n")
    answer = (await wait_for_mail(config, MOD, 2))[1]
    assert f"Fait : le message de {STRANGER} à {LIST} (n° {held.id}) est refusé" in body(answer)
    rejected = (await wait_for_mail(config, STRANGER, 2))[1]
    assert subject(rejected) == f"Votre message à {LIST} a été refusé : Bonjour"
    await reply_to_notice(daemon, notice, MOD)
    late = (await wait_for_mail(config, MOD, 3))[2]
    assert f"Refusé : le message retenu n° {held.id} a déjà été refusé par {MOD}." in body(late)


async def test_a_busy_moderator_past_the_robot_limit_still_approves(
        db: Database, config: Config, clock: OffsetClock) -> None:
    limited = dataclasses.replace(config, robot_mails_per_hour=1)
    daemon = Daemon(Runtime.create(limited, db, clock))
    await daemon.start()
    try:
        held, notice = await held_post(daemon, db, limited)
        await mail(daemon, MOD, ROBOT, "HELP\n")  # the moderator's share of robot mail
        await wait_for_mail(limited, MOD, 2)
        await reply_to_notice(daemon, notice, MOD)
        await settle(db, 3)
        assert [subject(w) for w in sent_to(limited, BOB)] == ["[club] Hello"]
        assert len(sent_to(limited, MOD)) == 2  # approved, but not answered
        assert outcomes(db)[2] == (f"not answered: {MOD} had 1 robot mails in the last hour; "
                                   "carried out: 1 done")
        assert state_of(db, held.id) is HeldState.APPROVED
    finally:
        await daemon.stop()
