"""Joining and leaving a list by mail: requests that wait for a confirmation, and what each
confirmation does once it comes (the functions named in confirmations.CONFIRM_ACTIONS).

Nothing changes membership on someone's behalf without an answer from an address that got the
confirmation mail, since any From: can be forged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import audit, i18n, list_texts, members, tokens
from listd.addresses import AddressKind, normalize_address, scheme_address
from listd.commands import phrases
from listd.commands.outgoing import RobotAddresses, send
from listd.commands.results import Result, Status
from listd.confirm_links import web_confirmation_text
from listd.i18n import N_
from listd.models import DeliveryMode, ListStatus, MailingList, Member, PendingAction, Role
from listd.runtime import Runtime
from listd.settings import ListSettings
from listd.templates import MailText, Text, render

if TYPE_CHECKING:
    from listd.commands.context import CommandContext
    from listd.confirmations import ConfirmAction, Confirming

# Requests a person may also confirm on the web page their mail links to.
WEB_CONFIRMED = frozenset({"confirm_subscribe", "confirm_unsubscribe"})
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
APPROVE_SUBSCRIPTION = "approve_subscription"
REFUSE_SUBSCRIPTION = "refuse_subscription"
OWNER_ADD = "owner_add"
OWNER_DEL = "owner_del"
SET_DELIVERY = "set_delivery"
SET_CONCEALMENT = "set_concealment"
# SIGNOFF * and SET * MODE: one confirmation for all the lists an address is on.
UNSUBSCRIBE_EVERYWHERE = "unsubscribe_everywhere"
SET_DELIVERY_EVERYWHERE = "set_delivery_everywhere"

CONFIRM_UNSUBSCRIBE_EVERYWHERE = MailText(
    N_("Confirm leaving all your lists (CONFIRM {token})"),
    N_("""Hello,

Someone, probably you, asked to unsubscribe {address} from all its lists here:

{lists}

To confirm, simply reply to this mail yourself (an automatic reply does not count),
or send a mail to {request} with this line:

  CONFIRM {token}

If you did not ask for this, ignore this mail: nothing will change.
This request expires in {days} days.
"""))
CONFIRM_DELIVERY_EVERYWHERE = MailText(
    N_("Confirm delivery mode {mode} on all your lists (CONFIRM {token})"),
    N_("""Hello,

Someone, probably you, asked to change how {address} receives all its lists here,
to {mode}:

{lists}

To confirm, simply reply to this mail yourself (an automatic reply does not count),
or send a mail to {request} with this line:

  CONFIRM {token}

If you did not ask for this, ignore this mail: nothing will change.
This request expires in {days} days.
"""))


def membership_is_private(mailing_list: MailingList) -> bool:
    """Whether a stranger may not learn who is on the list."""
    return ListSettings.of(mailing_list).review != "public"


def _is_subscribed(session: Session, mailing_list: MailingList, address: str) -> bool:
    return members.find_member(session, mailing_list, address) is not None


class Asked(enum.Enum):
    """What asking for a confirmation came to."""

    SENT = "sent"
    # The same request waited already; its request was mailed again (once a day at most).
    REMINDED = "reminded"
    # The same request waited already and was mailed less than REMIND_AFTER ago: no mail, so
    # a thousand forged requests make one mail a day in the victim's mailbox, not a thousand.
    WAITING = "waiting"


REMIND_AFTER = dt.timedelta(days=1)


@dataclass(frozen=True)
class Request:
    """A change on behalf of ADDRESS that waits for a confirmation mailed to TO."""

    action: str
    address: str
    mailing_list: MailingList
    template: str
    to: str
    payload: dict[str, object] = field(default_factory=dict)
    # The payload keys that make two requests the same one (SET's mode, an owner's name).
    same: tuple[str, ...] = ()
    values: dict[str, object] = field(default_factory=dict)


def request_confirmation(ctx: CommandContext, request: Request) -> Asked:
    """Mail the confirmation request for REQUEST, unless the same one already waits."""
    same = {key: request.payload.get(key) for key in request.same}
    pending = tokens.waiting(ctx.session, ctx.runtime, request.action, request.address,
                             request.mailing_list, same)
    now = ctx.runtime.clock.now()
    if pending is not None and now - tokens.asked_at(pending) < REMIND_AFTER:
        return Asked.WAITING
    asked = Asked.SENT if pending is None else Asked.REMINDED
    if pending is None:
        # Issued already marked as asked: one INSERT, not an INSERT and an UPDATE.
        pending = tokens.issue(ctx.session, ctx.runtime, request.action, request.address,
                               request.mailing_list, tokens.asked(request.payload, now))
    else:
        tokens.mark_asked(pending, now)
    ask_confirmation(ctx.session, ctx.runtime, request.mailing_list, pending, request.template,
                     request.to, ctx.in_reply_to, **request.values)
    return asked


def asked_result(ctx: CommandContext, asked: Asked, sent_key: str, to: str) -> Result:
    """The reply's line for a request that waits for a confirmation mailed to TO."""
    key = {Asked.SENT: sent_key, Asked.REMINDED: "confirmation_reminded",
           Asked.WAITING: "confirmation_pending"}[asked]
    return Result(Status.WAITING, ctx.say(key, address=to), confirmation=True)


