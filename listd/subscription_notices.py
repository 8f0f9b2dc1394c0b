"""The owners' notice of each subscription and unsubscription, whatever door made it: a
confirmed mail, the CLI, the API, the web pages, a one-click unsubscribe.

Derived from the audit log as the change is recorded, in the same transaction (as the webhook
events are): no door has to remember it, and a change rolled back sends nothing. A list still
being set up (pending, or filled by an import before it is approved) sends none; a bulk import
is one audit entry and sends none either; a removal for bounces or a complaint has its own
notice to the owners (listd/bounce/notices.py), always sent, so it gets no second one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listd.members import addresses_with_role, find_member
from listd.models import ListStatus, MailingList, Member, Role
from listd.posting.notices import send_list_notice
from listd.settings import ListSettings

# Past this many subscribers, "auto" subscription notices are off: owners of a large list
# would get a mail for every arrival.
LARGE_LIST = 1000
JOINED = "member.added"
LEFT = ("member.removed", "member.unsubscribed")
# Removals that tell the owners with a notice of their own.
TOLD_OTHERWISE = ("bounces", "complaint")


def on_audit(session: Session, action: str, mailing_list: MailingList | None,
             subject: str | None, detail: dict[str, Any]) -> None:
    if action != JOINED and action not in LEFT:
        return
    if mailing_list is None or subject is None:
        return
    setting = ListSettings.of(mailing_list).subscription_notices
    if not _wanted(mailing_list, setting, detail):
        return
    # "auto" needs only to know whether the list is large: a bounded count, whatever its size.
    auto = setting == "auto"
    count = _subscribers(session, mailing_list, without=None if action == JOINED else subject,
                         up_to=LARGE_LIST if auto else None)
    if auto and count >= LARGE_LIST:
        return
    owners = addresses_with_role(session, mailing_list, Role.OWNER)
    if action == JOINED:
        member = find_member(session, mailing_list, subject)
        who = member.display_name if member is not None and member.display_name else subject
        send_list_notice(session, mailing_list, "subscribed_owner", owners, address=subject,
                         who=who, count=count)
    else:
        send_list_notice(session, mailing_list, "unsubscribed_owner", owners,
                         address=subject, count=count)


def _wanted(mailing_list: MailingList, setting: str, detail: dict[str, Any]) -> bool:
    return (detail.get("role", Role.SUBSCRIBER.value) == Role.SUBSCRIBER.value
            and detail.get("why") not in TOLD_OTHERWISE
            and mailing_list.status is ListStatus.ACTIVE
            and setting != "off")


def _subscribers(session: Session, mailing_list: MailingList, without: str | None,
                 up_to: int | None = None) -> int:
    """The subscribers after the change (a removal may be recorded before its delete),
    counted up to UP_TO if given."""
    query = select(Member.id).where(Member.list_id == mailing_list.id,
                                    Member.role == Role.SUBSCRIBER)
    if without is not None:
        query = query.where(Member.address != without)
    if up_to is not None:
        query = query.limit(up_to)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0
