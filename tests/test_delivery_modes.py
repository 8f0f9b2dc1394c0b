"""Delivery modes: a member can only be put in a mode that listd serves, by mail and by CLI."""

from __future__ import annotations

from sqlalchemy import update

from listd.config import Config
from listd.database import Database
from listd.delivery_modes import SERVED
from listd.lists import find_list
from listd.members import find_member
from listd.models import DeliveryMode, Member
from listd.serve import Daemon
from tests.conftest import CLI
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.outbox import sent_to, settle
from tests.support.robot import body, mail, wait_for_mail

DOMAIN = "lists.example.org"
NEWS = f"news@{DOMAIN}"
ROBOT = f"listd@{DOMAIN}"
JEANNE = "jeanne@example.net"
UNSERVED = [m for m in DeliveryMode if m not in SERVED]


def mode_of(db: Database, address: str) -> DeliveryMode:
    with db.session() as session:
        member = find_member(session, find_list(session, NEWS), address)
        assert member is not None
        return member.delivery_mode


async def test_set_by_mail_refuses_a_mode_nothing_delivers(daemon: Daemon, db: Database,
                                                          config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(JEANNE,))
    lines = "".join(f"SET news {m.value.upper()}\n" for m in UNSERVED)
    await mail(daemon, JEANNE, ROBOT, lines + "SET news NOMAIL\nSET news WEEKLY\nHELP\n")
    (reply,) = await wait_for_mail(config, JEANNE, 1)
    text = body(reply)
    for mode in UNSERVED:
        assert (f"Refused: {mode.value.upper()} delivery is not available on this server, so "
                "your subscription was not changed") in text
    assert f"Done: your subscription to {NEWS} is now in NOMAIL mode." in text
    served = "|".join(m.value.upper() for m in DeliveryMode if m in SERVED)
    assert f"Refused: usage: SET list {served}" in text
    # HELP offers exactly the modes that are served.
    help_text = text.split("> HELP")[1]
    for mode in DeliveryMode:
        assert (f" {mode.value.upper()}" in help_text) == (mode in SERVED), mode
    assert mode_of(db, JEANNE) is DeliveryMode.NOMAIL


def test_member_set_by_cli(listd_cli: CLI, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(JEANNE,))
    for mode in UNSERVED:
        result = listd_cli("member", "set", NEWS, JEANNE, "--delivery", mode.value)
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines() == [
            f"listd: error: delivery mode {mode.value!r} is not available on this server; "
            f"choose one of {', '.join(m.value for m in DeliveryMode if m in SERVED)}"]
    result = listd_cli("member", "set", NEWS, JEANNE, "--delivery", "weekly")
    assert result.exit_code == 1 and "unknown delivery mode 'weekly'" in result.stderr
    result = listd_cli("member", "set", NEWS, "nobody@example.net", "--delivery", "nomail")
    assert result.exit_code == 1 and "nobody@example.net is not subscriber" in result.stderr
    listd_cli.ok("member", "set", NEWS, JEANNE, "--delivery", "NoMail")
    assert mode_of(db, JEANNE) is DeliveryMode.NOMAIL
    listd_cli.ok("member", "set", NEWS, JEANNE, "--delivery", "mail")
    assert mode_of(db, JEANNE) is DeliveryMode.MAIL


async def test_a_member_left_in_an_unserved_mode_still_gets_each_post(
        daemon: Daemon, db: Database, config: Config) -> None:
    """Members put in a mode before it was refused are not left without mail."""
    if not UNSERVED:
        return
    make_list(db, config, NEWS, subscribers=(JEANNE, "paul@example.net"))
    with db.session() as session:
        session.execute(update(Member).where(Member.address == JEANNE)
                        .values(delivery_mode=UNSERVED[0]))
    await in_thread(post, daemon.port, "paul@example.net", NEWS)
    await settle(db)
    assert len(sent_to(config, JEANNE)) == 1
