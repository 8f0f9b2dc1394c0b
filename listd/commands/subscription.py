"""Commands about one's own subscription: SUBSCRIBE, SIGNOFF, CONFIRM, SET."""

from __future__ import annotations

from typing import ClassVar

from listd import audit, members
from listd.bounce.scoring import restore
from listd.commands import membership
from listd.commands.context import CommandContext
from listd.commands.results import Result, Status
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
        member = members.find_member(ctx.session, mailing_list, ctx.sender)
        if member is None:
            raise ctx.refuse("not_subscribed", list=mailing_list.address)
        member.delivery_mode = mode
        if mode is DeliveryMode.MAIL and member.bounce_suspended_at is not None:
            # Asking for mail again is how a member ends a bounce suspension (Mailman does too).
            restore(member)
        audit.record(ctx.session, ctx.sender, "member.set", mailing_list, ctx.sender,
                     delivery_mode=mode.value)
        return Result(Status.DONE, ctx.say("delivery_set", list=mailing_list.address,
                                           mode=mode.value.upper()))
