"""Moderators' answers by mail: a reply to the notice approves, a command rejects.

Anyone can write to a confirm address or send REJECT with a token, and From: can be forged,
so before any decision: the token must name a held post, the answer must come from a person
(not a vacation responder, a bounce or another robot), and its From: must be one of the
list's moderators (its owners when it has none). The command robot calls these.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from sqlalchemy.orm import Session

from listd.addresses import header_address, try_normalize
from listd.automatic_mail import assess, header
from listd.errors import UserError
from listd.i18n import N_
from listd.models import HeldMessage, MailingList
from listd.posting import moderation
from listd.runtime import Runtime


class NotAllowed(UserError):
    """The answer may not decide on this post."""


class AutomaticAnswer(NotAllowed):
    """A program answered (vacation responder, bounce, robot): it never decides."""


class NotAModerator(NotAllowed):
    """The answer came from an address that does not moderate the post's list."""


@dataclass(frozen=True)
class Answer:
    """Who answered a moderation notice, and whether a program did."""

    address: str | None
    automatic: bool

    @classmethod
    def of(cls, envelope_sender: str, message: Message) -> Answer:
        address = header_address(header(message, "From")) or try_normalize(envelope_sender)
        return cls(address=address, automatic=bool(assess(message, envelope_sender)))


def authorize(session: Session, held: HeldMessage, answer: Answer) -> str:
    """The moderator's address if ANSWER may decide on HELD; raises NotAllowed otherwise."""
    if answer.automatic:
        raise AutomaticAnswer(
            N_("an automatic answer (auto-reply, bounce, robot) cannot moderate posts"))
    mailing_list = session.get(MailingList, held.list_id)
    assert mailing_list is not None
    if answer.address is None or answer.address not in moderation.moderators_of(
            session, mailing_list):
        if answer.address is None:
            raise NotAModerator(N_("the sender is not a moderator of {list}"),
                                list=mailing_list.address)
        raise NotAModerator(N_("{address} is not a moderator of {list}"),
                            address=answer.address, list=mailing_list.address)
    return answer.address


def approve_by_mail(session: Session, runtime: Runtime, token: str, answer: Answer,
                    accept_sender: bool = False) -> moderation.Decided:
    """A reply to the notice (LIST-confirm+TOKEN@) or `DISTRIBUTE TOKEN`."""
    held = moderation.find_held_by_token(session, token)
    actor = authorize(session, held, answer)
    return moderation.approve_held(session, runtime, held, actor, accept_sender=accept_sender)


def reject_by_mail(session: Session, runtime: Runtime, token: str, answer: Answer,
                   reason: str | None = None) -> moderation.Decided:
    """`REJECT TOKEN [reason]`: the poster gets the reason."""
    held = moderation.find_held_by_token(session, token)
    actor = authorize(session, held, answer)
    return moderation.reject_held(session, runtime, held, actor, reason)


def discard_by_mail(session: Session, runtime: Runtime, token: str, answer: Answer,
                    reason: str | None = None) -> moderation.Decided:
    """Dropping the post silently (Sympa's `REJECT QUIET`)."""
    held = moderation.find_held_by_token(session, token)
    actor = authorize(session, held, answer)
    return moderation.discard_held(session, runtime, held, actor, reason)
