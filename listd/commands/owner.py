"""Owners' commands: ADD and DEL, each confirmed from the owner's own address first."""

from __future__ import annotations

from typing import ClassVar

from listd import members
from listd.commands import membership
from listd.commands.context import CommandContext
from listd.commands.results import Result
from listd.i18n import N_
from listd.models import MailingList


def _owner_target(ctx: CommandContext, args: tuple[str, ...], usage: str
                  ) -> tuple[MailingList, str, tuple[str, ...]]:
    mailing_list, rest = ctx.take_list(args)
    if not rest:
        raise ctx.refuse("usage", usage=usage)
    return mailing_list, ctx.owner_command_address(mailing_list, rest[0]), rest[1:]


class Add:
    names: ClassVar[tuple[str, ...]] = ("add",)
    usage: ClassVar[str] = "ADD list address [Name]"
    summary: ClassVar[str] = N_("owners: add a subscriber (asks to confirm)")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, address, rest = _owner_target(ctx, args, self.usage)
        if members.find_member(ctx.session, mailing_list, address) is not None:
            raise ctx.refuse("already_member", address=address, list=mailing_list.address)
        return membership.request_owner_change(ctx, mailing_list, membership.OWNER_ADD,
                                               address, " ".join(rest))


class Delete:
    names: ClassVar[tuple[str, ...]] = ("del", "delete")
    usage: ClassVar[str] = "DEL list address"
    summary: ClassVar[str] = N_("owners: remove a subscriber (asks to confirm)")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, address, _rest = _owner_target(ctx, args, self.usage)
        if members.find_member(ctx.session, mailing_list, address) is None:
            raise ctx.refuse("not_member", address=address, list=mailing_list.address)
        return membership.request_owner_change(ctx, mailing_list, membership.OWNER_DEL,
                                               address)
