"""Owners name owners and moderators by mail: OWNER and MODERATOR, then ADD or DEL.

As with ADD and DEL, an owner's command can be forged, so it is carried out only once the
owner's own address has answered the confirmation request. A list never loses its last owner:
that is refused when asked and again when confirmed (another DEL may have come in between).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy.orm import Session

from listd import members
from listd.commands import phrases
from listd.commands.context import CommandContext
from listd.commands.membership import (
    Request,
    asked_result,
    on_active_list,
    repeated_in_mail,
    request_confirmation,
)
from listd.commands.results import Result, Status
from listd.i18n import N_
from listd.models import MailingList, Role
from listd.runtime import Runtime

if TYPE_CHECKING:
    from listd.confirmations import Confirming

ROLE_ADD = "role_add"
ROLE_DEL = "role_del"


def _is(session: Session, mailing_list: MailingList, address: str, role: Role) -> bool:
    return members.find_member(session, mailing_list, address, role) is not None


def _last_owner(session: Session, mailing_list: MailingList, address: str, role: Role) -> bool:
    return role is Role.OWNER and _is(session, mailing_list, address, role) and \
        members.count_role(session, mailing_list, Role.OWNER) <= 1


class _ManageRole:
    names: ClassVar[tuple[str, ...]]
    usage: ClassVar[str]
    role: ClassVar[Role]

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        usage = self.usage
        mailing_list, rest = ctx.take_list(args)
        if len(rest) < 2 or rest[0].lower() not in ("add", "del"):
            raise ctx.refuse("usage", usage=usage)
        address = ctx.owner_command_address(mailing_list, rest[1])
        values = {"address": address, "list": mailing_list.address,
                  "role": ctx.say(f"role_{self.role.value}")}
        adding = rest[0].lower() == "add"
        if adding and _is(ctx.session, mailing_list, address, self.role):
            raise ctx.refuse("already_role", **values)
        if not adding and not _is(ctx.session, mailing_list, address, self.role):
            raise ctx.refuse("not_role", **values)
        if not adding and _last_owner(ctx.session, mailing_list, address, self.role):
            raise ctx.refuse("last_owner", **values)
        action = ROLE_ADD if adding else ROLE_DEL
        if not ctx.claim_confirmation(f"{action}:{self.role.value}", address, mailing_list):
            return repeated_in_mail(ctx)
        asked = request_confirmation(ctx, Request(
            action, address, mailing_list, "confirm_role_add" if adding else "confirm_role_del",
            ctx.sender, {"role": self.role.value, "owner": ctx.sender,
                         "name": " ".join(rest[2:]) if adding else ""},
            same=("role", "owner"), values={"owner": ctx.sender, "role": values["role"]}))
        return asked_result(ctx, asked, "owner_confirmation_sent", ctx.sender)


class Owner(_ManageRole):
    names: ClassVar[tuple[str, ...]] = ("owner",)
    usage: ClassVar[str] = "OWNER list ADD|DEL address"
    summary: ClassVar[str] = N_("owners: add or remove an owner (asks to confirm; the last owner "
                                "is never removed)")
    role: ClassVar = Role.OWNER


class Moderator(_ManageRole):
    names: ClassVar[tuple[str, ...]] = ("moderator", "editor")
    usage: ClassVar[str] = "MODERATOR list ADD|DEL address"
    summary: ClassVar[str] = N_("owners: add or remove a moderator (asks to confirm)")
    role: ClassVar = Role.MODERATOR


def _confirmed(c: Confirming) -> tuple[MailingList, str, Role, dict[str, object]]:
    mailing_list = c.mailing_list
    assert mailing_list is not None
    role = Role(str(c.pending.payload.get("role", Role.MODERATOR.value)))
    values: dict[str, object] = {"address": c.pending.address, "list": mailing_list.address,
              "role": phrases.say(mailing_list.language, f"role_{role.value}")}
    return mailing_list, c.pending.address, role, values


@on_active_list
def role_add_confirmed(session: Session, runtime: Runtime, c: Confirming) -> Result:
    mailing_list, address, role, values = _confirmed(c)
    if _is(session, mailing_list, address, role):
        return Result(Status.DONE, phrases.say(mailing_list.language, "already_role", **values))
    members.add_member(session, mailing_list, address, str(c.pending.payload.get("name", "")),
                       role=role, actor=c.confirmed_by)
    return Result(Status.DONE, phrases.say(mailing_list.language, "role_added", **values))


@on_active_list
def role_del_confirmed(session: Session, runtime: Runtime, c: Confirming) -> Result:
    mailing_list, address, role, values = _confirmed(c)
    if not _is(session, mailing_list, address, role):
        return Result(Status.REFUSED, phrases.say(mailing_list.language, "not_role", **values))
    if _last_owner(session, mailing_list, address, role):
        return Result(Status.REFUSED, phrases.say(mailing_list.language, "last_owner", **values))
    members.remove_member(session, mailing_list, address, role=role, actor=c.confirmed_by)
    return Result(Status.DONE, phrases.say(mailing_list.language, "role_removed", **values))
