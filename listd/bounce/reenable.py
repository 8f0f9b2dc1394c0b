"""A suspended member says they want mail again: by answering a bounce notice, or SET list MAIL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from listd import audit, tokens
from listd.bounce.scoring import restore
from listd.commands import phrases
from listd.commands.results import Result, Status
from listd.members import find_member
from listd.models import MailingList, Member
from listd.runtime import Runtime

if TYPE_CHECKING:
    from listd.confirmations import Confirming

REENABLE = "bounce_reenable"


def reenable_token(session: Session, runtime: Runtime, mailing_list: MailingList,
                   member: Member) -> str:
    """A token the member's answer to a bounce notice carries back (see CONFIRM_ACTIONS)."""
    return tokens.issue(session, runtime, REENABLE, member.address, mailing_list).token


def reenable_confirmed(session: Session, runtime: Runtime, confirming: Confirming) -> Result:
    mailing_list = confirming.mailing_list
    assert mailing_list is not None
    member = find_member(session, mailing_list, confirming.pending.address)
    if member is None:
        return Result(Status.REFUSED, phrases.say(mailing_list.language, "not_subscribed",
                                                  list=mailing_list.address))
    restore(member)
    audit.record(session, confirming.confirmed_by, "member.bounce_reenabled", mailing_list,
                 member.address)
    return Result(Status.DONE, phrases.say(mailing_list.language, "delivery_resumed",
                                           list=mailing_list.address))
