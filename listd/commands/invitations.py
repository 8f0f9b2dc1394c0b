"""Owners' mailings to people: INVITE (one person, who accepts by replying) and REMIND (every
member of a list, or of every list for a listmaster: a reminder of the subscription and of how
to leave, queued as a fan-out)."""

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
from listd.i18n import N_, translate, translate_plural
from listd.models import Domain, ListStatus, MailingList, Role
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


class Remind:
    names: ClassVar[tuple[str, ...]] = ("remind", "rem")
    usage: ClassVar[str] = "REMIND list | REMIND *"
    summary: ClassVar[str] = N_("owners: remind every member of the subscription and of how to "
                                "leave; * (listmasters): every list here")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        if args and args[0] == "*":
            if not ctx.is_listmaster():
                raise ctx.refuse("listmasters_only")
            chosen = list(ctx.session.scalars(select(MailingList).join(Domain).where(
                Domain.name == ctx.domain, MailingList.status == ListStatus.ACTIVE)
                .order_by(MailingList.name)))
        else:
            mailing_list, _rest = ctx.take_list(args)
            if not ctx.is_owner(mailing_list):
                raise ctx.refuse("owners_only", list=mailing_list.address)
            chosen = [mailing_list]
        counts = [(ml.address, remind(ctx.session, ctx.runtime, ml, ctx.sender))
                  for ml in chosen]
        return Result(Status.DONE, "\n".join(translate_plural(
            ctx.language, "reminder queued for {count} member of {list}",
            "reminder queued for {count} members of {list}", count, list=address)
            for address, count in counts) or "-")
