"""The commands Sympa and Mailman users write, end to end through a real listd: Sympa's short
forms, QUIET and the `-` stop line, SIGNOFF * and SET *, DISTRIBUTE/REJECT list key, MODINDEX,
STATS, Mailman's join digest=/address=, who filters and echo, and HELP made from the registry."""

from __future__ import annotations

from sqlalchemy import select

from listd.commands.registry import COMMANDS
from listd.config import Config
from listd.database import Database
from listd.lists import add_domain, find_list, set_list_text
from listd.models import DeliveryMode, HeldMessage, HeldState, Member
from listd.serve import Daemon
from listd.subscription_notices import LARGE_LIST
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.outbox import settle
from tests.support.robot import (
    body,
    confirm_address,
    is_confirmation,
    mail,
    reads_it,
    wait_for_mail,
    written_to,
)
from tests.test_commands import DOMAIN, JEANNE, NEWS, OWNER, REQUEST, ROBOT, member

OTHER = f"other@{DOMAIN}"
PAUL = "paul@example.net"
MOD = "mod@example.org"


def replies(config: Config, address: str) -> list[str]:
    return [body(w) for w in written_to(config, address) if not is_confirmation(w)]


async def answer(daemon: Daemon, config: Config, address: str, before: int) -> None:
    """ADDRESS answers the confirmation request that arrived after its BEFORE first mails."""
    mails = await wait_for_mail(config, address, before + 1, "a confirmation request")
    confirmation = next(w for w in mails[before:] if is_confirmation(w))
    reads_it(daemon)
    await mail(daemon, address, confirm_address(confirmation), "yes\n")


