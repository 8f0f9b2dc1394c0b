"""Handing an accepted post to distribution: one outbound message, one queue row per recipient."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.clock import utcnow
from listd.models import (
    DeliveryMode,
    MailingList,
    Member,
    MemberStatus,
    OutboundEntry,
    OutboundMessage,
    OutboundState,
    Role,
)
from listd.runtime import Runtime

EXPAND_BATCH = 5000


def accept_post(session: Session, runtime: Runtime, mailing_list: MailingList, raw: bytes,
                source_message_id: int | None = None) -> OutboundMessage:
    """Queue RAW for every subscriber who receives mail, each with a VERP envelope sender."""
    outbound = OutboundMessage(list_id=mailing_list.id, source_message_id=source_message_id,
                               kind="post", raw=raw, verp=True,
                               envelope_sender=f"{mailing_list.name}-bounces@"
                                               f"{mailing_list.domain.name}")
    session.add(outbound)
    session.flush()
    now = utcnow()
    recipients = session.execute(
        select(Member.id, Member.address).where(
            Member.list_id == mailing_list.id, Member.role == Role.SUBSCRIBER,
            Member.status == MemberStatus.ENABLED, Member.delivery_mode == DeliveryMode.MAIL)
        .order_by(Member.id)).yield_per(EXPAND_BATCH)
    for batch in recipients.partitions():
        session.execute(OutboundEntry.__table__.insert(), [
            {"outbound_id": outbound.id, "recipient": address, "member_id": member_id,
             "state": OutboundState.QUEUED, "attempts": 0, "next_attempt_at": now,
             "created_at": now}
            for member_id, address in batch])
    return outbound