def ask_confirmation(session: Session, runtime: Runtime, mailing_list: MailingList,
                     pending: PendingAction, template: str, to: str,
                     in_reply_to: str | None = None, **values: object) -> None:
    """Mail TO the confirmation request for PENDING; answering it confirms."""
    addresses = RobotAddresses.of(runtime, mailing_list)
    confirm_address = addresses.confirm(pending.token)
    text = render(template, mailing_list.language, list=mailing_list.address,
                  token=pending.token, confirm=confirm_address, request=addresses.request,
                  address=pending.address, days=runtime.config.token_ttl_days, **values)
    if template in WEB_CONFIRMED:
        text = dataclasses.replace(text, body=text.body + web_confirmation_text(
            runtime.config, mailing_list.language, pending.token))
    send(session, runtime, addresses, to=[to], text=text, kind="confirm",
         mailing_list=mailing_list, sender=confirm_address, reply_to=confirm_address,
         in_reply_to=in_reply_to)


# Requests, from commands -------------------------------------------------------------------

def request_subscription(ctx: CommandContext, mailing_list: MailingList, name: str,
                         address: str | None = None, mode: DeliveryMode | None = None
                         ) -> Result:
    """Subscribe ADDRESS (the sender unless named) once ADDRESS confirms, in MODE if given."""
    address = address or ctx.sender
    if ListSettings.of(mailing_list).subscription == "closed":
        raise ctx.refuse("subscription_closed", list=mailing_list.address)
    private = membership_is_private(mailing_list)
    # On a private list an already-subscribed address gets the same answer and the same
    # confirmation as anyone else: the reply must not tell who is a member.
    if not private and _is_subscribed(ctx.session, mailing_list, address):
        return Result(Status.DONE, ctx.say("already_subscribed", list=mailing_list.address))
    if not ctx.claim_confirmation(SUBSCRIBE, address, mailing_list):
        return repeated_in_mail(ctx)
    payload: dict[str, object] = {"name": name}
    if mode is not None:
        payload["mode"] = mode.value
    asked = request_confirmation(ctx, Request(SUBSCRIBE, address, mailing_list,
                                              "confirm_subscribe", address, payload))
    return asked_result(ctx, asked, "confirmation_sent", address)


def repeated_in_mail(ctx: CommandContext) -> Result:
    """The answer to a request already made earlier in the same mail."""
    return Result(Status.WAITING, ctx.say("confirmation_already_sent", address=ctx.sender),
                  confirmation=True)


def request_unsubscription(ctx: CommandContext, mailing_list: MailingList) -> Result:
    if not membership_is_private(mailing_list) and not _is_subscribed(
            ctx.session, mailing_list, ctx.sender):
        raise ctx.refuse("not_subscribed", list=mailing_list.address)
    if not ctx.claim_confirmation(UNSUBSCRIBE, ctx.sender, mailing_list):
        return repeated_in_mail(ctx)
    asked = request_confirmation(ctx, Request(UNSUBSCRIBE, ctx.sender, mailing_list,
                                              "confirm_unsubscribe", ctx.sender))
    return asked_result(ctx, asked, "confirmation_sent", ctx.sender)


