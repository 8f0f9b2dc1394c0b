"""TEXT list NAME, then the text on the following lines (up to a signature): an owner sets one
of the list's texts by mail (`TEXT list NAME RESET` goes back to listd's own). Checked at
once, carried out once the owner's own mailbox confirms, as any owner's command, since a From:
can be forged."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy.orm import Session

from listd import i18n, list_texts, lists
from listd.commands.context import CommandContext
from listd.commands.membership import Request, asked_result, repeated_in_mail, request_confirmation
from listd.commands.results import Result, Status
from listd.i18n import N_
from listd.runtime import Runtime

if TYPE_CHECKING:
    from listd.confirmations import Confirming

SET_TEXT = "set_text"
RESET = "reset"


class SetText:
    names: ClassVar[tuple[str, ...]] = ("text",)
    usage: ClassVar[str] = "TEXT list NAME [RESET]"
    summary: ClassVar[str] = N_(
        "owners: the list's welcome, goodbye, info, footer, header, reminder or invitation is "
        "the rest of the mail (a first line Subject: ... sets a mail's subject; an empty "
        "welcome or goodbye turns it off; RESET: listd's own); asks to confirm")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, rest = ctx.take_list(args)
        if not rest:
            raise ctx.refuse("usage", usage=self.usage)
        if not ctx.is_owner(mailing_list):
            raise ctx.refuse("owners_only", list=mailing_list.address)
        name = rest[0].lower()
        reset = len(rest) > 1 and rest[1].lower() == RESET
        text = None if reset else ctx.rest
        # Checked now, so the refusal (in the list's language) names the mistake at once.
        if text is None:
            list_texts.editable(name)
        else:
            list_texts.check(name, text)
        if not ctx.claim_confirmation(f"{SET_TEXT}:{name}", ctx.sender, mailing_list):
            return repeated_in_mail(ctx)
        asked = request_confirmation(ctx, Request(
            SET_TEXT, ctx.sender, mailing_list, "confirm_text", ctx.sender,
            {"name": name, "text": text, "owner": ctx.sender}, same=("name", "text"),
            values={"name": name, "owner": ctx.sender,
                    "text": "(RESET)" if text is None else text or "(-)"}))
        return asked_result(ctx, asked, "owner_confirmation_sent", ctx.sender)


def text_confirmed(session: Session, runtime: Runtime, c: Confirming) -> Result:
    mailing_list = c.mailing_list
    assert mailing_list is not None
    name = str(c.pending.payload.get("name", ""))
    text = c.pending.payload.get("text")
    lists.set_list_text(session, mailing_list.address, name,
                        None if text is None else str(text), actor=c.confirmed_by)
    return Result(Status.DONE, i18n.translate(
        mailing_list.language, "the {name} text of {list} is saved", name=name,
        list=mailing_list.address))
