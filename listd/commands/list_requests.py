"""Lists by mail: CREATELIST from anyone, decided by a listmaster answering the notice.

The request creates a pending list (lifecycle.request_list: it refuses all mail until
approved) and two sibling tokens, mailed only to the listmasters: answering the first opens the
list, answering the second refuses it. Using one voids the other. The answer must also come
from a listmaster's address, so a token that leaked cannot be used by anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy.orm import Session

from listd import lifecycle, tokens
from listd.addresses import InvalidAddress, normalize_address, scheme_address
from listd.commands import phrases
from listd.commands.context import CommandContext, Refused
from listd.commands.results import Result, Status
from listd.i18n import N_
from listd.runtime import Runtime

if TYPE_CHECKING:
    from listd.confirmations import Confirming

APPROVE_LIST = "approve_list"
REJECT_LIST = "reject_list"
USAGE = 'CREATELIST list@domain template "Subject words" owner@domain [owner@domain…]'
QUOTES = "\"'“”«»‘’"


class BadRequest(ValueError):
    """A CREATELIST line that does not follow the syntax."""


@dataclass(frozen=True)
class ListRequest:
    address: str
    template: str
    subject: str
    owners: tuple[str, ...]


def parse_request(args: tuple[str, ...], domain: str) -> ListRequest:
    """Read `list[@domain] template [subject words…] owner [owner…]` (pure).

    The owners are the addresses at the end of the line; what lies between the template and
    them is the subject, quoted or not."""
    if len(args) < 3:
        raise BadRequest("too few words")
    name, template, rest = args[0].lower(), args[1].lower(), list(args[2:])
    owners: list[str] = []
    while rest and "@" in rest[-1]:
        try:
            owners.insert(0, normalize_address(rest.pop().strip("<>,;")))
        except InvalidAddress as exc:
            raise BadRequest(str(exc)) from None
    if not owners:
        raise BadRequest("no owner")
    address = name if "@" in name else scheme_address(name, domain)
    subject = " ".join(rest).strip().strip(QUOTES).strip()
    return ListRequest(address, template, subject, tuple(dict.fromkeys(owners)))


class CreateList:
    names: ClassVar[tuple[str, ...]] = ("createlist",)
    usage: ClassVar[str] = 'CREATELIST list@domain template "Subject" owner@… [owner@…]'
    summary: ClassVar[str] = N_("ask for a new list; a listmaster decides (templates: {templates})")

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        try:
            request = parse_request(args, ctx.domain)
        except BadRequest:
            raise ctx.refuse("usage", usage=USAGE) from None
        # Each request mails every listmaster: counted like a confirmation request.
        ctx.spend_confirmation()
        config = ctx.runtime.config
        approve = tokens.issue(ctx.session, ctx.runtime, APPROVE_LIST, request.address, None)
        reject = tokens.issue(ctx.session, ctx.runtime, REJECT_LIST, request.address, None,
                              {"sibling": approve.token})
        # A new dict, so the JSON column is seen as changed.
        approve.payload = {"sibling": reject.token}
        lifecycle.request_list(ctx.session, config, request.address, request.owners,
                               request.template, request.subject, requested_by=ctx.sender,
                               confirm_token=approve.token, reject_token=reject.token)
        return Result(Status.WAITING, ctx.say("list_request_sent", list=request.address))


def _from_listmaster(runtime: Runtime, c: Confirming) -> None:
    if c.confirmed_by not in runtime.config.listmasters:
        # Raised, not returned: the refusal undoes the token's use (token_kinds.answer_token).
        raise Refused(phrases.say(runtime.config.language, "listmasters_only"))


def list_approved(session: Session, runtime: Runtime, c: Confirming) -> Result:
    _from_listmaster(runtime, c)
    tokens.withdraw(session, runtime, str(c.pending.payload.get("sibling", "")))
    opened = lifecycle.approve_list_request(session, runtime.config, c.pending.address,
                                            actor=c.confirmed_by)
    return Result(Status.DONE, phrases.say(runtime.config.language, "list_opened",
                                           list=opened.address))


def list_refused(session: Session, runtime: Runtime, c: Confirming) -> Result:
    _from_listmaster(runtime, c)
    tokens.withdraw(session, runtime, str(c.pending.payload.get("sibling", "")))
    refused = lifecycle.reject_list_request(session, runtime.config, c.pending.address,
                                            actor=c.confirmed_by)
    return Result(Status.DONE, phrases.say(runtime.config.language, "list_refused",
                                           list=refused.address))
