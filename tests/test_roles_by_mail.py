"""Owners name owners and moderators by mail, each change confirmed by the owner first."""

from __future__ import annotations

from listd.config import Config
from listd.database import Database
from listd.lists import find_list
from listd.members import find_member
from listd.models import Role
from listd.serve import Daemon
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.robot import (
    body,
    confirm_address,
    is_confirmation,
    mail,
    reads_it,
    wait_for_mail,
)

DOMAIN = "lists.example.org"
NEWS = f"news@{DOMAIN}"
ROBOT = f"listd@{DOMAIN}"
REQUEST = f"news-request@{DOMAIN}"
OWNER = "owner@example.org"
MOD = "mod@example.org"


def has_role(db: Database, address: str, role: Role) -> bool:
    with db.session() as session:
        return find_member(session, find_list(session, NEWS), address, role) is not None


async def test_an_owner_adds_a_moderator_who_then_gets_the_notices(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="discussion", owners=(OWNER,))
    await mail(daemon, "mallory@example.net", ROBOT, f"MODERATOR news ADD {MOD}\n")
    refused, = await wait_for_mail(config, "mallory@example.net", 1)
    assert f"Refused: only the owners of {NEWS} may do this." in body(refused)

    # With a second command, so that the mail gets a reply besides the confirmation.
    await mail(daemon, OWNER, ROBOT, f"MODERATOR news ADD {MOD}\nWHICH\n")
    mails = await wait_for_mail(config, OWNER, 2)
    reply = next(w for w in mails if "-confirm+" not in str(w.message["From"]))
    confirmation = next(w for w in mails if "-confirm+" in str(w.message["From"]))
    assert "Waiting: to make sure you sent this command" in body(reply)
    assert str(confirmation.message["Subject"]).startswith(
        f"Confirm: make {MOD} moderator of {NEWS}")
    assert not has_role(db, MOD, Role.MODERATOR)
    reads_it(daemon)
    await mail(daemon, OWNER, confirm_address(confirmation), "yes\n")
    done = (await wait_for_mail(config, OWNER, 3))[2]
    assert f"Done: {MOD} is now moderator of {NEWS}." in body(done)
    assert has_role(db, MOD, Role.MODERATOR)

    # Moderators now decide, not the owner.
    await in_thread(post, daemon.port, "stranger@example.net", NEWS, "Hi", "x\n")
    notice, = await wait_for_mail(config, MOD, 1)
    assert str(notice.message["Subject"]).startswith(f"Held for moderation on {NEWS}")

    # And out again, on LIST-request@ without naming the list.
    await mail(daemon, OWNER, REQUEST, f"MODERATOR DEL {MOD}\n")
    mails = await wait_for_mail(config, OWNER, 4)
    confirmation = next(w for w in mails[3:] if is_confirmation(w))
    reads_it(daemon)
    await mail(daemon, OWNER, confirm_address(confirmation), "")
    done = (await wait_for_mail(config, OWNER, 5))[4]
    assert f"Done: {MOD} is no longer moderator of {NEWS}." in body(done)
    assert not has_role(db, MOD, Role.MODERATOR)


async def test_owners_by_mail_never_remove_the_last_owner(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, owners=(OWNER,))
    await mail(daemon, OWNER, ROBOT,
               f"OWNER news DEL {OWNER}\nOWNER news DEL nobody@example.org\n"
               "OWNER news FROB x@example.org\nOWNER news ADD not-an-address\n"
               "OWNER news ADD second@example.org Second Owner\n")
    mails = await wait_for_mail(config, OWNER, 2)
    reply = next(w for w in mails if "-confirm+" not in str(w.message["From"]))
    text = body(reply)
    assert f"Refused: {OWNER} is the last owner of {NEWS}; add another owner first." in text
    assert f"Refused: nobody@example.org is not owner of {NEWS}." in text
    assert "Refused: usage: OWNER list ADD|DEL address" in text
    assert "Refused: not-an-address is not a valid address." in text
    confirmation = next(w for w in mails if is_confirmation(w))
    reads_it(daemon)
    await mail(daemon, OWNER, confirm_address(confirmation), "")
    await wait_for_mail(config, OWNER, 3)
    assert has_role(db, "second@example.org", Role.OWNER)

    # Two owners now: the second may remove the first, confirmed from the second's address.
    await mail(daemon, "second@example.org", REQUEST, f"OWNER DEL {OWNER}\n")
    (confirmation,) = await wait_for_mail(config, "second@example.org", 1)
    assert is_confirmation(confirmation)
    reads_it(daemon)
    await mail(daemon, "second@example.org", confirm_address(confirmation), "")
    done = (await wait_for_mail(config, "second@example.org", 2))[1]
    assert f"Done: {OWNER} is no longer owner of {NEWS}." in body(done)
    assert not has_role(db, OWNER, Role.OWNER)


async def test_french_list_role_change(daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, owners=(OWNER,), language="fr")
    await mail(daemon, OWNER, REQUEST, f"moderator add {MOD}\n")
    (confirmation,) = await wait_for_mail(config, OWNER, 1)
    assert " ".join(str(confirmation.message["Subject"]).split()).startswith(
        f"Confirmation : {MOD} modérateur·rice de {NEWS}")
    reads_it(daemon)
    await mail(daemon, OWNER, confirm_address(confirmation), "oui\n")
    done = (await wait_for_mail(config, OWNER, 2))[1]
    assert f"Fait : {MOD} est maintenant modérateur·rice de {NEWS}." in body(done)
