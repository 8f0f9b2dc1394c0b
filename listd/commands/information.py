"""Commands that only tell: HELP, LISTS, INFO, REVIEW (Mailman's who with its filters), WHICH,
STATS and ECHO."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import ColumnElement, func, select

from listd import i18n, list_texts
from listd.commands.command import Command
from listd.commands.context import CommandContext
from listd.commands.parser import split_options
from listd.commands.results import Result, Status
from listd.i18n import N_
from listd.list_templates import available_templates
from listd.members import addresses_with_role
from listd.models import (
    DeliveryMode,
    Domain,
    HeldMessage,
    HeldState,
    ListStatus,
    MailingList,
    Member,
    Role,
)
from listd.settings import ListSettings

# REVIEW of a very large list names this many members, then says how many more there are.
REVIEW_LIMIT = 1000
HELP_INTRO = N_("""Send commands to {request} (or to the robot address), one per line, in the
subject or the body of a mail. Upper or lower case does not matter; the list
may be left out when writing to LIST-request. A line QUIET alone, or before a
command, leaves it out of the reply; a line '-' or QUIT stops the reading.""")
HELP_SHORTCUTS = N_("A mail to LIST-join@ subscribes you, a mail to LIST-leave@ unsubscribes "
                    "you.")
HELP_ALSO = N_("also: {names}")


def _help_entry(ctx: CommandContext, command: Command) -> str:
    usage = str(command.usage)
    summary = i18n.translate(ctx.language, str(command.summary),
                             modes="|".join(m.value.upper() for m in DeliveryMode),
                             templates=", ".join(available_templates(
                                 ctx.runtime.config.list_templates_dir)))
    names = [name.upper() for name in command.names
             if name.upper() != usage.split()[0]]
    also = " (" + i18n.translate(ctx.language, HELP_ALSO, names=", ".join(names)) + ")" \
        if names else ""
    return f"  {usage}\n      {summary}{also}"


class Help:
    names: ClassVar[tuple[str, ...]] = ("help", "aide", "?", "sos")
    usage: ClassVar[str] = "HELP"
    summary: ClassVar[str] = N_("this text, made from the commands the robot reads")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        # The registry imports this module: read it when HELP runs.
        from listd.commands.registry import COMMANDS
        entries = [_help_entry(ctx, command) for command in COMMANDS]
        text = "\n\n".join([i18n.translate(ctx.language, HELP_INTRO,
                                           request=ctx.addresses.request),
                            "\n".join(entries), i18n.translate(ctx.language, HELP_SHORTCUTS)])
        return Result(Status.DONE, text)


class Lists:
    names: ClassVar[tuple[str, ...]] = ("lists",)
    usage: ClassVar[str] = "LISTS"
    summary: ClassVar[str] = N_("the public lists here")

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
    names: ClassVar[tuple[str, ...]] = ("info", "inf")
    usage: ClassVar[str] = "INFO list"
    summary: ClassVar[str] = N_("about a list")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, _rest = ctx.take_list(args)
        settings = ListSettings.of(mailing_list)
        owners = addresses_with_role(ctx.session, mailing_list, Role.OWNER)
        written = list_texts.stored(mailing_list, "info")
        if written is not None:
            return Result(Status.DONE, list_texts.fill(
                written, list=mailing_list.address, subject=mailing_list.subject,
                description=mailing_list.description, owners=", ".join(owners),
                request=ctx.addresses.request).strip())
        return Result(Status.DONE, ctx.say(
            "info", list=mailing_list.address, subject=mailing_list.subject or mailing_list.name,
            description=mailing_list.description,
            subscription=ctx.say(f"policy_{settings.subscription}"),
            owners=", ".join(owners), request=ctx.addresses.request))


# Mailman's who filters: delivery= (enabled|disabled) and mode= (regular|digest|mime|plain|
# summary), each a condition on the members shown.
WHO_MODES = {"regular": ("mail",), "mime": ("digest",), "plain": ("digestplain",),
             "summary": ("summary",), "digest": ("digest", "digestplain", "summary")}


def _who_filters(ctx: CommandContext, options: dict[str, str]) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    known = {mode.value for mode in DeliveryMode}
    for key, value in options.items():
        value = value.lower()
        if key == "mode" and value in WHO_MODES:
            where.append(Member.delivery_mode.in_(
                [DeliveryMode(m) for m in WHO_MODES[value] if m in known]))
        elif key == "delivery" and value in ("enabled", "disabled"):
            disabled = (Member.delivery_mode == DeliveryMode.NOMAIL) | \
                Member.bounce_suspended_at.is_not(None)
            where.append(disabled if value == "disabled" else ~disabled)
        else:
            raise ctx.refuse("usage", usage=Review.usage)
    return where


class Review:
    names: ClassVar[tuple[str, ...]] = ("review", "who", "rev")
    usage: ClassVar[str] = "REVIEW list [delivery=enabled|disabled] [mode=regular|digest]"
    summary: ClassVar[str] = N_("who is subscribed, if the list shows it; Mailman's who filters "
                                "by delivery= and mode=")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        plain, options = split_options(args)
        mailing_list, _rest = ctx.take_list(plain)
        review = ListSettings.of(mailing_list).review
        allowed = (review == "public" or ctx.is_owner(mailing_list)
                   or (review == "members" and ctx.has_role(mailing_list, *Role)))
        if not allowed:
            raise ctx.refuse(f"review_{review}", list=mailing_list.address)
        where = [Member.list_id == mailing_list.id, Member.role == Role.SUBSCRIBER,
                 *_who_filters(ctx, options)]
        if not ctx.is_owner(mailing_list):
            # SET CONCEAL: hidden from everyone but the owners, and not counted either.
            where.append(Member.concealed.is_(False))
        total = ctx.session.scalar(select(func.count()).select_from(Member).where(*where)) or 0
        shown = ctx.session.execute(select(Member.address, Member.display_name).where(*where)
                                    .order_by(Member.address).limit(REVIEW_LIMIT)).all()
        lines = [f"{address}  {name}".rstrip() for address, name in shown]
        if total > len(shown):
            lines.append(ctx.say("more_members", count=total - len(shown)))
        return Result(Status.DONE, "\n".join(
            [ctx.say("review", list=mailing_list.address, count=total), *lines]))


class Which:
    names: ClassVar[tuple[str, ...]] = ("which", "status")
    usage: ClassVar[str] = "WHICH"
    summary: ClassVar[str] = N_("the lists you are on")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        rows = ctx.session.execute(
            select(MailingList, Member.role).join(Member, Member.list_id == MailingList.id)
            .where(Member.address == ctx.sender, MailingList.status == ListStatus.ACTIVE)
            .order_by(MailingList.name, Member.role)).all()
        if not rows:
            return Result(Status.DONE, ctx.say("which_none"))
        lines = [f"{ml.address}  ({ctx.say('role_' + role.value)})" for ml, role in rows]
        return Result(Status.DONE, "\n".join([ctx.say("which"), *lines]))


STATS_TEXT = N_("""Statistics of {list}:
subscribers: {subscribers}
by delivery mode: {modes}
delivery suspended for bounces: {suspended}
posts waiting for a moderator: {held}""")


class Stats:
    names: ClassVar[tuple[str, ...]] = ("stats",)
    usage: ClassVar[str] = "STATS list"
    summary: ClassVar[str] = N_("owners: the list's figures (subscribers, modes, bounces, held "
                                "posts)")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, _rest = ctx.take_list(args)
        if not ctx.is_owner(mailing_list):
            raise ctx.refuse("owners_only", list=mailing_list.address)
        subscribers = (Member.list_id == mailing_list.id, Member.role == Role.SUBSCRIBER)
        modes = ctx.session.execute(
            select(Member.delivery_mode, func.count()).where(*subscribers)
            .group_by(Member.delivery_mode).order_by(Member.delivery_mode)).all()
        suspended = ctx.session.scalar(select(func.count()).select_from(Member).where(
            *subscribers, Member.bounce_suspended_at.is_not(None))) or 0
        held = ctx.session.scalar(select(func.count()).select_from(HeldMessage).where(
            HeldMessage.list_id == mailing_list.id, HeldMessage.state == HeldState.HELD)) or 0
        return Result(Status.DONE, i18n.translate(
            ctx.language, STATS_TEXT, list=mailing_list.address,
            subscribers=sum(count for _mode, count in modes),
            modes=", ".join(f"{mode.value.upper()} {count}" for mode, count in modes) or "-",
            suspended=suspended, held=held))


class Echo:
    names: ClassVar[tuple[str, ...]] = ("echo",)
    usage: ClassVar[str] = "ECHO text"
    summary: ClassVar[str] = N_("answers the text back (Mailman)")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        return Result(Status.DONE, " ".join(args))
