"""The archive by mail, Sympa's INDEX list, GET list N and LAST list: the same access rule as
the web pages (the list's `archive` setting), with the sender's membership checked."""

from __future__ import annotations

from typing import ClassVar

from listd.archive import store
from listd.archive.access import Access, Reader, archive_access
from listd.commands.context import CommandContext
from listd.commands.results import Result, Status
from listd.errors import NotFound
from listd.i18n import N_
from listd.models import ArchivedMessage, MailingList, Role
from listd.settings import ListSettings

# INDEX names the newest this many messages.
INDEX_LIMIT = 200
REFUSAL_KEYS = {Access.NO_ARCHIVE: "archive_off", Access.MEMBERS_ONLY: "archive_members",
                Access.OWNERS_ONLY: "archive_owners"}


def _readable(ctx: CommandContext, args: tuple[str, ...]) -> tuple[MailingList, tuple[str, ...]]:
    mailing_list, rest = ctx.take_list(args)
    reader = Reader.OWNER if ctx.is_owner(mailing_list) else \
        Reader.MEMBER if ctx.has_role(mailing_list, *Role) else Reader.ANYONE
    access = archive_access(ListSettings.of(mailing_list).archive, reader)
    if access is not Access.GRANTED:
        raise ctx.refuse(REFUSAL_KEYS[access], list=mailing_list.address)
    return mailing_list, rest


def as_text(row: ArchivedMessage) -> str:
    author = f"{row.author_name} <{row.author_address}>" if row.author_name else \
        row.author_address
    return (f"Message #{row.number}\nFrom: {author}\nDate: {row.date:%Y-%m-%d %H:%M} UTC\n"
            f"Subject: {row.subject}\nMessage-ID: {row.message_id}\n\n{row.body_text}\n")


class Index:
    names: ClassVar[tuple[str, ...]] = ("index",)
    usage: ClassVar[str] = "INDEX list"
    summary: ClassVar[str] = N_("the newest messages of the list's archive, with their numbers")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, _rest = _readable(ctx, args)
        rows = sorted(store.latest(ctx.session, mailing_list, INDEX_LIMIT),
                      key=lambda r: r.number)
        if not rows:
            return Result(Status.DONE, ctx.say("archive_empty", list=mailing_list.address))
        lines = [f"{r.number:>5}  {r.date:%Y-%m-%d}  {r.author_address}  {r.subject}"
                 for r in rows]
        return Result(Status.DONE, "\n".join(
            [ctx.say("archive_index", list=mailing_list.address, count=len(rows)), *lines]))


class Get:
    names: ClassVar[tuple[str, ...]] = ("get",)
    usage: ClassVar[str] = "GET list N"
    summary: ClassVar[str] = N_("message number N of the list's archive")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, rest = _readable(ctx, args)
        if len(rest) != 1 or not rest[0].isdigit():
            raise ctx.refuse("usage", usage="GET list N")
        try:
            row = store.by_number(ctx.session, mailing_list, int(rest[0]))
        except NotFound:
            raise ctx.refuse("archive_no_message", list=mailing_list.address,
                             number=rest[0]) from None
        return Result(Status.DONE, as_text(row))


class Last:
    names: ClassVar[tuple[str, ...]] = ("last",)
    usage: ClassVar[str] = "LAST list"
    summary: ClassVar[str] = N_("the newest message of the list's archive")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, _rest = _readable(ctx, args)
        rows = store.latest(ctx.session, mailing_list, 1)
        if not rows:
            return Result(Status.DONE, ctx.say("archive_empty", list=mailing_list.address))
        return Result(Status.DONE, as_text(rows[0]))