def request_delivery_change(ctx: CommandContext, mailing_list: MailingList,
                            mode: DeliveryMode) -> Result:
    """SET list MODE: carried out once the member's own address confirms, since a forged
    From: could otherwise silence anyone's delivery."""
    member = members.find_member(ctx.session, mailing_list, ctx.sender)
    if member is None:
        raise ctx.refuse("not_subscribed", list=mailing_list.address)
    if member.delivery_mode is mode and member.bounce_suspended_at is None:
        return Result(Status.DONE, ctx.say("delivery_set", list=mailing_list.address,
                                           mode=mode.value.upper()))
    if not ctx.claim_confirmation(f"{SET_DELIVERY}:{mode.value}", ctx.sender, mailing_list):
        return repeated_in_mail(ctx)
    asked = request_confirmation(ctx, Request(
        SET_DELIVERY, ctx.sender, mailing_list, "confirm_delivery", ctx.sender,
        {"mode": mode.value}, same=("mode",), values={"mode": mode.value.upper()}))
    return asked_result(ctx, asked, "confirmation_sent", ctx.sender)


def subscribed_lists(session: Session, address: str) -> list[MailingList]:
    """The active lists ADDRESS is subscribed to, by address."""
    return list(session.scalars(
        select(MailingList).join(Member, Member.list_id == MailingList.id)
        .where(Member.address == address, Member.role == Role.SUBSCRIBER,
               MailingList.status == ListStatus.ACTIVE).order_by(MailingList.name)))


def _everywhere(ctx: CommandContext, action: str, address: str, text: MailText,
                mode: DeliveryMode | None = None) -> Result:
    """A request about all the lists ADDRESS is on, confirmed by ADDRESS, in one mail."""
    found = subscribed_lists(ctx.session, address)
    if not found and address == ctx.sender:
        raise ctx.refuse("which_none")
    if ctx.requested & {(action, address, 0)}:
        return repeated_in_mail(ctx)
    ctx.spend_confirmation()
    ctx.requested.add((action, address, 0))
    if found:
        # Told another address or not, the reply is the same: it must not say who is where.
        payload = {"lists": [ml.id for ml in found], "mode": mode.value if mode else None}
        same = {"mode": payload["mode"]}
        pending = tokens.waiting(ctx.session, ctx.runtime, action, address, None, same)
        now = ctx.runtime.clock.now()
        if pending is not None and now - tokens.asked_at(pending) < REMIND_AFTER:
            return asked_result(ctx, Asked.WAITING, "confirmation_sent", address)
        pending = pending or tokens.issue(ctx.session, ctx.runtime, action, address, None,
                                          payload)
        tokens.mark_asked(pending, now)
        _mail_everywhere(ctx, pending, text, found, mode)
    return asked_result(ctx, Asked.SENT, "confirmation_sent", address)


def _mail_everywhere(ctx: CommandContext, pending: PendingAction, text: MailText,
                     found: list[MailingList], mode: DeliveryMode | None) -> None:
    addresses = RobotAddresses.of(ctx.runtime, None, ctx.domain)
    confirm_address = addresses.confirm(pending.token)
    rendered = text.render(ctx.language, token=pending.token, address=pending.address,
                           lists="\n".join(f"  {ml.address}" for ml in found),
                           request=addresses.request, days=ctx.runtime.config.token_ttl_days,
                           mode=mode.value.upper() if mode else "")
    send(ctx.session, ctx.runtime, addresses, to=[pending.address], text=rendered,
         kind="confirm", mailing_list=None, sender=confirm_address, reply_to=confirm_address,
         in_reply_to=ctx.in_reply_to)


