"""What /my shows a signed-in address: its memberships and what it is waiting for (reads)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.models import ListStatus, MailingList, Member, PendingAction
from listd.runtime import Runtime
from listd.web.sessions import SIGNIN


@dataclass(frozen=True)
class Membership:
    list_address: str
    role: str
    delivery: str
    status: str


@dataclass(frozen=True)
class Waiting:
    what: str
    list_address: str


def memberships(session: Session, address: str) -> list[Membership]:
    rows = session.execute(select(Member, MailingList).join(
        MailingList, MailingList.id == Member.list_id).where(Member.address == address)
        .order_by(MailingList.name, Member.role))
    return [Membership(lst.address, m.role.value,
                       m.delivery_mode.value, lst.status.value) for m, lst in rows]


def waiting(session: Session, runtime: Runtime, address: str) -> list[Waiting]:
    """Confirmations not yet answered, and this address's list requests not yet decided."""
    now = runtime.clock.now()
    found = [Waiting(p.action, lst.address if lst else "") for p, lst in session.execute(
        select(PendingAction, MailingList).outerjoin(
            MailingList, MailingList.id == PendingAction.list_id)
        .where(PendingAction.address == address, PendingAction.used_at.is_(None),
               PendingAction.expires_at > now, PendingAction.action != SIGNIN)
        .order_by(PendingAction.id))]
    found += [Waiting("list_request", lst.address) for lst in session.scalars(
        select(MailingList).where(MailingList.requested_by == address,
                                  MailingList.status == ListStatus.PENDING))]
    return found
