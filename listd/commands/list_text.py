"""TEXT list NAME, then the text on the following lines (up to a signature): an owner sets one
of the list's texts by mail (`TEXT list NAME RESET` goes back to listd's own). Checked at
once, carried out once the owner's own mailbox confirms, as any owner's command, since a From:
can be forged."""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy.orm import Session

from listd import i18n, list_texts, lists
from listd.commands.context import CommandContext, Refused
from listd.commands.membership import Request, asked_result, repeated_in_mail, request_confirmation
from listd.commands.results import Result, Status
from listd.i18n import N_
from listd.runtime import Runtime

if TYPE_CHECKING:
    from listd.confirmations import Confirming

SET_TEXT = "set_text"
RESET = "reset"


def _refusal(ctx: CommandContext, name: str, text: str) -> str | None:
    """Why TEXT cannot be the list's NAME text, in the reply's language; None if it can."""
    if name not in list_texts.TEXTS:
        return i18n.translate(ctx.language, "there is no list text {name}; the texts are: "
                              "{names}", name=name, names=", ".join(list_texts.TEXTS))
    allowed = ", ".join(f"{{{p}}}" for p in sorted(list_texts.TEXTS[name].placeholders))
    try:
        list(string.Formatter().parse(text))
    except ValueError:
        return i18n.translate(ctx.language, "a lone brace in the text: write {{{{ or }}}} "
                              "for a literal one")
    unknown = i18n.placeholders(text) - list_texts.TEXTS[name].placeholders
    if unknown:
        return i18n.translate(ctx.language, "unknown placeholder {placeholder} in the {name} "
                              "text; it may use {allowed}",
                              placeholder="{" + sorted(unknown)[0] + "}", name=name,
                              allowed=allowed)
    return None


class SetText:
    names: ClassVar[tuple[str, ...]] = ("text",)
    usage: ClassVar[str] = "TEXT list NAME [RESET]"
    summary: ClassVar[str] = N_(
        "owners: the list's welcome, goodbye, info, footer or reminder is the rest of the mail "
        "(an empty welcome or goodbye turns it off; RESET: listd's own); asks to confirm")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        mailing_list, rest = ctx.take_list(args)
        if not rest:
            raise ctx.refuse("usage", usage=self.usage)
        if not ctx.is_owner(mailing_list):
            raise ctx.refuse("owners_only", list=mailing_list.address)
        name = rest[0].lower()
        reset = len(rest) > 1 and rest[1].lower() == RESET
        text = None if reset else ctx.rest
        why = _refusal(ctx, name, text or "")
        if why is not None:
            raise Refused(why)
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
