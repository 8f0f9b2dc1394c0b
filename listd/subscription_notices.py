"""The owners' notice of each subscription and unsubscription, whatever door made it: a
confirmed mail, the CLI, the API, the web pages, a one-click unsubscribe.

Derived from the audit log as the change is recorded, in the same transaction (as the webhook
events are): no door has to remember it, and a change rolled back sends nothing. A list still
being set up (pending, or filled by an import before it is approved) sends none; a bulk import
is one audit entry and sends none either; a removal for bounces or a complaint has its own
notice to the owners (listd/bounce/notices.py), always sent, so it gets no second one.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, select
from sqlalchemy.orm import Session

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
# Subscribers are counted without this address: none is empty, so it leaves out nobody.
NOBODY = ""

_MEMBERS = cast(Table, Member.__table__)


def _notice_facts(up_to: bool) -> Select[tuple[str, int, str | None]]:
    """What a notice needs, in one SELECT built once: a row per owner (in address order), each
    with the number of subscribers after the change (a removal may be recorded before its
    delete, so the address that left is not counted; up to UP_TO if given) and the display
    name of the one who joined."""
    others = select(_MEMBERS.c.id).where(
        _MEMBERS.c.list_id == bindparam("list_id"), _MEMBERS.c.role == Role.SUBSCRIBER,
        _MEMBERS.c.address != bindparam("without"))
    if up_to:
        others = others.limit(bindparam("up_to"))
    count = select(func.count()).select_from(others.subquery()).scalar_subquery()
    name = select(_MEMBERS.c.display_name).where(
        _MEMBERS.c.list_id == bindparam("list_id"), _MEMBERS.c.role == Role.SUBSCRIBER,
        _MEMBERS.c.address == bindparam("subject")).scalar_subquery()
    owners = _MEMBERS.alias("owners")
    return select(owners.c.address, count.label("subscribers"), name.label("name")).where(
        owners.c.list_id == bindparam("list_id"), owners.c.role == Role.OWNER
    ).order_by(owners.c.address)


_FACTS = _notice_facts(up_to=False)
_FACTS_UP_TO = _notice_facts(up_to=True)


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
    session.flush()  # a change not yet written counts (Core does not flush)
    rows = session.execute(_FACTS_UP_TO if auto else _FACTS, {
        "list_id": mailing_list.id, "subject": subject, "up_to": LARGE_LIST,
        "without": NOBODY if action == JOINED else subject}).all()
    if not rows:
        return  # no owner to tell
    count = rows[0].subscribers
    if auto and count >= LARGE_LIST:
        return
    owners = [row.address for row in rows]
    if action == JOINED:
        send_list_notice(session, mailing_list, "subscribed_owner", owners, address=subject,
                         who=rows[0].name or subject, count=count)
    else:
        send_list_notice(session, mailing_list, "unsubscribed_owner", owners,
                         address=subject, count=count)


def _wanted(mailing_list: MailingList, setting: str, detail: dict[str, Any]) -> bool:
    return (detail.get("role", Role.SUBSCRIBER.value) == Role.SUBSCRIBER.value
            and detail.get("why") not in TOLD_OTHERWISE
            and mailing_list.status is ListStatus.ACTIVE
            and setting != "off")
