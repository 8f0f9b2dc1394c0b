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
from listd.i18n import N_, translate
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
    """The token and the reason; Sympa's form names the list before the key."""
    if len(args) >= 2 and ctx.find_list(args[0]) is not None:
        args = args[1:]
    if not args:
        raise ctx.refuse("usage", usage=usage)
    return args[0], " ".join(args[1:]) or None


class Distribute:
    names: ClassVar[tuple[str, ...]] = ("distribute", "dis")
    usage: ClassVar[str] = "DISTRIBUTE [list] token"
    summary: ClassVar[str] = N_("moderators: distribute a held post (or reply to the moderation "
                                "notice)")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        token, _reason = _token_and_reason(ctx, args, self.usage)
        return decide(ctx, approve, token)


class Reject:
    names: ClassVar[tuple[str, ...]] = ("reject", "rej")
    usage: ClassVar[str] = "REJECT [list] token [reason]"
    summary: ClassVar[str] = N_("moderators: refuse a held post; the poster gets the reason")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        token, reason = _token_and_reason(ctx, args, self.usage)
        return decide(ctx, answers.reject_by_mail, token, reason)


class Discard:
    names: ClassVar[tuple[str, ...]] = ("discard",)
    usage: ClassVar[str] = "DISCARD [list] token"
    summary: ClassVar[str] = N_("moderators: drop a held post, telling nobody")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        token, reason = _token_and_reason(ctx, args, self.usage)
        return decide(ctx, answers.discard_by_mail, token, reason)


MODINDEX_HEAD = N_("Posts held for {list}: {count}")
MODINDEX_LINE = N_("#{id} from {sender}: {subject}\n    reason: {reason}\n    DISTRIBUTE {token}"
                   "  |  REJECT {token} [reason]")


class ModIndex:
    names: ClassVar[tuple[str, ...]] = ("modindex", "mod")
    usage: ClassVar[str] = "MODINDEX list"
    summary: ClassVar[str] = N_("moderators: the posts waiting for a decision, with their tokens")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, _rest = ctx.take_list(args)
        moderators = moderation.moderators_of(ctx.session, mailing_list)
        if ctx.sender not in moderators and not ctx.is_owner(mailing_list):
            raise ctx.refuse("held_not_moderator", address=ctx.sender,
                             list=mailing_list.address)
        held = moderation.pending(ctx.session, mailing_list)
        lines = [translate(ctx.language, MODINDEX_HEAD, list=mailing_list.address,
                           count=len(held))]
        lines += [translate(ctx.language, MODINDEX_LINE, id=post.id, sender=post.sender,
                            subject=post.subject or "-", reason=post.reason, token=post.token)
                  for post in held]
        return Result(Status.DONE, "\n".join(lines))

