"""Commands that only tell: HELP, LISTS, INFO, REVIEW, WHICH."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import func, select

from listd.commands.context import CommandContext
from listd.commands.results import Result, Status
from listd.delivery_modes import served_names
from listd.members import addresses_with_role
from listd.models import Domain, ListStatus, MailingList, Member, Role
from listd.settings import ListSettings
from listd.templates import render

# REVIEW of a very large list names this many members, then says how many more there are.
REVIEW_LIMIT = 1000


class Help:
    names: ClassVar[tuple[str, ...]] = ("help", "aide", "?")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        text = render("help", ctx.language, request=ctx.addresses.request,
                      modes=served_names(" ").upper())
        return Result(Status.DONE, text.body.strip())


class Lists:
    names: ClassVar[tuple[str, ...]] = ("lists",)

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        found = ctx.session.scalars(
            select(MailingList).join(Domain)
            .where(Domain.name == ctx.domain, MailingList.status == ListStatus.ACTIVE)
            .order_by(MailingList.name))
        shown = [f"{ml.address}  {ml.subject}".rstrip() for ml in found
                 if ListSettings.of(ml).visibility == "public"]
        if not shown:
            return Result(Status.DONE, ctx.say("no_lists", domain=ctx.domain))
        return Result(Status.DONE, ctx.say("lists", domain=ctx.domain) + "\n" + "\n".join(shown))


class Info:
    names: ClassVar[tuple[str, ...]] = ("info",)

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, _rest = ctx.take_list(args)
        settings = ListSettings.of(mailing_list)
        owners = addresses_with_role(ctx.session, mailing_list, Role.OWNER)
        return Result(Status.DONE, ctx.say(
            "info", list=mailing_list.address, subject=mailing_list.subject or mailing_list.name,
            description=mailing_list.description,
            subscription=ctx.say(f"policy_{settings.subscription}"),
            owners=", ".join(owners), request=ctx.addresses.request))


class Review:
    names: ClassVar[tuple[str, ...]] = ("review", "who")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, _rest = ctx.take_list(args)
        review = ListSettings.of(mailing_list).review
        allowed = (review == "public" or ctx.is_owner(mailing_list)
                   or (review == "members" and ctx.has_role(mailing_list, *Role)))
        if not allowed:
            raise ctx.refuse(f"review_{review}", list=mailing_list.address)
        where = (Member.list_id == mailing_list.id, Member.role == Role.SUBSCRIBER)
        total = ctx.session.scalar(select(func.count()).where(*where)) or 0
        shown = ctx.session.execute(select(Member.address, Member.display_name).where(*where)
                                    .order_by(Member.address).limit(REVIEW_LIMIT)).all()
        lines = [f"{address}  {name}".rstrip() for address, name in shown]
        if total > len(shown):
            lines.append(ctx.say("more_members", count=total - len(shown)))
        return Result(Status.DONE, "\n".join(
            [ctx.say("review", list=mailing_list.address, count=total), *lines]))


class Which:
    names: ClassVar[tuple[str, ...]] = ("which",)

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        rows = ctx.session.execute(
            select(MailingList, Member.role).join(Member, Member.list_id == MailingList.id)
            .where(Member.address == ctx.sender, MailingList.status == ListStatus.ACTIVE)
            .order_by(MailingList.name, Member.role)).all()
        if not rows:
            return Result(Status.DONE, ctx.say("which_none"))
        lines = [f"{ml.address}  ({ctx.say('role_' + role.value)})" for ml, role in rows]
        return Result(Status.DONE, "\n".join([ctx.say("which"), *lines]))
