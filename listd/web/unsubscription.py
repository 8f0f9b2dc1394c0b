"""What a one-click unsubscribe token does to the database, apart from HTTP."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.orm import Session

from listd import audit
from listd.deliverability.unsubscribe import UnsubscribeClaim
from listd.members import find_member
from listd.models import ListStatus, MailingList, Role


class Outcome(enum.StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    # Still subscribed: the page offers the button (GET never unsubscribes).
    SUBSCRIBED = "subscribed"
    # The address is not (or no longer) on the list: a reused token ends here.
    NOT_SUBSCRIBED = "not_subscribed"
    NO_LIST = "no_list"


@dataclass(frozen=True)
class Situation:
    outcome: Outcome
    list_address: str = ""
    language: str = "en"


def look(session: Session, claim: UnsubscribeClaim) -> Situation:
    mailing_list = _find_list(session, claim)
    if mailing_list is None:
        return Situation(Outcome.NO_LIST)
    member = find_member(session, mailing_list, claim.address, Role.SUBSCRIBER)
    return Situation(Outcome.SUBSCRIBED if member is not None else Outcome.NOT_SUBSCRIBED,
                     mailing_list.address, mailing_list.language)


def unsubscribe(session: Session, claim: UnsubscribeClaim) -> Situation:
    mailing_list = _find_list(session, claim)
    if mailing_list is None:
        return Situation(Outcome.NO_LIST)
    member = find_member(session, mailing_list, claim.address, Role.SUBSCRIBER)
    if member is None:
        return Situation(Outcome.NOT_SUBSCRIBED, mailing_list.address, mailing_list.language)
    session.delete(member)
    audit.record(session, claim.address, "member.unsubscribed", mailing_list, claim.address,
                 via="one-click")
    return Situation(Outcome.UNSUBSCRIBED, mailing_list.address, mailing_list.language)


def _find_list(session: Session, claim: UnsubscribeClaim) -> MailingList | None:
    mailing_list = session.get(MailingList, claim.list_id)
    if mailing_list is None or mailing_list.status is not ListStatus.ACTIVE:
        return None
    return mailing_list