async def test_sympa_short_forms_and_the_stop_line(daemon: Daemon, db: Database,
                                                   config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", review="public", subscribers=(JEANNE,))
    await mail(daemon, JEANNE, ROBOT, "INF news\nREV news\nSTATUS\nSOS\n-\nLISTS\n")
    (reply,) = await wait_for_mail(config, JEANNE, 1)
    text = body(reply)
    assert f"> INF news\nDone: {NEWS}" in text
    assert f"> REV news\nDone: {NEWS} has 1 subscribers:\n{JEANNE}" in text
    assert f"> STATUS\nDone: You are on these lists:\n{NEWS}  (subscriber)" in text
    assert "> SOS\nDone: " in text and "MODINDEX list" in text
    # Nothing after the '-' line is read.
    assert "LISTS" not in text.split("> SOS")[0] and "> LISTS" not in text

    # SIG, then CON with the token: Sympa's short forms for SIGNOFF and CONFIRM.
    await mail(daemon, JEANNE, ROBOT, "SIG news\n")
    mails = await wait_for_mail(config, JEANNE, 2)
    token = str(mails[1].message["Reply-To"]).split("+", 1)[1].split("@")[0]
    reads_it(daemon)
    await mail(daemon, JEANNE, ROBOT, f"CON {token}\n")
    await wait_for_mail(config, JEANNE, 4, "the goodbye and the reply")
    assert member(db, JEANNE) is None

    await mail(daemon, PAUL, ROBOT, "SUB news Paul Martin\n")
    await answer(daemon, config, PAUL, 0)
    await wait_for_mail(config, PAUL, 2, "the welcome")
    found = member(db, PAUL)
    assert found is not None and found.display_name == "Paul Martin"


async def test_quiet_leaves_commands_out_of_the_reply(daemon: Daemon, db: Database,
                                                      config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", subscribers=(JEANNE,))
    await mail(daemon, JEANNE, ROBOT, "QUIET INFO news\nWHICH\n")
    (reply,) = await wait_for_mail(config, JEANNE, 1)
    assert "> WHICH" in body(reply) and "INFO" not in body(reply)
    # Every command quiet, or a QUIET line alone: carried out, and no reply at all.
    await mail(daemon, JEANNE, ROBOT, "QUIET WHICH\nQUIET LISTS\n")
    await mail(daemon, JEANNE, ROBOT, "QUIET\nWHICH\n")
    await mail(daemon, JEANNE, REQUEST, "quiet set nomail\n")
    await answer(daemon, config, JEANNE, 1)
    await wait_for_mail(config, JEANNE, 3, "the reply to the confirmation")
    await settle(db, inbound=5)
    assert len(written_to(config, JEANNE)) == 3
    found = member(db, JEANNE)
    assert found is not None and found.delivery_mode is DeliveryMode.NOMAIL


async def test_signoff_and_set_on_all_ones_lists(daemon: Daemon, db: Database,
                                                 config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", subscribers=(JEANNE, PAUL))
    make_list(db, config, OTHER, template="discussion", subscribers=(JEANNE, PAUL))
    await mail(daemon, JEANNE, ROBOT, "SET * DIGEST\n")
    (confirmation,) = await wait_for_mail(config, JEANNE, 1)
    assert str(confirmation.message["Subject"]).startswith(
        "Confirm delivery mode DIGEST on all your lists")
    assert NEWS in body(confirmation) and OTHER in body(confirmation)
    assert member(db, JEANNE).delivery_mode is DeliveryMode.MAIL  # type: ignore[union-attr]
    await answer(daemon, config, JEANNE, 0)
    mails = await wait_for_mail(config, JEANNE, 2)
    assert f"Done: delivery mode DIGEST on these lists: {NEWS}, {OTHER}" in body(mails[1])
    for address in (NEWS, OTHER):
        assert member(db, JEANNE, address).delivery_mode is DeliveryMode.DIGEST  # type: ignore

    with db.session() as session:
        set_list_text(session, NEWS, "goodbye", "")
    # SIGNOFF * ADDRESS from someone else: only ADDRESS's confirmation makes it happen, and
    # the one who asked learns nothing (no reply: the confirmation is the only mail).
    await mail(daemon, "mallory@example.net", ROBOT, f"SIGNOFF * {PAUL}\n")
    (confirmation,) = await wait_for_mail(config, PAUL, 1)
    assert " ".join(str(confirmation.message["Subject"]).split()).startswith(
        "Confirm leaving all your lists")
    assert member(db, PAUL) is not None
    await answer(daemon, config, PAUL, 0)
    mails = await wait_for_mail(config, PAUL, 3, "the reply and the goodbye")
    done = [w for w in mails[1:] if "left these lists" in body(w)]
    assert f"Done: {PAUL} left these lists: {NEWS}, {OTHER}" in body(done[0])
    # Each list's goodbye, as a single SIGNOFF sends it, but for the list that has none.
    goodbyes = [str(w.message["Subject"]) for w in mails[1:] if w not in done]
    assert goodbyes == [f"You have left {OTHER}"]
    assert member(db, PAUL) is None and member(db, PAUL, OTHER) is None
    await settle(db, inbound=4)
    assert len(written_to(config, PAUL)) == 3
    assert written_to(config, "mallory@example.net") == []
    assert member(db, JEANNE) is not None


async def test_mailman_join_options_who_filters_and_echo(daemon: Daemon, db: Database,
                                                         config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", owners=(OWNER,), subscribers=(PAUL,),
              subscription_notices="off")
    await mail(daemon, JEANNE, REQUEST, "join digest=mime\n")
    await answer(daemon, config, JEANNE, 0)
    await wait_for_mail(config, JEANNE, 2, "the welcome")
    assert member(db, JEANNE).delivery_mode is DeliveryMode.DIGEST  # type: ignore[union-attr]

    # join address=X: X is asked, not the sender; nothing changes until X answers.
    friend = "friend@example.net"
    await mail(daemon, JEANNE, REQUEST, f"join address={friend}\n")
    (confirmation,) = await wait_for_mail(config, friend, 1)
    assert is_confirmation(confirmation) and member(db, friend) is None
    await answer(daemon, config, friend, 0)
    await wait_for_mail(config, friend, 2, "the welcome")
    assert member(db, friend) is not None

    await mail(daemon, OWNER, REQUEST,
               "who mode=digest\nwho delivery=enabled mode=regular\nwho mode=nonsense\n"
               "echo Hello  there\n")
    (reply,) = await wait_for_mail(config, OWNER, 1)
    text = body(reply)
    assert f"> who mode=digest\nDone: {NEWS} has 1 subscribers:\n{JEANNE}\n" in text
    assert (f"> who delivery=enabled mode=regular\nDone: {NEWS} has 2 subscribers:\n"
            f"{friend}\n{PAUL}\n") in text
    assert "> who mode=nonsense\nRefused: usage: REVIEW list" in text
    assert "> echo Hello there\nDone: Hello there" in text
    await mail(daemon, JEANNE, REQUEST, "join digest=sometimes\n")
    assert "Refused: usage: SUBSCRIBE" in (await wait_for_mail(config, JEANNE, 3))[2].message \
        .get_body().get_content()  # type: ignore[union-attr]


async def test_join_address_gets_its_confirmation_only(daemon: Daemon, db: Database,
                                                       config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter")
    await mail(daemon, JEANNE, f"news-join@{DOMAIN}", "subscribe news\nwhich\nlists\n")
    (confirmation,) = await wait_for_mail(config, JEANNE, 1)
    assert is_confirmation(confirmation)
    await settle(db)
    assert len(written_to(config, JEANNE)) == 1


async def test_moderators_list_and_decide_with_sympa_forms(daemon: Daemon, db: Database,
                                                           config: Config) -> None:
    club = f"club@{DOMAIN}"
    make_list(db, config, club, owners=(OWNER,), subscribers=(JEANNE,), moderators=(MOD,))
    for title in ("First", "Second"):
        await in_thread(post, daemon.port, "stranger@example.net", club, title, "Outside.\n")
    await wait_for_mail(config, MOD, 2, "the notices")
    with db.session() as session:
        first, second = session.scalars(select(HeldMessage).order_by(HeldMessage.id)).all()
    await mail(daemon, MOD, ROBOT, "MOD club\n")
    listing = body((await wait_for_mail(config, MOD, 3))[2])
    assert f"Posts held for {club}: 2" in listing
    assert f"DISTRIBUTE {first.token}" in listing and f"DISTRIBUTE {second.token}" in listing
    await mail(daemon, JEANNE, ROBOT, "MODINDEX club\n")
    assert "is not a moderator" in body((await wait_for_mail(config, JEANNE, 1))[0])

    await mail(daemon, MOD, ROBOT, f"DIS club {first.token}\nREJ club {second.token} off topic\n")
    reply = body((await wait_for_mail(config, MOD, 4))[3])
    assert f"Done: the post of stranger@example.net to {club} (#{first.id}) is approved" in reply
    assert f"(#{second.id}) is rejected" in reply
    with db.session() as session:
        states = [h.state for h in session.scalars(select(HeldMessage).order_by(HeldMessage.id))]
    assert states == [HeldState.APPROVED, HeldState.REJECTED]


async def test_stats_for_owners_only(daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", owners=(OWNER,),
              subscribers=(JEANNE, PAUL))
    await mail(daemon, OWNER, ROBOT, "STATS news\n")
    text = body((await wait_for_mail(config, OWNER, 1))[0])
    assert f"Statistics of {NEWS}:\nsubscribers: 2\nby delivery mode: MAIL 2\n" in text
    assert "posts waiting for a moderator: 0" in text
    await mail(daemon, JEANNE, ROBOT, "STATS news\n")
    assert f"Refused: only the owners of {NEWS} may do this." in body(
        (await wait_for_mail(config, JEANNE, 1))[0])


async def test_help_is_made_from_the_registry_in_the_lists_language(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter")
    make_list(db, config, OTHER, template="newsletter", language="fr")
    await mail(daemon, JEANNE, REQUEST, "HELP\n")
    await mail(daemon, PAUL, f"other-request@{DOMAIN}", "aide\n")
    english = body((await wait_for_mail(config, JEANNE, 1))[0])
    french = body((await wait_for_mail(config, PAUL, 1))[0])
    for command in COMMANDS:
        # Every command the robot reads is in HELP, in both languages, with all its names.
        assert command.usage in english and command.usage in french
    assert "SIGNOFF list | SIGNOFF * [address]\n      unsubscribe" in english
    assert "(also: SUB, JOIN)" in english and "(aussi : SUB, JOIN)" in french
    assert "modérateurs : les messages en attente de décision" in french
    assert "moderators:" not in french and "Send commands" not in french


async def test_set_conceal_hides_a_member_from_review_but_not_from_owners(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", review="members", owners=(OWNER,),
              subscribers=(JEANNE, PAUL))
    await mail(daemon, JEANNE, ROBOT, "SET news CONCEAL\n")
    await answer(daemon, config, JEANNE, 0)
    reply = body((await wait_for_mail(config, JEANNE, 2))[1])
    assert f"Done: your subscription to {NEWS} is now in CONCEAL mode." in reply
    await mail(daemon, PAUL, ROBOT, "REVIEW news\n")
    text = body((await wait_for_mail(config, PAUL, 1))[0])
    assert f"{NEWS} has 1 subscribers:\n{PAUL}" in text and JEANNE not in text
    await mail(daemon, OWNER, ROBOT, "REVIEW news\n")
    (owners_view,) = await wait_for_mail(config, OWNER, 1)
    assert f"has 2 subscribers:\n{JEANNE}\n{PAUL}" in body(owners_view)
    await mail(daemon, JEANNE, ROBOT, "SET news NOCONCEAL\n")
    await answer(daemon, config, JEANNE, 2)
    await wait_for_mail(config, JEANNE, 4)
    await mail(daemon, PAUL, ROBOT, "REVIEW news\n")
    (_, shown_again) = await wait_for_mail(config, PAUL, 2)
    assert f"has 2 subscribers:\n{JEANNE}\n{PAUL}" in body(shown_again)


async def test_invite_changes_nothing_until_the_invitee_accepts(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", owners=(OWNER,), subject="News")
    await mail(daemon, JEANNE, ROBOT, f"INVITE news {PAUL}\n")
    assert f"only the owners of {NEWS}" in body((await wait_for_mail(config, JEANNE, 1))[0])
    await mail(daemon, OWNER, ROBOT, f"INVITE news {PAUL} Paul Martin\n")
    reply = body((await wait_for_mail(config, OWNER, 1))[0])
    assert f"Waiting: {PAUL} was invited to {NEWS}; nothing changes until they accept." in reply
    (invitation,) = await wait_for_mail(config, PAUL, 1)
    assert " ".join(str(invitation.message["Subject"]).split()).startswith(
        f"Invitation to join {NEWS}")
    assert f"Hello Paul Martin,\n\n{OWNER}, an owner of the list {NEWS} (News)" in body(invitation)
    assert member(db, PAUL) is None
    # Only the invitee's own answer counts.
    reads_it(daemon)
    await mail(daemon, "mallory@example.net", confirm_address(invitation), "yes\n")
    await wait_for_mail(config, "mallory@example.net", 1)
    assert member(db, PAUL) is None
    await mail(daemon, PAUL, confirm_address(invitation), "yes\n")
    (_, welcome) = await wait_for_mail(config, PAUL, 2, "the welcome")
    assert str(welcome.message["Subject"]) == f"Welcome to {NEWS}"
    found = member(db, PAUL)
    assert found is not None and found.display_name == "Paul Martin"


async def test_remind_goes_to_every_member_through_the_queue(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", owners=(OWNER,), language="fr",
              subscribers=(JEANNE, PAUL))
    make_list(db, config, OTHER, template="discussion", subscribers=("zoe@example.net",))
    await mail(daemon, JEANNE, ROBOT, "REMIND news\nREMIND *\n")
    text = body((await wait_for_mail(config, JEANNE, 1))[0])
    assert f"Refused: only the owners of {NEWS} may do this." in text
    assert "Refused: only a listmaster" in text
    await mail(daemon, OWNER, ROBOT, "REMIND news\n")
    assert f"Done: reminder queued for 2 members of {NEWS}" in body(
        (await wait_for_mail(config, OWNER, 1))[0])
    for address in (JEANNE, PAUL):
        mails = await wait_for_mail(config, address, 2 if address == JEANNE else 1)
        reminder = mails[-1]
        # Each copy has its own VERP envelope sender, so a bounce names the member.
        assert reminder.sender.startswith("news-bounces+")
        assert str(reminder.message["Subject"]) == f"Votre abonnement à {NEWS}"
        assert f"news-leave@{DOMAIN}" in body(reminder)

    # REMIND *: every subscriber of every list of every domain, one mail naming its lists.
    with db.session() as session:
        add_domain(session, "elsewhere.example")
    make_list(db, config, "club@elsewhere.example", subscribers=(PAUL, "zoe@example.net"),
              subject="Club")
    listmaster = config.listmasters[0]
    await mail(daemon, listmaster, ROBOT, "REMIND *\n")
    reply = body((await wait_for_mail(config, listmaster, 1))[0])
    assert "Done: reminder queued for 3 subscribers of 3 lists" in reply
    zoe = (await wait_for_mail(config, "zoe@example.net", 1, "the reminder"))[0]
    assert " ".join(str(zoe.message["Subject"]).split()) == "Your subscriptions to 2 lists"
    assert zoe.sender.startswith("club-bounces+")
    assert str(zoe.message["From"]) == "listd@elsewhere.example"
    assert (f"  club@elsewhere.example (Club)\n    to leave: club-leave@elsewhere.example\n"
            f"  {OTHER} (other)\n    to leave: other-leave@{DOMAIN}") in body(zoe)
    jeanne = (await wait_for_mail(config, JEANNE, 3, "Jeanne's reminder"))[2]
    # Jeanne's one list is French: her reminder is French.
    assert str(jeanne.message["Subject"]) == "Votre abonnement à 1 liste"
    assert f"  {NEWS} (news)\n    pour la quitter : news-leave@{DOMAIN}" in body(jeanne)
    paul = (await wait_for_mail(config, PAUL, 2, "Paul's reminder"))[1]
    # Paul's lists are in two languages: the site's.
    assert " ".join(str(paul.message["Subject"]).split()) == "Your subscriptions to 2 lists"


async def test_owners_are_told_of_arrivals_and_departures_unless_the_list_is_large(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", owners=(OWNER,), subscribers=(PAUL,))
    await mail(daemon, f"Jeanne Dupont <{JEANNE}>", ROBOT, "SUB news\n")
    await answer(daemon, config, JEANNE, 0)
    (notice,) = await wait_for_mail(config, OWNER, 1, "the subscription notice")
    assert str(notice.message["Subject"]) == f"{NEWS}: {JEANNE} subscribed"
    assert f"Jeanne Dupont <{JEANNE}> is now subscribed to {NEWS}.\n\nThe list has 2" \
        in body(notice)
    await mail(daemon, PAUL, ROBOT, "SIG news\n")
    await answer(daemon, config, PAUL, 0)
    (_, notice) = await wait_for_mail(config, OWNER, 2, "the unsubscription notice")
    assert str(notice.message["Subject"]) == f"{NEWS}: {PAUL} unsubscribed"
    # A large list sends none unless its owners ask ("auto" is off from LARGE_LIST on).
    with db.session() as session:
        mailing_list = find_list(session, NEWS)
        for number in range(LARGE_LIST):
            session.add(Member(list_id=mailing_list.id, address=f"m{number}@example.com"))
    await mail(daemon, "zoe@example.net", ROBOT, "SUB news\n")
    await answer(daemon, config, "zoe@example.net", 0)
    await wait_for_mail(config, "zoe@example.net", 2, "the welcome")
    await settle(db, inbound=5)
    assert len(written_to(config, OWNER)) == 2
