"""What a token that comes back can name, in one table: a pending action or a held post.

Tokens come back to LIST-confirm+TOKEN@ (a reply) or in `CONFIRM TOKEN`. A pending action's
token (confirmations.py: subscriptions, owners' commands, list requests) is tried first, then
a held post's, whose moderation notice is answered at the same address: the reply approves the
post. A token that no kind knows gets the same answer as a forged one.

To add a kind: a class with `answer` (None for a token not its own), and one line in
TOKEN_KINDS.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from listd import tokens
from listd.commands import held_posts
from listd.commands.context import CommandContext
from listd.commands.results import Result, Status
from listd.confirmations import Answering, carry_out
from listd.errors import UserError
from listd.models import MailingList
from listd.posting import moderation


class TokenKind(Protocol):
    name: ClassVar[str]

    def answer(self, ctx: CommandContext, token: str, within_list: MailingList | None
               ) -> Result | None:
        """Do what answering TOKEN means, or raise UserError with the reason; None, having
        changed nothing, when TOKEN is not one of this kind's (for a token sent to
        WITHIN_LIST's address)."""
        ...


class PendingActionToken:
    name: ClassVar = "pending action"

    def answer(self, ctx: CommandContext, token: str, within_list: MailingList | None
               ) -> Result | None:
        # Looking at the token uses it, when it is good: one statement for the two.
        redeemed = tokens.redeem(ctx.session, ctx.runtime, token,
                                 list_id=within_list.id if within_list is not None else None)
        if redeemed.status is tokens.Redemption.UNKNOWN:
            # Perhaps another kind's; if no kind knows it, the answer is the same.
            return None
        # Signature, list, expiry and single use are checked; the answer is checked there.
        return carry_out(ctx.session, ctx.runtime, redeemed,
                         Answering(ctx.sender, ctx.automatic), ctx.language)


class HeldPostToken:
    name: ClassVar = "held post"

    def answer(self, ctx: CommandContext, token: str, within_list: MailingList | None
               ) -> Result | None:
        held = moderation.held_by_token(ctx.session, token)
        if held is None or (within_list is not None and held.list_id != within_list.id):
            return None
        return held_posts.decide(ctx, held_posts.approve, token)


TOKEN_KINDS: tuple[TokenKind, ...] = (PendingActionToken(), HeldPostToken())


def answer_token(ctx: CommandContext, token: str,
                 within_list: MailingList | None = None) -> Result:
    """Answer TOKEN with whichever kind owns it.

    A refusal undoes everything the answer did, the token's use included: a confirmation from
    an address that may not give it leaves the token good for one that may. One savepoint
    for all the kinds tried: a kind that does not know the token changes nothing."""
    token = token.strip().lower()
    try:
        with ctx.session.begin_nested():
            for kind in TOKEN_KINDS:
                result = kind.answer(ctx, token, within_list)
                if result is not None:
                    return result
    except UserError as refusal:
        return Result(Status.REFUSED, refusal.in_language(ctx.language))
    return Result(Status.REFUSED, ctx.say("token_unknown"))
