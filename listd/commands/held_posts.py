"""Moderators' commands on held posts: DISTRIBUTE, REJECT and DISCARD, each with the token of
the moderation notice (Sympa's syntax). A reply to the notice comes through token_kinds.py and
ends in `decide` too.

posting.answers checks who may decide (a moderator's address, a person and not a program) and
posting.moderation takes each decision once; here the outcome becomes a line of the reply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from sqlalchemy.orm import Session

from listd.commands.context import CommandContext
from listd.commands.results import Result, Status
from listd.errors import NotFound
from listd.models import HeldState, MailingList
from listd.posting import answers, moderation
from listd.runtime import Runtime

# What a decision by mail is: session, runtime, token, who answered, reason → the decision.
Decide = Callable[[Session, Runtime, str, answers.Answer, str | None], moderation.Decided]

_DONE_PHRASES = {
    HeldState.APPROVED: "held_approved",
    HeldState.REJECTED: "held_rejected",
    HeldState.DISCARDED: "held_discarded",
}


def approve(session: Session, runtime: Runtime, token: str, answer: answers.Answer,
             reason: str | None) -> moderation.Decided:
    # A reason has no use when approving; the poster is not written to.
    return answers.approve_by_mail(session, runtime, token, answer)


def decide(ctx: CommandContext, how: Decide, token: str, reason: str | None = None) -> Result:
    """Take the decision HOW on the post TOKEN names, or refuse saying why."""
    try:
        decided = how(ctx.session, ctx.runtime, token, ctx.answer, reason)
    except NotFound:
        raise ctx.refuse("held_unknown") from None
    except answers.AutomaticAnswer:
        raise ctx.refuse("held_automatic") from None
    except answers.NotAModerator:
        # Listmasters are not moderators of every list: they use `listd held` instead.
        held = moderation.find_held_by_token(ctx.session, token)
        raise ctx.refuse("held_not_moderator", address=ctx.answer.address or ctx.sender,
                         list=_list_address(ctx, held.list_id)) from None
    except moderation.AlreadyDecided as done:
        raise ctx.refuse("held_already", id=done.held_id,
                         state=ctx.say(f"held_state_{done.state.value}"),
                         by=done.decided_by or "listd") from None
    return Result(Status.DONE, ctx.say(_DONE_PHRASES[decided.state], id=decided.held_id,
                                       sender=decided.sender, list=decided.list_address))


def _list_address(ctx: CommandContext, list_id: int) -> str:
    found = ctx.session.get(MailingList, list_id)
    return found.address if found is not None else "?"


def _token_and_reason(ctx: CommandContext, args: tuple[str, ...], usage: str
                      ) -> tuple[str, str | None]:
    if not args:
        raise ctx.refuse("usage", usage=usage)
    return args[0], " ".join(args[1:]) or None


class Distribute:
    names: ClassVar[tuple[str, ...]] = ("distribute",)

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        token, _reason = _token_and_reason(ctx, args, "DISTRIBUTE token")
        return decide(ctx, approve, token)


class Reject:
    names: ClassVar[tuple[str, ...]] = ("reject",)

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        token, reason = _token_and_reason(ctx, args, "REJECT token [reason]")
        return decide(ctx, answers.reject_by_mail, token, reason)


class Discard:
    names: ClassVar[tuple[str, ...]] = ("discard",)

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        token, reason = _token_and_reason(ctx, args, "DISCARD token [reason]")
        return decide(ctx, answers.discard_by_mail, token, reason)