def request_unsubscription_everywhere(ctx: CommandContext, address: str) -> Result:
    """SIGNOFF * [address]: ADDRESS leaves all its lists once it confirms."""
    return _everywhere(ctx, UNSUBSCRIBE_EVERYWHERE, address, CONFIRM_UNSUBSCRIBE_EVERYWHERE)


def request_delivery_change_everywhere(ctx: CommandContext, mode: DeliveryMode) -> Result:
    """SET * MODE: all the sender's lists in MODE once the sender's mailbox confirms."""
    return _everywhere(ctx, SET_DELIVERY_EVERYWHERE, ctx.sender, CONFIRM_DELIVERY_EVERYWHERE,
                       mode)


def request_concealment(ctx: CommandContext, mailing_list: MailingList,
                        concealed: bool) -> Result:
    """SET list CONCEAL|NOCONCEAL, confirmed by the member's own address like any SET."""
    member = members.find_member(ctx.session, mailing_list, ctx.sender)
    if member is None:
        raise ctx.refuse("not_subscribed", list=mailing_list.address)
    word = "CONCEAL" if concealed else "NOCONCEAL"
    if member.concealed is concealed:
        return Result(Status.DONE, ctx.say("delivery_set", list=mailing_list.address, mode=word))
    if not ctx.claim_confirmation(f"{SET_CONCEALMENT}:{word}", ctx.sender, mailing_list):
        return repeated_in_mail(ctx)
    asked = request_confirmation(ctx, Request(
        SET_CONCEALMENT, ctx.sender, mailing_list, "confirm_delivery", ctx.sender,
        {"concealed": concealed}, same=("concealed",), values={"mode": word}))
    return asked_result(ctx, asked, "confirmation_sent", ctx.sender)


def request_owner_change(ctx: CommandContext, mailing_list: MailingList, action: str,
                         address: str, name: str = "") -> Result:
    """An owner's ADD or DEL: confirmed by the owner's own address before it is done."""
    if not ctx.claim_confirmation(action, address, mailing_list):
        return repeated_in_mail(ctx)
    template = "confirm_add" if action == OWNER_ADD else "confirm_del"
    asked = request_confirmation(ctx, Request(
        action, address, mailing_list, template, ctx.sender, {"name": name, "owner": ctx.sender},
        same=("owner",), values={"owner": ctx.sender}))
    return asked_result(ctx, asked, "owner_confirmation_sent", ctx.sender)


# What confirmations do ---------------------------------------------------------------------

def _say(mailing_list: MailingList, key: str, **values: object) -> str:
    return phrases.say(mailing_list.language, key, **values)


def _welcome(session: Session, runtime: Runtime, mailing_list: MailingList,
             member: Member) -> None:
    addresses = RobotAddresses.of(runtime, mailing_list)
    text = _owners_or_own("welcome", mailing_list, list=mailing_list.address,
                          address=member.address, who=member.display_name or member.address,
                          subject=mailing_list.subject, description=mailing_list.description,
                          request=addresses.request, posting=_posting_line(mailing_list),
                          leave=scheme_address(
                              mailing_list.name, mailing_list.domain.name, AddressKind.LEAVE))
    if text is None:
        return
    send(session, runtime, addresses, to=[member.address], text=text, kind="welcome",
         mailing_list=mailing_list)


def _owners_or_own(name: str, mailing_list: MailingList, **values: object) -> Text | None:
    """The mail NAME in the list's language: the owners' body if they wrote one (None if they
    turned it off), else listd's own."""
    return list_texts.mail_text(mailing_list, name, render(name, mailing_list.language, **values),
                                **values)


def _sends(mailing_list: MailingList, name: str) -> bool:
    """Whether the mail NAME goes out (its owners may have turned it off)."""
    return list_texts.stored(mailing_list, name) != ""


# What the welcome says about posting, by the list's posting policy: a newsletter's does not
# invite its readers to post, a moderated list's says a moderator reads first.
POSTING_LINES = {"owners": "welcome_read_only", "moderated": "welcome_moderated",
                 "members": "welcome_post", "anyone": "welcome_post"}


