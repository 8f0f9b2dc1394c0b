"""Every mail command, in one explicit table: a new command is a class and one line here."""

from __future__ import annotations

from collections.abc import Mapping

from listd.commands.archive import Get, Index, Last
from listd.commands.command import Command
from listd.commands.held_posts import Discard, Distribute, ModIndex, Reject
from listd.commands.information import Echo, Help, Info, Lists, Review, Stats, Which
from listd.commands.invitations import Invite, Remind
from listd.commands.list_requests import CreateList
from listd.commands.list_text import SetText
from listd.commands.owner import Add, Delete
from listd.commands.roles import Moderator, Owner
from listd.commands.subscription import Confirm, SetDelivery, Subscribe, Unsubscribe

COMMANDS: tuple[Command, ...] = (
    Subscribe(),
    Unsubscribe(),
    Confirm(),
    SetDelivery(),
    Help(),
    Lists(),
    Info(),
    Review(),
    Which(),
    Stats(),
    Echo(),
    Add(),
    Invite(),
    Remind(),
    SetText(),
    Delete(),
    Owner(),
    Moderator(),
    Distribute(),
    Reject(),
    Discard(),
    ModIndex(),
    CreateList(),
    Index(),
    Get(),
    Last(),
)


def index(commands: tuple[Command, ...]) -> Mapping[str, Command]:
    """Each name to its command; two commands claiming one name is a mistake caught at import."""
    by_name: dict[str, Command] = {}
    for command in commands:
        for name in command.names:
            if name in by_name:
                raise ValueError(f"command name {name!r} is claimed twice")
            by_name[name] = command
    return by_name


BY_NAME = index(COMMANDS)
