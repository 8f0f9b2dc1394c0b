"""The command robot end to end: real listener, real worker, confirmations read from the outbox."""

from __future__ import annotations

import dataclasses
import datetime as dt

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.lists import find_list
from listd.members import find_member
from listd.models import DeliveryMode, Member
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.conftest import CLI
from tests.support.lists import make_list
from tests.support.outbox import outcomes, settle
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

DOMAIN = "lists.example.org"
NEWS = f"news@{DOMAIN}"
ROBOT = f"listd@{DOMAIN}"
REQUEST = f"news-request@{DOMAIN}"
JEANNE = "jeanne@example.net"
OWNER = "owner@example.org"


def member(db: Database, address: str, list_address: str = NEWS) -> Member | None:
    with db.session() as session:
        return find_member(session, find_list(session, list_address), address)


async def subscribe(daemon: Daemon, db: Database, config: Config, address: str,
                    name: str = "") -> None:
    """A full double opt-in round trip, by the book."""
    before = len(written_to(config, address))
    await mail(daemon, address, ROBOT, f"SUBSCRIBE news {name}\n")
    mails = await wait_for_mail(config, address, before + 1)
    confirmation = next(w for w in mails[before:] if is_confirmation(w))
    reads_it(daemon)
    await mail(daemon, address, confirm_address(confirmation), "ok\n",
               subject="Re: " + str(confirmation.message["Subject"]))
    await wait_for_mail(config, address, before + 2, "the welcome")