def _posting_line(mailing_list: MailingList) -> str:
    return _say(mailing_list, POSTING_LINES[ListSettings.of(mailing_list).posting],
                list=mailing_list.address)


def _goodbye(session: Session, runtime: Runtime, mailing_list: MailingList,
             address: str) -> None:
    addresses = RobotAddresses.of(runtime, mailing_list)
    text = _owners_or_own("goodbye", mailing_list, list=mailing_list.address, address=address,
                          join=scheme_address(mailing_list.name, mailing_list.domain.name,
                                              AddressKind.JOIN))
    if text is None:
        return
    send(session, runtime, addresses, to=[address], text=text, kind="goodbye",
         mailing_list=mailing_list)


def _subscribe(session: Session, runtime: Runtime, mailing_list: MailingList, address: str,
               name: str, actor: str, delivery: DeliveryMode = DeliveryMode.MAIL,
               checked: members.Addition | None = None) -> Member:
    # The mailbox's own confirmation is the new consent a suppressed address needs; an owner's
    # confirmation of someone else's address is not.
    member = members.add_member(session, mailing_list, address, name, actor=actor,
                                delivery=delivery, force=actor == address, checked=checked)
    _welcome(session, runtime, mailing_list, member)
    return member


def subscribe_member(session: Session, runtime: Runtime, mailing_list: MailingList,
                     address: str, name: str, actor: str) -> Member:
    """Subscribe ADDRESS, whose mailbox confirmed, and welcome it."""
    return _subscribe(session, runtime, mailing_list, address, name, actor)


def _ask_owners(session: Session, runtime: Runtime, mailing_list: MailingList,
                address: str, name: str, delivery: object = None) -> None:
    approve = tokens.issue(session, runtime, APPROVE_SUBSCRIPTION, address, mailing_list,
                           {"name": name, "delivery": delivery} if delivery else {"name": name})
    refuse = tokens.issue(session, runtime, REFUSE_SUBSCRIPTION, address, mailing_list,
                          {"name": name, "sibling": approve.token})
    # A new dict, so the JSON column is seen as changed.
    approve.payload = {**approve.payload, "sibling": refuse.token}
    owners = members.addresses_with_role(session, mailing_list, Role.OWNER)
    addresses = RobotAddresses.of(runtime, mailing_list)
    approve_address = addresses.confirm(approve.token)
    text = render("owner_approval", mailing_list.language, list=mailing_list.address,
                  address=address, who=name or address, approve=approve_address,
                  refuse=addresses.confirm(refuse.token), refuse_token=refuse.token,
                  approve_token=approve.token, request=addresses.request,
                  days=runtime.config.token_ttl_days)
    send(session, runtime, addresses, to=owners, text=text, kind="approval",
         mailing_list=mailing_list, sender=approve_address, reply_to=approve_address)


def on_active_list(action: ConfirmAction) -> ConfirmAction:
    """Carry out ACTION only while its list takes mail; a closed list changes no more."""

    @functools.wraps(action)
    def guarded(session: Session, runtime: Runtime, c: Confirming) -> Result:
        mailing_list = c.mailing_list
        if mailing_list is None or mailing_list.status is not ListStatus.ACTIVE:
            language = mailing_list.language if mailing_list is not None else \
                runtime.config.language
            return Result(Status.REFUSED, phrases.say(language, "list_gone"))
        return action(session, runtime, c)

    return guarded


@on_active_list
def subscription_confirmed(session: Session, runtime: Runtime, c: Confirming) -> Result:
    mailing_list, address = c.mailing_list, c.pending.address
    assert mailing_list is not None
    policy = ListSettings.of(mailing_list).subscription
    if policy == "closed":
        return Result(Status.REFUSED, _say(mailing_list, "subscription_closed",
                                           list=mailing_list.address))
    # Read once, for this answer and for the addition itself.
    facts = members.addition(session, mailing_list, address)
    if facts.member_id is not None:
        return Result(Status.DONE, _say(mailing_list, "already_subscribed",
                                        list=mailing_list.address))
    name = str(c.pending.payload.get("name", ""))
    if policy == "approval":
        _ask_owners(session, runtime, mailing_list, address, name,
                    c.pending.payload.get("delivery"))
        return Result(Status.WAITING, _say(mailing_list, "waiting_for_owners",
                                           list=mailing_list.address))
    mode = DeliveryMode(str(c.pending.payload.get("mode", DeliveryMode.MAIL.value)))
    _subscribe(session, runtime, mailing_list, address, name, actor=c.confirmed_by,
               delivery=mode, checked=facts)
    return Result(Status.DONE, _say(mailing_list, "subscribed", address=address,
                                    list=mailing_list.address),
                  notified=c.confirmed_by == address and _sends(mailing_list, "welcome"))


