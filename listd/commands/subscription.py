"""Commands about one's own subscription: SUBSCRIBE, SIGNOFF, CONFIRM, SET."""

from __future__ import annotations

from typing import ClassVar

from listd.commands import membership
from listd.commands.context import CommandContext
from listd.commands.results import Result
from listd.commands.token_kinds import answer_token
from listd.delivery_modes import (
    UnknownDeliveryMode,
    UnservedDeliveryMode,
    parse_delivery_mode,
    parse_mailman_digest,
    served_names,
)


class Subscribe:
    names: ClassVar[tuple[str, ...]] = ("subscribe", "sub", "join")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, rest = ctx.take_list(args)
        try:
            modes = [m for m in map(parse_mailman_digest, rest) if m is not None]
        except (UnknownDeliveryMode, UnservedDeliveryMode):
            raise ctx.refuse("usage", usage="SUBSCRIBE list [Name] [digest=mime|plain|no]"
                             ) from None
        words = [word for word in rest if not word.lower().startswith("digest=")]
        name = " ".join(words) or ctx.sender_name
        return membership.request_subscription(ctx, mailing_list, name,
                                               modes[-1] if modes else None)


class Unsubscribe:
    names: ClassVar[tuple[str, ...]] = ("signoff", "unsubscribe", "unsub", "leave")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, _rest = ctx.take_list(args)
        return membership.request_unsubscription(ctx, mailing_list)


class Confirm:
    names: ClassVar[tuple[str, ...]] = ("confirm", "auth")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        if not args:
            raise ctx.refuse("usage", usage="CONFIRM token")
        return answer_token(ctx, args[0])


class SetDelivery:
    names: ClassVar[tuple[str, ...]] = ("set",)

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, rest = ctx.take_list(args)
        if len(rest) != 1:
            raise ctx.refuse("usage", usage=f"SET list {served_names('|').upper()}")
        try:
            mode = parse_delivery_mode(rest[0])
        except UnknownDeliveryMode:
            raise ctx.refuse("usage", usage=f"SET list {served_names('|').upper()}") from None
        except UnservedDeliveryMode as exc:
            raise ctx.refuse("delivery_unserved", mode=exc.mode.value.upper(),
                             modes=served_names(", ").upper()) from None
        return membership.request_delivery_change(ctx, mailing_list, mode)
