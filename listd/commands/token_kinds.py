"""What a token that comes back can name, in one table: a pending action or a held post.

Tokens come back to LIST-confirm+TOKEN@ (a reply) or in `CONFIRM TOKEN`. A pending action's
token (confirmations.py: subscriptions, owners' commands, list requests) is tried first, then
a held post's, whose moderation notice is answered at the same address: the reply approves the
post. A token that no kind knows gets the same answer as a forged one.

To add a kind: a class with `owns` and `answer`, and one line in TOKEN_KINDS.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.commands import held_posts
from listd.commands.context import CommandContext
from listd.commands.results import Result, Status
from listd.confirmations import Answering, confirm
from listd.errors import UserError
from listd.models import MailingList, PendingAction
from listd.posting import moderation


class TokenKind(Protocol):
    name: ClassVar[str]

    def owns(self, session: Session, token: str, within_list: MailingList | None) -> bool:
        """Whether TOKEN is one of this kind's, for a token sent to WITHIN_LIST's address."""
        ...

    def answer(self, ctx: CommandContext, token: str, within_list: MailingList | None
               ) -> Result:
        """Do what answering TOKEN means, or raise UserError with the reason."""
        ...


class PendingActionToken:
    name: ClassVar = "pending action"

    def owns(self, session: Session, token: str, within_list: MailingList | None) -> bool:
        return session.scalar(select(PendingAction.id)
                              .where(PendingAction.token == token)) is not None

    def answer(self, ctx: CommandContext, token: str, within_list: MailingList | None
               ) -> Result:
        # Signature, list, expiry and single use are checked by confirm() itself.
        return confirm(ctx.session, ctx.runtime, token, Answering(ctx.sender, ctx.automatic),
                       ctx.language, within_list=within_list)


class HeldPostToken:
    name: ClassVar = "held post"

    def owns(self, session: Session, token: str, within_list: MailingList | None) -> bool:
        held = moderation.held_by_token(session, token)
        return held is not None and (within_list is None or held.list_id == within_list.id)

    def answer(self, ctx: CommandContext, token: str, within_list: MailingList | None
               ) -> Result:
        return held_posts.decide(ctx, held_posts.approve, token)


TOKEN_KINDS: tuple[TokenKind, ...] = (PendingActionToken(), HeldPostToken())


def answer_token(ctx: CommandContext, token: str,
                 within_list: MailingList | None = None) -> Result:
    """Answer TOKEN with whichever kind owns it.

    A refusal undoes everything the answer did, the token's use included: a confirmation from
    an address that may not give it leaves the token good for one that may."""
    token = token.strip().lower()
    for kind in TOKEN_KINDS:
        if kind.owns(ctx.session, token, within_list):
            try:
                with ctx.session.begin_nested():
                    return kind.answer(ctx, token, within_list)
            except UserError as refusal:
                return Result(Status.REFUSED, refusal.in_language(ctx.language))
    return Result(Status.REFUSED, ctx.say("token_unknown"))