@on_active_list
def unsubscription_confirmed(session: Session, runtime: Runtime, c: Confirming) -> Result:
    mailing_list, address = c.mailing_list, c.pending.address
    assert mailing_list is not None
    if _is_subscribed(session, mailing_list, address):
        members.remove_member(session, mailing_list, address, actor=c.confirmed_by)
    # Sent whether or not the address was on the list, so the answer tells nobody which.
    _goodbye(session, runtime, mailing_list, address)
    return Result(Status.DONE, _say(mailing_list, "unsubscribed", address=address,
                                    list=mailing_list.address),
                  notified=c.confirmed_by == address and _sends(mailing_list, "goodbye"))


@on_active_list
def approval_given(session: Session, runtime: Runtime, c: Confirming) -> Result:
    tokens.withdraw(session, runtime, str(c.pending.payload.get("sibling", "")))
    return _add_confirmed(session, runtime, c)


@on_active_list
def approval_refused(session: Session, runtime: Runtime, c: Confirming) -> Result:
    mailing_list, address = c.mailing_list, c.pending.address
    assert mailing_list is not None
    tokens.withdraw(session, runtime, str(c.pending.payload.get("sibling", "")))
    addresses = RobotAddresses.of(runtime, mailing_list)
    text = render("subscription_refused", mailing_list.language, list=mailing_list.address,
                  address=address, owner=addresses.owner)
    send(session, runtime, addresses, to=[address], text=text, kind="notice",
         mailing_list=mailing_list)
    return Result(Status.DONE, _say(mailing_list, "request_refused", address=address,
                                    list=mailing_list.address))


@on_active_list
def owner_add_confirmed(session: Session, runtime: Runtime, c: Confirming) -> Result:
    return _add_confirmed(session, runtime, c)


def _add_confirmed(session: Session, runtime: Runtime, c: Confirming) -> Result:
    """An addition someone else confirmed (an owner's approval, or an owner's own ADD)."""
    mailing_list, address = c.mailing_list, c.pending.address
    assert mailing_list is not None
    facts = members.addition(session, mailing_list, address)
    if facts.member_id is not None:
        return Result(Status.DONE, _say(mailing_list, "already_member", address=address,
                                        list=mailing_list.address))
    _subscribe(session, runtime, mailing_list, address, str(c.pending.payload.get("name", "")),
               actor=c.confirmed_by,
               delivery=DeliveryMode(str(c.pending.payload.get("mode", DeliveryMode.MAIL.value))),
               checked=facts)
    return Result(Status.DONE, _say(mailing_list, "added", address=address,
                                    list=mailing_list.address))


@on_active_list
def owner_del_confirmed(session: Session, runtime: Runtime, c: Confirming) -> Result:
    mailing_list, address = c.mailing_list, c.pending.address
    assert mailing_list is not None
    if not _is_subscribed(session, mailing_list, address):
        return Result(Status.REFUSED, _say(mailing_list, "not_member", address=address,
                                           list=mailing_list.address))
    members.remove_member(session, mailing_list, address, actor=c.confirmed_by)
    _goodbye(session, runtime, mailing_list, address)
    return Result(Status.DONE, _say(mailing_list, "removed", address=address,
                                    list=mailing_list.address))