async def test_subscribe_confirm_by_reply_and_welcome(daemon: Daemon, db: Database,
                                                      config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter")
    await mail(daemon, f"Jeanne Dupont <{JEANNE}>", ROBOT, "SUBSCRIBE news Jeanne Dupont\n",
               subject="subscription")
    # The confirmation request is the only answer: the request may have been forged, and a
    # "Results of your commands" would be a second mail to the same mailbox.
    (confirmation,) = await wait_for_mail(config, JEANNE, 1)
    # The confirmation: in the list's context, answerable by a plain reply.
    assert confirmation.sender == f"news-bounces@{DOMAIN}"
    token = token_of(confirmation)
    assert str(confirmation.message["From"]) == f"news-confirm+{token}@{DOMAIN}"
    assert str(confirmation.message["Auto-Submitted"]) == "auto-replied"
    assert f"CONFIRM {token}" in body(confirmation)
    assert member(db, JEANNE) is None

    quoted = "".join(f"> {line}\n" for line in body(confirmation).splitlines())
    reads_it(daemon)
    await mail(daemon, f"Jeanne Dupont <{JEANNE}>", confirm_address(confirmation),
               f"Yes please.\n\n{quoted}", subject="Re: " + str(confirmation.message["Subject"]))
    mails = await wait_for_mail(config, JEANNE, 2, "the welcome")
    welcome = mails[1]
    assert str(welcome.message["Subject"]) == f"Welcome to {NEWS}"
    assert "Hello Jeanne Dupont," in body(welcome)
    assert welcome.sender == f"news-bounces@{DOMAIN}"
    # A newsletter's subscribers cannot post: the welcome does not invite them to.
    assert "To post" not in body(welcome) and "Only the owners post" in body(welcome)
    found = member(db, JEANNE)
    assert found is not None and found.display_name == "Jeanne Dupont"
    await settle(db)
    # The welcome says it all: no separate reply to the confirmation.
    assert len(written_to(config, JEANNE)) == 2


async def test_french_list_speaks_french(daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", language="fr")
    # On LIST-request@ the list may be left out; the command may be in lower case.
    # With a second command, so the mail gets a reply besides the confirmation request.
    await mail(daemon, f"Jeanne Dupont <{JEANNE}>", REQUEST, "subscribe\nwhich\n")
    mails = await wait_for_mail(config, JEANNE, 2)
    reply = next(w for w in mails if w.sender == f"news-bounces@{DOMAIN}"
                 and "-confirm+" not in str(w.message["From"]))
    confirmation = next(w for w in mails if "-confirm+" in str(w.message["From"]))
    assert str(reply.message["Subject"]) == "Résultat de vos commandes"
    assert "En attente : une demande de confirmation a été envoyée" in body(reply)
    assert str(confirmation.message["Subject"]).startswith(
        f"Confirmez votre abonnement à {NEWS}")
    # Confirmed by command this time, through the list's robot.
    reads_it(daemon)
    await mail(daemon, JEANNE, REQUEST, f"CONFIRM {token_of(confirmation)}\n")
    mails = await wait_for_mail(config, JEANNE, 4)
    subjects = {str(w.message["Subject"]) for w in mails[2:]}
    assert f"Bienvenue sur {NEWS}" in subjects
    answer = next(w for w in mails[2:] if str(w.message["Subject"]).startswith("Résultat"))
    assert f"Fait : {JEANNE} est maintenant abonné·e à {NEWS}." in body(answer)
    found = member(db, JEANNE)
    assert found is not None and found.display_name == "Jeanne Dupont"


async def test_unsubscribe_by_command_and_by_leave(daemon: Daemon, db: Database,
                                                   config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", review="public",
              subscribers=(JEANNE, "paul@example.net"))
    await mail(daemon, JEANNE, ROBOT, "UNSUBSCRIBE news\n")
    (confirmation,) = await wait_for_mail(config, JEANNE, 1)
    assert "Confirm your unsubscription" in str(confirmation.message["Subject"])
    assert member(db, JEANNE) is not None
    reads_it(daemon)
    await mail(daemon, JEANNE, confirm_address(confirmation), "yes\n")
    mails = await wait_for_mail(config, JEANNE, 2)
    assert str(mails[1].message["Subject"]) == f"You have left {NEWS}"
    assert member(db, JEANNE) is None

    await mail(daemon, "paul@example.net", f"news-leave@{DOMAIN}", "", subject="bye")
    (confirmation,) = await wait_for_mail(config, "paul@example.net", 1)
    reads_it(daemon)
    await mail(daemon, "paul@example.net", confirm_address(confirmation), "yes\n")
    await wait_for_mail(config, "paul@example.net", 2)
    assert member(db, "paul@example.net") is None

    # Leaving a public-review list one is not on is answered plainly.
    await mail(daemon, "stranger@example.net", ROBOT, "SIGNOFF news\n")
    (reply,) = await wait_for_mail(config, "stranger@example.net", 1)
    assert f"Refused: you are not subscribed to {NEWS}." in body(reply)


async def test_join_address_subscribes(daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter")
    await mail(daemon, "Paul Martin <paul@example.net>", f"news-join@{DOMAIN}", "hi\n")
    (confirmation,) = await wait_for_mail(config, "paul@example.net", 1)
    reads_it(daemon)
    await mail(daemon, "paul@example.net", confirm_address(confirmation), "")
    await wait_for_mail(config, "paul@example.net", 2)
    found = member(db, "paul@example.net")
    assert found is not None and found.display_name == "Paul Martin"


async def test_confirm_with_wrong_reused_and_expired_tokens(
        daemon: Daemon, db: Database, config: Config, clock: OffsetClock) -> None:
    make_list(db, config, NEWS, template="newsletter")
    await mail(daemon, JEANNE, ROBOT, "SUBSCRIBE news\n")
    mails = await wait_for_mail(config, JEANNE, 1)
    token = token_of(next(w for w in mails if is_confirmation(w)))
    reads_it(daemon)

    forged = token[:-1] + ("a" if token[-1] != "a" else "b")
    await mail(daemon, JEANNE, ROBOT, f"CONFIRM {forged}\nCONFIRM nonsense\n")
    mails = await wait_for_mail(config, JEANNE, 2)
    assert body(mails[1]).count("Refused: this confirmation is not known here") == 2
    # A forged token at the -confirm address is refused the same way.
    await mail(daemon, JEANNE, f"news-confirm+{forged}@{DOMAIN}", "")
    mails = await wait_for_mail(config, JEANNE, 3)
    assert "Refused: this confirmation is not known here" in body(mails[2])
    assert member(db, JEANNE) is None

    await mail(daemon, JEANNE, ROBOT, f"CONFIRM {token}\n")
    await wait_for_mail(config, JEANNE, 5)  # the welcome and the reply
    assert member(db, JEANNE) is not None
    await mail(daemon, JEANNE, ROBOT, f"confirm {token}\n")
    mails = await wait_for_mail(config, JEANNE, 6)
    assert "Refused: this confirmation was already used." in body(mails[5])

    await mail(daemon, "late@example.net", ROBOT, "SUBSCRIBE news\n")
    (late,) = await wait_for_mail(config, "late@example.net", 1)
    clock.advance(dt.timedelta(days=config.token_ttl_days, seconds=1))
    await mail(daemon, "late@example.net", confirm_address(late), "")
    mails = await wait_for_mail(config, "late@example.net", 2)
    assert "Refused: this confirmation has expired; please ask again." in body(mails[1])
    assert member(db, "late@example.net") is None


async def test_token_is_bound_to_its_list(daemon: Daemon, db: Database,
                                          config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter")
    make_list(db, config, f"other@{DOMAIN}", template="newsletter")
    await mail(daemon, JEANNE, ROBOT, "SUBSCRIBE news\n")
    (confirmation,) = await wait_for_mail(config, JEANNE, 1)
    token = token_of(confirmation)
    reads_it(daemon)
    await mail(daemon, JEANNE, f"other-confirm+{token}@{DOMAIN}", "")
    mails = await wait_for_mail(config, JEANNE, 2)
    assert "not known here" in body(mails[1])
    assert member(db, JEANNE) is None


async def test_owner_add_and_del_need_the_owners_confirmation(
        daemon: Daemon, db: Database, config: Config) -> None:
    # Without the owners' subscription notices: the owner's mail here is the robot's answers.
    make_list(db, config, NEWS, template="newsletter", owners=(OWNER,),
              subscription_notices="off")
    await mail(daemon, "mallory@example.net", REQUEST, "ADD bob@example.net Bob\n")
    (refusal,) = await wait_for_mail(config, "mallory@example.net", 1)
    assert f"Refused: only the owners of {NEWS} may do this." in body(refusal)

    # A forged owner command only makes the real owner receive a confirmation request.
    await mail(daemon, OWNER, ROBOT, "ADD news bob@example.net Bob Marley\n")
    (confirmation,) = await wait_for_mail(config, OWNER, 1)
    assert str(confirmation.message["Subject"]).startswith(
        f"Confirm: add bob@example.net to {NEWS}")
    assert member(db, "bob@example.net") is None
    reads_it(daemon)
    # Only the owner's own address may answer: a leaked token is no use to anyone else.
    await mail(daemon, "mallory@example.net", confirm_address(confirmation), "")
    refusal = (await wait_for_mail(config, "mallory@example.net", 2))[1]
    assert "must be answered from the address it was sent to" in body(refusal)
    assert member(db, "bob@example.net") is None
    await mail(daemon, OWNER, confirm_address(confirmation), "")
    mails = await wait_for_mail(config, OWNER, 2)
    assert f"Done: bob@example.net was added to {NEWS}." in body(mails[1])
    (welcome,) = await wait_for_mail(config, "bob@example.net", 1)
    assert str(welcome.message["Subject"]) == f"Welcome to {NEWS}"
    found = member(db, "bob@example.net")
    assert found is not None and found.display_name == "Bob Marley"

    await mail(daemon, OWNER, REQUEST, "DEL bob@example.net\n")
    mails = await wait_for_mail(config, OWNER, 3)
    confirmation = next(w for w in mails[2:] if is_confirmation(w))
    reads_it(daemon)
    await mail(daemon, OWNER, f"listd@{DOMAIN}", f"CONFIRM {token_of(confirmation)}\n")
    mails = await wait_for_mail(config, OWNER, 4)
    assert f"Done: bob@example.net was removed from {NEWS}." in body(mails[3])
    assert member(db, "bob@example.net") is None


async def test_owner_approval_policy(daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="private", owners=(OWNER, "owner2@example.org"),
              subscription_notices="off")
    await subscribe(daemon, db, config, JEANNE, "Jeanne Dupont")
    mails = written_to(config, JEANNE)
    assert "waits for the approval of the owners" in body(mails[1])
    assert member(db, JEANNE) is None
    (approval,) = await wait_for_mail(config, OWNER, 1)
    assert body((await wait_for_mail(config, "owner2@example.org", 1))[0]) == body(approval)
    assert str(approval.message["Subject"]) == f"Subscription to approve: {JEANNE} on {NEWS}"
    reads_it(daemon)
    await mail(daemon, OWNER, confirm_address(approval), "fine by me\n")
    mails = await wait_for_mail(config, OWNER, 2)
    assert f"Done: {JEANNE} was added to {NEWS}." in body(mails[1])
    welcome = (await wait_for_mail(config, JEANNE, 3))[2]
    assert str(welcome.message["Subject"]) == f"Welcome to {NEWS}"
    assert member(db, JEANNE) is not None
    # Approving made the refusal token void.
    refuse_token = body(approval).split("CONFIRM ")[2].split()[0].strip("»\"")
    await mail(daemon, "owner2@example.org", REQUEST, f"CONFIRM {refuse_token}\n")
    mails = await wait_for_mail(config, "owner2@example.org", 2)
    assert "already used" in body(mails[1])

    # The other way: an owner refuses.
    await subscribe(daemon, db, config, "paul@example.net")
    approvals = await wait_for_mail(config, OWNER, 3)
    refuse_address = next(line.split()[-1] for line in body(approvals[2]).splitlines()
                          if "-confirm+" in line and "send a mail to" in line)
    reads_it(daemon)
    await mail(daemon, "owner2@example.org", refuse_address, "no\n")
    mails = await wait_for_mail(config, "paul@example.net", 3)
    assert str(mails[2].message["Subject"]) == f"Your subscription to {NEWS} was not approved"
    assert member(db, "paul@example.net") is None


async def test_private_list_answers_do_not_tell_who_is_a_member(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="private", subscribers=(JEANNE,))
    await mail(daemon, JEANNE, REQUEST, "SUBSCRIBE\nWHICH\n")
    await mail(daemon, "paul@example.net", REQUEST, "SUBSCRIBE\nWHICH\n")
    await wait_for_mail(config, JEANNE, 2)
    await wait_for_mail(config, "paul@example.net", 2)
    await settle(db)
    await mail(daemon, JEANNE, ROBOT, "REVIEW news\n")
    await wait_for_mail(config, JEANNE, 3)

    def answers(address: str) -> list[str]:
        texts = [body(w).replace(address, "ADDRESS").split("CONFIRM")[0]
                 for w in written_to(config, address)][:2]
        # WHICH answers for the sender alone, who may know their own lists.
        return [text.split("> WHICH")[0] for text in texts]

    assert sorted(answers(JEANNE)) == sorted(answers("paul@example.net"))
    assert f"Refused: only the owners of {NEWS} may see its members." in body(
        written_to(config, JEANNE)[2])

    await mail(daemon, "ghost@example.net", REQUEST, "SIGNOFF\n")
    (confirmation,) = await wait_for_mail(config, "ghost@example.net", 1)
    assert is_confirmation(confirmation)


async def test_closed_list_refuses_subscriptions(daemon: Daemon, db: Database,
                                                 config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", subscription="closed")
    await mail(daemon, JEANNE, f"news-join@{DOMAIN}", "")
    (reply,) = await wait_for_mail(config, JEANNE, 1)
    assert f"Refused: {NEWS} does not take subscriptions by mail" in body(reply)
    await settle(db)
    assert len(written_to(config, JEANNE)) == 1


async def test_information_commands(daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="discussion", owners=(OWNER,),
              subscribers=(JEANNE, "paul@example.net"))
    make_list(db, config, f"secret@{DOMAIN}", template="private", subscribers=(JEANNE,))
    make_list(db, config, f"pending@{DOMAIN}", approve=False)
    await mail(daemon, JEANNE, ROBOT,
               "help\nLISTS\nINFO news\nREVIEW news\nWHICH\nSET news NOMAIL\nSET news weekly\n"
               "FROBNICATE\nQUIT\nSUBSCRIBE news\n-- \nJeanne\n", subject="hello")
    (reply,) = [w for w in await wait_for_mail(config, JEANNE, 2) if not is_confirmation(w)]
    text = body(reply)
    assert "> help\nDone: Send commands to listd@lists.example.org" in text
    assert f"Public lists at {DOMAIN}:\n{NEWS}" in text
    assert "secret@" not in text.split("> LISTS")[1].split("> INFO")[0]
    assert "pending@" not in text
    assert "Subscription: open, with a confirmation\nOwners: owner@example.org" in text
    assert f"{NEWS} has 2 subscribers:\n{JEANNE}\npaul@example.net" in text
    assert f"You are on these lists:\n{NEWS}  (subscriber)\nsecret@{DOMAIN}  (subscriber)" \
        in text
    # A change of delivery mode waits for the member's confirmation, as any change does.
    assert "> SET news NOMAIL\nWaiting: a confirmation request was sent to " \
        f"{JEANNE}" in text
    assert "Refused: usage: SET list MAIL|DIGEST|DIGESTPLAIN|SUMMARY|NOMAIL" in text
    assert "Unknown command: FROBNICATE is not a command; send HELP to" in text
    assert "> SUBSCRIBE" not in text  # after QUIT
    found = member(db, JEANNE)
    assert found is not None and found.delivery_mode is DeliveryMode.MAIL
    # REVIEW for a stranger on a members-only list.
    await mail(daemon, "stranger@example.net", REQUEST, "REVIEW\n")
    (reply,) = await wait_for_mail(config, "stranger@example.net", 1)
    assert f"Refused: only the members of {NEWS} may see its members." in body(reply)


async def test_html_only_mail_and_subject_commands(daemon: Daemon, db: Database,
                                                   config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter")
    await mail(daemon, JEANNE, ROBOT,
               "<html><body><p>INFO news</p><div>WHICH</div><blockquote>HELP</blockquote>"
               "</body></html>", content_type="text/html; charset=utf-8")
    (reply,) = await wait_for_mail(config, JEANNE, 1)
    assert "> INFO news\nDone:" in body(reply) and "> WHICH\nDone:" in body(reply)
    assert "> HELP" not in body(reply)
    await mail(daemon, "paul@example.net", REQUEST, "", subject="Re: subscribe")
    (confirmation,) = await wait_for_mail(config, "paul@example.net", 1)
    assert str(confirmation.message["Subject"]).startswith(f"Confirm your subscription to {NEWS}")


async def test_a_mail_bomb_is_read_within_a_bound_and_answered_once(
        daemon: Daemon, db: Database, config: Config) -> None:
    names = [f"news{number}" for number in range(7)]
    for name in names:
        make_list(db, config, f"{name}@{DOMAIN}", template="newsletter")
    await mail(daemon, JEANNE, ROBOT, "".join(f"SUBSCRIBE {names[n % 7]}\n" for n in range(500)))
    await wait_for_mail(config, JEANNE, 1)
    await settle(db)
    mails = written_to(config, JEANNE)
    replies = [w for w in mails if "-confirm+" not in str(w.message["From"])]
    assert len(replies) == 1
    # At most five confirmation requests, whatever the number of lines; a repeated request
    # is answered as one.
    assert len(mails) == 1 + 5
    text = body(replies[0])
    assert text.count("> SUBSCRIBE news") == 100
    # news5 and news6 come after the limit, each time they appear.
    assert text.count("Refused: at most 5 requests that need a confirmation") == 28
    assert text.count("same request is earlier in this mail") == 100 - 5 - 28
    assert "400 more lines were not read" in text


async def test_no_answer_to_robots_lists_and_bounces(daemon: Daemon, db: Database,
                                                     config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter")
    silent = {
        "auto@example.net": ("Auto-Submitted: auto-replied\r\n", None),
        "generated@example.net": ("Auto-Submitted: auto-generated\r\n", None),
        "list@example.net": ("List-Id: <other.example.net>\r\n", None),
        "bulk@example.net": ("Precedence: bulk\r\n", None),
        "junk@example.net": ("Precedence: junk\r\n", None),
        "bounce@example.net": ("", ""),
        "ours@example.net": (f"X-Loop: {ROBOT}\r\n", None),
        "vacation@example.net": ("X-Autoreply: yes\r\n", None),
    }
    for sender, (headers, envelope) in silent.items():
        await mail(daemon, sender, ROBOT, "HELP\n", headers=headers, envelope_sender=envelope)
    await mail(daemon, "mailer-daemon@example.net", REQUEST, "HELP\n")
    await mail(daemon, f"news-request@{DOMAIN}", REQUEST, "HELP\n")
    # Auto-Submitted: no is a person's mail, and is answered.
    await mail(daemon, "person@example.net", ROBOT, "HELP\n", headers="Auto-Submitted: no\r\n")
    await wait_for_mail(config, "person@example.net", 1)
    await settle(db)
    for sender in silent:
        assert written_to(config, sender) == [], sender
    assert written_to(config, "mailer-daemon@example.net") == []
    assert written_to(config, f"news-request@{DOMAIN}") == []
    summaries = outcomes(db)
    assert sum(s.startswith("not answered") for s in summaries) == len(silent) + 2
    # A vacation responder answering a confirmation does not confirm anything.
    await mail(daemon, JEANNE, ROBOT, "SUBSCRIBE news\n")
    (confirmation,) = await wait_for_mail(config, JEANNE, 1)
    reads_it(daemon)
    await mail(daemon, JEANNE, confirm_address(confirmation), "I am away.\n",
               subject="Out of office", headers="Auto-Submitted: auto-replied\r\n")
    await settle(db)
    assert member(db, JEANNE) is None


async def test_a_loop_with_a_vacation_responder_ends_at_once(daemon: Daemon, db: Database,
                                                             config: Config) -> None:
    """A responder that answers every mail, even ours, gets one reply and no more."""
    make_list(db, config, NEWS, template="newsletter")
    await mail(daemon, "away@example.net", REQUEST, "HELP\n")
    (reply,) = await wait_for_mail(config, "away@example.net", 1)
    # A careless responder: no Auto-Submitted, answers to From, quotes the headers it got.
    for headers in (f"X-Loop: {reply.message['X-Loop']}\r\n",
                    f"In-Reply-To: {reply.message['Message-ID']}\r\n"):
        await mail(daemon, "away@example.net", str(reply.message["From"]),
                   "I am on holiday until Monday.\n",
                   subject=f"Re: {reply.message['Subject']}", headers=headers)
    await mail(daemon, "away@example.net", str(reply.message["From"]), "I am on holiday.\n",
               subject="Automatic reply: Results of your commands")
    await settle(db)
    assert len(written_to(config, "away@example.net")) == 1
    assert outcomes(db)[1:] == [
        "not answered: listd's own mail",
        "not answered: an answer to the robot's own mail, with no command in it",
        "not answered: an automatic reply"]


async def test_replies_to_one_address_are_rate_limited(db: Database, config: Config,
                                                       clock: OffsetClock) -> None:
    limited = dataclasses.replace(config, robot_mails_per_hour=3)
    make_list(db, limited, NEWS, template="newsletter")
    daemon = Daemon(Runtime.create(limited, db, clock))
    await daemon.start()
    try:
        for _ in range(5):
            await mail(daemon, JEANNE, ROBOT, "HELP\n")
        await settle(db)
        assert len(written_to(limited, JEANNE)) == 3
        assert sum("robot mails in the last hour" in s for s in outcomes(db)) == 2
        # Another address is not affected; an hour later Jeanne is answered again.
        await mail(daemon, "paul@example.net", ROBOT, "HELP\n")
        await wait_for_mail(limited, "paul@example.net", 1)
        clock.advance(dt.timedelta(hours=1, seconds=1))
        await mail(daemon, JEANNE, ROBOT, "HELP\n")
        await wait_for_mail(limited, JEANNE, 4)
    finally:
        await daemon.stop()


async def test_the_same_request_twice_in_one_mail_gets_one_confirmation(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS)
    # "sub" in the Subject is itself a command on LIST-request@ (the list left out).
    await mail(daemon, JEANNE, REQUEST, subject="sub", body="SUBSCRIBE news Jeanne Dupont\n")
    await settle(db)
    received = written_to(config, JEANNE)
    # One confirmation, and no reply besides: it would only say that a confirmation was sent.
    assert len(received) == 1 and is_confirmation(received[0])
    assert "CONFIRM" in str(received[0].message["Subject"])


async def test_info_shows_the_description_once_and_no_template_text_as_subject(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter")
    with db.session() as session:
        assert find_list(session, NEWS).subject == ""
    await mail(daemon, JEANNE, ROBOT, "INFO news\n")
    (reply,) = await wait_for_mail(config, JEANNE, 1)
    text = body(reply)
    assert f"{NEWS}: news\n" in text
    assert text.count("Announcements from the owners") == 1


async def test_mail_the_robot_cannot_answer_is_shown_by_queue_status(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    # swaks's default sender: root@ the machine's short hostname, not an address to reply to.
    await mail(daemon, "root@myhost", ROBOT, "HELP\n")
    await settle(db)
    assert written_to(config, "root@myhost") == []
    status = listd_cli.ok("queue", "status").stdout
    assert "recent mail the robot did not answer:" in status
    assert (f"<{ROBOT}>: not answered: no usable sender address (envelope <root@myhost>, "
            "From: root@myhost)") in status
