"""Owners' mailings to people: INVITE (one person, who accepts by replying) and REMIND (every
member of a list, or for a listmaster every subscriber of every list of every domain, one mail
each naming its lists: a reminder of the subscriptions and of how to leave, queued as a
fan-out)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import audit, list_texts, members, tokens
from listd.addresses import AddressKind, scheme_address
from listd.commands import membership
from listd.commands.context import CommandContext
from listd.commands.outgoing import RobotAddresses, send, send_to_members
from listd.commands.results import Result, Status
from listd.i18n import N_, Nn_, translate, translate_plural
from listd.models import Domain, ListStatus, MailingList, Member, Role
from listd.runtime import Runtime
from listd.templates import MailText

if TYPE_CHECKING:
    from listd.confirmations import Confirming

INVITE = "invite"
INVITATION = MailText(
    N_("Invitation to join {list} (CONFIRM {token})"),
    N_("""Hello {who},

{owner}, an owner of the list {list} ({subject}), invites you to join it.

To accept, simply reply to this mail yourself (an automatic reply does not count),
or send a mail to {request} with this line:

  CONFIRM {token}

If you do not want to join, ignore this mail: nothing will change, and you will not
be asked again by this invitation. It expires in {days} days.
"""))
REMINDER = MailText(
    N_("Your subscription to {list}"),
    N_("""Hello,

This is a reminder: this address is subscribed to the list {list} ({subject}).

To leave the list, send a mail to {leave}
(or the line SIGNOFF {list} to {request}); you will be asked to confirm.
For the other commands, send HELP to {request}.
"""))


class Invite:
    names: ClassVar[tuple[str, ...]] = ("invite", "inv")
    usage: ClassVar[str] = "INVITE list address [Name]"
    summary: ClassVar[str] = N_("owners: invite someone, who joins by answering the invitation")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, rest = ctx.take_list(args)
        if not rest:
            raise ctx.refuse("usage", usage=self.usage)
        address = ctx.owner_command_address(mailing_list, rest[0])
        if members.find_member(ctx.session, mailing_list, address) is not None:
            raise ctx.refuse("already_member", address=address, list=mailing_list.address)
        name = " ".join(rest[1:])
        if not ctx.claim_confirmation(INVITE, address, mailing_list):
            return membership.repeated_in_mail(ctx)
        pending = tokens.waiting(ctx.session, ctx.runtime, INVITE, address, mailing_list)
        if pending is not None and ctx.runtime.clock.now() - tokens.asked_at(pending) \
                < membership.REMIND_AFTER:
            return membership.asked_result(ctx, membership.Asked.WAITING, "", address)
        pending = pending or tokens.issue(ctx.session, ctx.runtime, INVITE, address,
                                          mailing_list, {"name": name, "owner": ctx.sender})
        tokens.mark_asked(pending, ctx.runtime.clock.now())
        _mail_invitation(ctx, mailing_list, pending.token, address, name)
        return Result(Status.WAITING, translate(
            ctx.language, "{address} was invited to {list}; nothing changes until they accept.",
            address=address, list=mailing_list.address))


def _mail_invitation(ctx: CommandContext, mailing_list: MailingList, token: str, address: str,
                     name: str) -> None:
    addresses = RobotAddresses.of(ctx.runtime, mailing_list)
    confirm_address = addresses.confirm(token)
    values = {"who": name or address, "owner": ctx.sender, "list": mailing_list.address,
              "subject": mailing_list.subject or mailing_list.name, "token": token,
              "request": addresses.request, "days": ctx.runtime.config.token_ttl_days}
    text = list_texts.mail_text(mailing_list, "invitation",
                                INVITATION.render(mailing_list.language, **values), **values)
    assert text is not None  # an invitation cannot be turned off, only rewritten
    send(ctx.session, ctx.runtime, addresses, to=[address], text=text, kind="confirm",
         mailing_list=mailing_list, sender=confirm_address, reply_to=confirm_address,
         in_reply_to=None)


@membership.on_active_list
def invitation_accepted(session: Session, runtime: Runtime,
                        c: Confirming) -> Result:
    """The invitee answered: subscribed, whatever the list's subscription policy, as an owner
    asked for it."""
    mailing_list, address = c.mailing_list, c.pending.address
    assert mailing_list is not None
    if members.find_member(session, mailing_list, address) is not None:
        return Result(Status.DONE, translate(mailing_list.language,
                                             "you are already subscribed to {list}.",
                                             list=mailing_list.address))
    membership.subscribe_member(session, runtime, mailing_list, address,
                                str(c.pending.payload.get("name", "")), actor=c.confirmed_by)
    return Result(Status.DONE, translate(mailing_list.language,
                                         "{address} is now subscribed to {list}.",
                                         address=address, list=mailing_list.address),
                  notified=True)


def remind(session: Session, runtime: Runtime, mailing_list: MailingList, actor: str) -> int:
    """Queue the reminder for every subscriber of MAILING_LIST; how many it goes to."""
    recipients = members.addresses_with_role(session, mailing_list, Role.SUBSCRIBER)
    if not recipients:
        return 0
    addresses = RobotAddresses.of(runtime, mailing_list)
    values = {"list": mailing_list.address, "subject": mailing_list.subject or mailing_list.name,
              "request": addresses.request,
              "leave": scheme_address(mailing_list.name, mailing_list.domain.name,
                                      AddressKind.LEAVE)}
    text = list_texts.mail_text(mailing_list, "reminder",
                                REMINDER.render(mailing_list.language, **values), **values)
    assert text is not None  # a reminder cannot be turned off, only rewritten
    send_to_members(session, runtime, mailing_list, recipients, text, kind="reminder")
    audit.record(session, actor, "list.remind", mailing_list, None, recipients=len(recipients))
    return len(recipients)


# REMIND *: one mail per subscriber, whatever the domain, naming all its lists.
REMINDER_OF_ALL = MailText.counting(
    Nn_("Your subscription to {count} list", "Your subscriptions to {count} lists"),
    N_("""Hello,