@on_active_list
def delivery_confirmed(session: Session, runtime: Runtime, c: Confirming) -> Result:
    mailing_list, address = c.mailing_list, c.pending.address
    assert mailing_list is not None
    member = members.find_member(session, mailing_list, address)
    if member is None:
        return Result(Status.REFUSED, _say(mailing_list, "not_subscribed",
                                           list=mailing_list.address))
    mode = DeliveryMode(str(c.pending.payload.get("mode", DeliveryMode.MAIL.value)))
    members.set_delivery_mode(session, mailing_list, address, mode, actor=c.confirmed_by)
    return Result(Status.DONE, _say(mailing_list, "delivery_set", list=mailing_list.address,
                                    mode=mode.value.upper()))


def ask_to_join(session: Session, runtime: Runtime, mailing_list: MailingList, address: str,
                name: str = "") -> bool:
    """Mail ADDRESS a subscription confirmation requested by another door (an owner's API call);
    nothing changes until the mailbox answers. False when one is already waiting for it."""
    normalized = normalize_address(address)
    now = runtime.clock.now()
    waiting = session.scalar(select(PendingAction.id).where(
        PendingAction.action == SUBSCRIBE, PendingAction.address == normalized,
        PendingAction.list_id == mailing_list.id, PendingAction.used_at.is_(None),
        PendingAction.expires_at > now).limit(1))
    if waiting is not None:
        return False
    pending = tokens.issue(session, runtime, SUBSCRIBE, normalized, mailing_list, {"name": name})
    ask_confirmation(session, runtime, mailing_list, pending, "confirm_subscribe", normalized)
    return True


def _lists_of(session: Session, c: Confirming) -> list[MailingList]:
    """The lists a request about all one's lists named, still active and still joined."""
    ids = [int(i) for i in c.pending.payload.get("lists", [])]
    found = [session.get(MailingList, i) for i in ids]
    return [ml for ml in found if ml is not None and ml.status is ListStatus.ACTIVE
            and _is_subscribed(session, ml, c.pending.address)]


def _language(runtime: Runtime, found: list[MailingList]) -> str:
    return found[0].language if found else runtime.config.language


def unsubscription_everywhere_confirmed(session: Session, runtime: Runtime,
                                        c: Confirming) -> Result:
    found = _lists_of(session, c)
    for mailing_list in found:
        members.remove_member(session, mailing_list, c.pending.address, actor=c.confirmed_by)
        # As a single SIGNOFF: each list's goodbye, unless its owners turned it off.
        _goodbye(session, runtime, mailing_list, c.pending.address)
    return Result(Status.DONE, i18n.translate(
        _language(runtime, found), "{address} left these lists: {lists}",
        address=c.pending.address, lists=", ".join(ml.address for ml in found) or "-"))


def delivery_everywhere_confirmed(session: Session, runtime: Runtime,
                                  c: Confirming) -> Result:
    found = _lists_of(session, c)
    mode = DeliveryMode(str(c.pending.payload.get("mode") or DeliveryMode.MAIL.value))
    for mailing_list in found:
        member = members.find_member(session, mailing_list, c.pending.address)
        assert member is not None
        member.delivery_mode = mode
        audit.record(session, c.confirmed_by, "member.set", mailing_list, c.pending.address,
                     delivery_mode=mode.value)
    return Result(Status.DONE, i18n.translate(
        _language(runtime, found), "delivery mode {mode} on these lists: {lists}",
        mode=mode.value.upper(), lists=", ".join(ml.address for ml in found) or "-"))


@on_active_list
def concealment_confirmed(session: Session, runtime: Runtime, c: Confirming) -> Result:
    mailing_list, address = c.mailing_list, c.pending.address
    assert mailing_list is not None
    member = members.find_member(session, mailing_list, address)
    if member is None:
        return Result(Status.REFUSED, _say(mailing_list, "not_subscribed",
                                           list=mailing_list.address))
    member.concealed = bool(c.pending.payload.get("concealed"))
    audit.record(session, c.confirmed_by, "member.set", mailing_list, address,
                 concealed=member.concealed)
    return Result(Status.DONE, _say(mailing_list, "delivery_set", list=mailing_list.address,
                                    mode="CONCEAL" if member.concealed else "NOCONCEAL"))
