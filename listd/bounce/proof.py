"""What proves that a report is about a copy listd sent to a member.

Anyone can mail LIST-bounces@ a report that names a member, so a report's own words prove
nothing. Two things do: the VERP token of the envelope recipient (signed by us, naming one
queue entry and so one member), or, without a token, the Message-ID of the returned copy
when the outbound records show a copy with that Message-ID went to the member named. Once
the records of a delivery are purged, its reports can no longer be proven and act on nobody.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.distribute.verp import find_verp_target
from listd.models import MailingList, Member, OutboundEntry, OutboundMessage, Role, StoredMessage


class Proof(enum.StrEnum):
    VERP = "VERP token"
    MESSAGE_ID = "Message-ID of a copy sent to the member"


@dataclass(frozen=True)
class ProvenMember:
    """A member a report may act on, the delivery it is about, and how that was shown."""

    member: Member
    entry_id: int
    proof: Proof


def member_of_token(session: Session, mailing_list: MailingList, token: str,
                    secret: str) -> ProvenMember | None:
    """The subscriber whose copy TOKEN was issued for; None if forged, of another list or gone."""
    target = find_verp_target(session, token, secret)
    if target is None or target.list_id != mailing_list.id or target.member_id is None:
        return None
    member = session.get(Member, target.member_id)
    if member is None or member.list_id != mailing_list.id or member.role is not Role.SUBSCRIBER:
        return None
    return ProvenMember(member, target.entry_id, Proof.VERP)


def members_sent(session: Session, mailing_list: MailingList, message_id: str,
                 addresses: Iterable[str]) -> list[ProvenMember]:
    """Subscribers among ADDRESSES to whom a post with MESSAGE_ID was queued on this list."""
    wanted = sorted({a.lower() for a in addresses if a})
    if not wanted:
        return []
    rows = session.execute(
        select(Member, OutboundEntry.id)
        .join(OutboundEntry, OutboundEntry.member_id == Member.id)
        .join(OutboundMessage, OutboundMessage.id == OutboundEntry.outbound_id)
        .join(StoredMessage, StoredMessage.id == OutboundMessage.source_message_id)
        .where(StoredMessage.message_id == message_id,
               OutboundMessage.list_id == mailing_list.id,
               Member.list_id == mailing_list.id, Member.role == Role.SUBSCRIBER,
               Member.address.in_(wanted))
        .order_by(OutboundEntry.id)).all()
    found: dict[int, ProvenMember] = {}
    for member, entry_id in rows:
        found.setdefault(member.id, ProvenMember(member, entry_id, Proof.MESSAGE_ID))
    return list(found.values())


def subscriber(session: Session, mailing_list: MailingList, address: str) -> Member | None:
    """The subscriber with ADDRESS, only to name it in records: never proof by itself."""
    return session.scalars(select(Member).where(
        Member.list_id == mailing_list.id, Member.role == Role.SUBSCRIBER,
        Member.address == address.lower())).first()
