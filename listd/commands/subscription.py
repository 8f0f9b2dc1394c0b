"""Commands about one's own subscription: SUBSCRIBE, SIGNOFF, CONFIRM, SET."""

from __future__ import annotations

from typing import ClassVar

from listd.commands import membership
from listd.commands.context import CommandContext
from listd.commands.results import Result
from listd.commands.token_kinds import answer_token
from listd.models import DeliveryMode


class Subscribe:
    names: ClassVar[tuple[str, ...]] = ("subscribe", "sub", "join")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, rest = ctx.take_list(args)
        name = " ".join(rest) or ctx.sender_name
        return membership.request_subscription(ctx, mailing_list, name)


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
        modes = {mode.value: mode for mode in DeliveryMode}
        if len(rest) != 1 or rest[0].lower() not in modes:
            raise ctx.refuse("usage", usage="SET list MAIL|DIGEST|NOMAIL")
        mode = modes[rest[0].lower()]
        return membership.request_delivery_change(ctx, mailing_list, mode)
