"""Commands about one's own subscription: SUBSCRIBE, SIGNOFF, CONFIRM, SET.

Sympa's and Mailman's spellings both: `SIGNOFF * [address]` and `SET * MODE` for all one's
lists, Mailman's `join digest=mime|plain|no` and `join address=X`."""

from __future__ import annotations

from typing import ClassVar

from listd.addresses import InvalidAddress, normalize_address
from listd.commands import membership
from listd.commands.context import CommandContext
from listd.commands.parser import split_options
from listd.commands.results import Result
from listd.commands.token_kinds import answer_token
from listd.delivery_modes import (
    UnknownDeliveryMode,
    UnservedDeliveryMode,
    parse_delivery_mode,
    parse_mailman_digest,
    served_names,
)
from listd.i18n import N_
from listd.models import DeliveryMode

ALL_LISTS = "*"
# SET list CONCEAL|NOCONCEAL: whether REVIEW shows the member (owners always see everyone).
CONCEALMENT = {"conceal": True, "noconceal": False}


def delivery_mode(text: str) -> DeliveryMode | None:
    """The delivery mode TEXT names (SET's MAIL, DIGEST, NOMAIL, …), or None; the one parser
    is listd/delivery_modes.py."""
    try:
        return parse_delivery_mode(text)
    except (UnknownDeliveryMode, UnservedDeliveryMode):
        return None


def mode_names() -> str:
    return served_names("|").upper()


def _option_address(ctx: CommandContext, options: dict[str, str]) -> str:
    if "address" not in options:
        return ctx.sender
    try:
        return normalize_address(options["address"])
    except InvalidAddress:
        raise ctx.refuse("invalid_address", address=options["address"]) from None


def _option_mode(ctx: CommandContext, options: dict[str, str]) -> DeliveryMode | None:
    if "digest" not in options:
        return None
    try:
        mode = parse_mailman_digest(f"digest={options['digest']}")
    except (UnknownDeliveryMode, UnservedDeliveryMode):
        mode = None
    if mode is None:
        raise ctx.refuse("usage", usage=Subscribe.usage)
    return mode


class Subscribe:
    names: ClassVar[tuple[str, ...]] = ("subscribe", "sub", "join")
    usage: ClassVar[str] = "SUBSCRIBE list [Name] [digest=mime|plain|no] [address=X]"
    summary: ClassVar[str] = N_(
        "subscribe (you will be asked to confirm); Mailman's join takes digest=mime|plain|no "
        "and address=X (X is asked to confirm)")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        plain, options = split_options(args)
        mailing_list, rest = ctx.take_list(plain)
        address = _option_address(ctx, options)
        name = " ".join(rest) or (ctx.sender_name if address == ctx.sender else "")
        return membership.request_subscription(ctx, mailing_list, name, address,
                                               _option_mode(ctx, options))


class Unsubscribe:
    names: ClassVar[tuple[str, ...]] = ("signoff", "unsubscribe", "unsub", "leave", "sig",
                                        "uns")
    usage: ClassVar[str] = "SIGNOFF list | SIGNOFF * [address]"
    summary: ClassVar[str] = N_(
        "unsubscribe (also UNSUBSCRIBE; asks to confirm); * leaves all your lists, or all the "
        "lists of the address named, which is asked to confirm")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        if args and args[0] == ALL_LISTS:
            address = _option_address(ctx, {"address": args[1]} if len(args) > 1 else {})
            return membership.request_unsubscription_everywhere(ctx, address)
        mailing_list, _rest = ctx.take_list(args)
        return membership.request_unsubscription(ctx, mailing_list)


class Confirm:
    names: ClassVar[tuple[str, ...]] = ("confirm", "auth", "con")
    usage: ClassVar[str] = "CONFIRM token"
    summary: ClassVar[str] = N_("confirm a request")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        if not args:
            raise ctx.refuse("usage", usage=self.usage)
        return answer_token(ctx, args[0])


class SetDelivery:
    names: ClassVar[tuple[str, ...]] = ("set",)
    usage: ClassVar[str] = f"SET list|* {served_names('|').upper()}|CONCEAL|NOCONCEAL"
    summary: ClassVar[str] = N_(
        "choose how you receive a list, or all your lists with * (asks to confirm); MODE is "
        "one of {modes}; CONCEAL hides you from REVIEW, NOCONCEAL shows you again")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        if args and args[0] == ALL_LISTS:
            mode = delivery_mode(args[1]) if len(args) == 2 else None
            if mode is None:
                raise ctx.refuse("usage", usage=f"SET * {mode_names()}")
            return membership.request_delivery_change_everywhere(ctx, mode)
        mailing_list, rest = ctx.take_list(args)
        if len(rest) == 1 and rest[0].lower() in CONCEALMENT:
            return membership.request_concealment(ctx, mailing_list,
                                                  CONCEALMENT[rest[0].lower()])
        mode = delivery_mode(rest[0]) if len(rest) == 1 else None
        if mode is None:
            raise ctx.refuse("usage", usage=f"SET list {mode_names()}|CONCEAL|NOCONCEAL")
        return membership.request_delivery_change(ctx, mailing_list, mode)
