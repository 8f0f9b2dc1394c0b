"""Mail to LIST-owner@ goes to the list's owners, mail to ROBOT-owner@ to the listmasters.

The message is passed on unchanged but for an X-Loop line, so its signatures stay valid; the
envelope sender becomes our own -bounces address, so a failing owner address bounces to
listd instead of back to whoever wrote.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from listd import audit
from listd.addresses import AddressKind, scheme_address
from listd.distribute.queue import enqueue_mail
from listd.members import addresses_with_role
from listd.models import Role
from listd.processing.delivery import Delivery, Outcome
from listd.runtime import Runtime


def forward_to_owners(session: Session, runtime: Runtime, delivery: Delivery) -> Outcome:
    destination = delivery.destination
    mailing_list = delivery.mailing_list
    if mailing_list is not None:
        recipients = addresses_with_role(session, mailing_list, Role.OWNER)
        local = mailing_list.name
        who = "owners"
    else:
        recipients = list(runtime.config.listmasters)
        local = runtime.config.robot
        who = "listmasters"
    own_address = scheme_address(local, destination.domain, AddressKind.OWNER)
    if any(own_address in str(v).lower() for v in _x_loops(delivery)):
        return Outcome(f"kept, not forwarded: already went through {own_address} (X-Loop)")
    if not recipients:
        return Outcome(f"kept, not forwarded: {own_address} has no {who}")
    raw = f"X-Loop: {own_address}\r\n".encode() + delivery.raw
    enqueue_mail(session, sender=scheme_address(local, destination.domain, AddressKind.BOUNCES),
                 recipients=recipients, message=raw, kind="forward",
                 list_id=mailing_list.id if mailing_list is not None else None)
    audit.record(session, audit.SYSTEM_ACTOR, "owner.forwarded", mailing_list,
                 delivery.sender or None, recipients=len(recipients))
    return Outcome(f"forwarded to the {len(recipients)} {who}", queued_mail=True)


def _x_loops(delivery: Delivery) -> list[str]:
    # The lenient header parse: this forward must work for mail nothing else can read.
    return [str(v) for v in delivery.headers.get_all("X-Loop", [])]
