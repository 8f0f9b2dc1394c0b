"""Delivery modes: a member can only be put in a mode that listd serves, by mail and by CLI."""

from __future__ import annotations

import re

import pytest

from listd.config import Config
from listd.database import Database
from listd.delivery_modes import (
    SERVED,
    UnknownDeliveryMode,
    UnservedDeliveryMode,
    parse_delivery_mode,
    parse_mailman_digest,
)
from listd.lists import find_list
from listd.members import find_member
from listd.models import DeliveryMode
from listd.serve import Daemon
from tests.conftest import CLI
from tests.support.lists import make_list
from tests.support.robot import (
    body,
    confirm_address,
    is_confirmation,
    mail,
    reads_it,
    wait_for_mail,
)
from tests.support.waiting import wait_until

DOMAIN = "lists.example.org"
NEWS = f"news@{DOMAIN}"
ROBOT = f"listd@{DOMAIN}"
JEANNE = "jeanne@example.net"


def mode_of(db: Database, address: str) -> DeliveryMode:
    with db.session() as session:
        member = find_member(session, find_list(session, NEWS), address)
        assert member is not None
        return member.delivery_mode


async def test_set_by_mail_takes_every_served_mode_and_refuses_others(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(JEANNE,))
    await mail(daemon, JEANNE, ROBOT, "SET news DIGESTPLAIN\nSET news WEEKLY\nHELP\n")
    written = await wait_for_mail(config, JEANNE, 2)
    (request,) = [w for w in written if is_confirmation(w)]
    (reply,) = [w for w in written if not is_confirmation(w)]
    text = body(reply)
    assert "> SET news DIGESTPLAIN\nWaiting: a confirmation request was sent to " in text
    served = "|".join(m.value.upper() for m in DeliveryMode if m in SERVED)
    assert f"Refused: usage: SET list {served}" in text
    # HELP offers exactly the modes that are served.
    help_text = text.split("> HELP")[1]
    for mode in DeliveryMode:
        named = re.search(rf"(?<![A-Z]){mode.value.upper()}(?![A-Z])", help_text) is not None
        assert named == (mode in SERVED), mode
    assert mode_of(db, JEANNE) is DeliveryMode.MAIL, "nothing changes before the confirmation"
    reads_it(daemon)
    await mail(daemon, JEANNE, confirm_address(request), "yes")
    await wait_until(lambda: mode_of(db, JEANNE) is DeliveryMode.DIGESTPLAIN,
                     what="the confirmed mode")


def test_an_unserved_mode_is_refused_by_the_one_parser() -> None:
    """Every door parses through parse_delivery_mode; a mode outside SERVED is refused."""
    for mode in DeliveryMode:
        if mode in SERVED:
            assert parse_delivery_mode(mode.value.upper()) is mode
        else:
            with pytest.raises(UnservedDeliveryMode):
                parse_delivery_mode(mode.value)
    with pytest.raises(UnknownDeliveryMode, match="'weekly'"):
        parse_delivery_mode("weekly")
    assert parse_mailman_digest("digest=mime") is DeliveryMode.DIGEST
    assert parse_mailman_digest("digest=plain") is DeliveryMode.DIGESTPLAIN
    assert parse_mailman_digest("digest=no") is DeliveryMode.MAIL
    assert parse_mailman_digest("Jeanne") is None
    with pytest.raises(UnknownDeliveryMode):
        parse_mailman_digest("digest=weekly")


def test_member_set_by_cli(listd_cli: CLI, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(JEANNE,))
    result = listd_cli("member", "set", NEWS, JEANNE, "--delivery", "weekly")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "listd: error: unknown delivery mode 'weekly'; choose one of "
        + ", ".join(m.value for m in DeliveryMode if m in SERVED)]
    result = listd_cli("member", "set", NEWS, "nobody@example.net", "--delivery", "nomail")
    assert result.exit_code == 1 and "nobody@example.net is not subscriber" in result.stderr
    for mode in DeliveryMode:
        listd_cli.ok("member", "set", NEWS, JEANNE, "--delivery", mode.value.title())
        assert mode_of(db, JEANNE) is mode