This is a reminder: this address is subscribed to these lists:

{lists}

To leave one, send a mail to the address given below it; you will be asked to confirm.
To leave them all, send the line SIGNOFF * to {request}.
For the other commands, send HELP to {request}.
"""))
LIST_LINE = N_("  {list} ({subject})\n    to leave: {leave}")


def _active_subscriptions(session: Session) -> dict[str, list[MailingList]]:
    """Each subscriber of an active list, on any domain, and its lists (by address)."""
    active = {ml.id: ml for ml in session.scalars(
        select(MailingList).join(Domain).where(MailingList.status == ListStatus.ACTIVE)
        .order_by(Domain.name, MailingList.name))}
    order = {list_id: rank for rank, list_id in enumerate(active)}
    # Two plain columns, not ORM rows: a site has hundreds of thousands of subscriptions.
    rows = session.execute(
        select(Member.address, Member.list_id).join(MailingList, Member.list_id == MailingList.id)
        .where(Member.role == Role.SUBSCRIBER, MailingList.status == ListStatus.ACTIVE))
    found: dict[str, list[MailingList]] = {}
    for address, list_id in rows:
        if list_id in active:  # a list closed meanwhile is simply left out
            found.setdefault(address, []).append(active[list_id])
    for address_lists in found.values():
        address_lists.sort(key=lambda ml: order[ml.id])
    return found


def remind_everyone(session: Session, runtime: Runtime, actor: str) -> tuple[int, int]:
    """REMIND *: queue for every subscriber of every active list of every domain one mail
    naming its lists and how to leave each; (subscribers, lists).

    Those with the same lists share one stored message, fanned out with a VERP sender per
    recipient (of the first of those lists) and paced by the delivery workers like a post."""
    groups: dict[tuple[int, ...], list[str]] = {}
    by_ids: dict[tuple[int, ...], list[MailingList]] = {}
    for address, found in _active_subscriptions(session).items():
        key = tuple(ml.id for ml in found)
        groups.setdefault(key, []).append(address)
        by_ids[key] = found
    for key, recipients in groups.items():
        _remind_group(session, runtime, by_ids[key], recipients)
    lists = {ml_id for key in groups for ml_id in key}
    audit.record(session, actor, "site.remind", None, None,
                 recipients=sum(map(len, groups.values())), lists=len(lists))
    return sum(map(len, groups.values())), len(lists)


def _remind_group(session: Session, runtime: Runtime, found: list[MailingList],
                  recipients: list[str]) -> None:
    first = found[0]
    languages = {ml.language for ml in found}
    language = first.language if len(languages) == 1 else runtime.config.language
    site = RobotAddresses.of(runtime, None, first.domain.name)
    lines = "\n".join(translate(language, LIST_LINE, list=ml.address,
                                subject=ml.subject or ml.name,
                                leave=scheme_address(ml.name, ml.domain.name, AddressKind.LEAVE))
                      for ml in found)
    text = REMINDER_OF_ALL.render(language, count=len(found), lists=lines,
                                  request=site.request)
    send_to_members(session, runtime, first, recipients, text, kind="reminder",
                    addresses=site)


class Remind:
    names: ClassVar[tuple[str, ...]] = ("remind", "rem")
    usage: ClassVar[str] = "REMIND list | REMIND *"
    summary: ClassVar[str] = N_("owners: remind every member of the subscription and of how to "
                                "leave; * (listmasters): every subscriber of every list of the "
                                "site, one mail naming all its lists")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        if args and args[0] == "*":
            if not ctx.is_listmaster():
                raise ctx.refuse("listmasters_only")
            members_count, lists_count = remind_everyone(ctx.session, ctx.runtime, ctx.sender)
            return Result(Status.DONE, translate_plural(
                ctx.language, "reminder queued for {count} subscriber of {lists} lists",
                "reminder queued for {count} subscribers of {lists} lists", members_count,
                lists=lists_count))
        mailing_list, _rest = ctx.take_list(args)
        if not ctx.is_owner(mailing_list):
            raise ctx.refuse("owners_only", list=mailing_list.address)
        count = remind(ctx.session, ctx.runtime, mailing_list, ctx.sender)
        return Result(Status.DONE, translate_plural(
            ctx.language, "reminder queued for {count} member of {list}",
            "reminder queued for {count} members of {list}", count, list=mailing_list.address))
