"""What proves that a report is about a copy listd sent to a member.

Anyone can mail LIST-bounces@ a report that names a member, so a report's own words prove
nothing, and neither does a post's Message-ID: every member and every archive reader knows
it. Only a VERP token does (signed by us, naming one queue entry and so one member): the
envelope recipient's, or, for a report that came without one, the token in the envelope
sender the returned copy shows (its Return-Path, ARF's Original-Mail-From), which only the
member it was sent to has seen. Once the records of a delivery are purged, its reports can no
longer be proven and act on nobody.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from listd.addresses import AddressKind, parse_address
from listd.bounce.warn_rate import bounced_before_of
from listd.distribute.verp import decode_verp_token
from listd.models import MailingList, Member, OutboundEntry, OutboundMessage, Role


class Proof(enum.StrEnum):
    VERP = "VERP token"
    RETURNED_COPY = "VERP token of the returned copy"


@dataclass(frozen=True)
class ProvenMember:
    """A member a report may act on, the delivery it is about, and how that was shown."""

    member: Member
    entry_id: int
    proof: Proof
    # The kind of the outbound message the copy was of ("post", "probe", …).
    kind: str = ""
    # Whether a bounce of this copy was recorded before (None: not asked).
    bounced_before: bool | None = None


def member_of_token(session: Session, mailing_list: MailingList, token: str,
                    secret: str) -> ProvenMember | None:
    """The subscriber whose copy TOKEN was issued for; None if forged, of another list or gone."""
    entry_id = decode_verp_token(token, secret)
    if entry_id is None:
        return None
    found = session.execute(_TARGET, {"entry_id": entry_id}).first()
    if found is None:
        return None
    member, list_id, kind, bounced_before = found
    if list_id != mailing_list.id or member.list_id != mailing_list.id or \
            member.role is not Role.SUBSCRIBER:
        return None
    return ProvenMember(member, entry_id, Proof.VERP, kind, bool(bounced_before))


# What a token's queue entry names: its member (loaded, as a bounce may change it), the list
# and kind of its message, and whether the copy bounced before (warn_rate.bounced_before).
# One statement, built once: it runs for every report.
_TARGET = (select(Member, OutboundMessage.list_id, OutboundMessage.kind,
                  bounced_before_of(OutboundEntry.id))
           .select_from(OutboundEntry)
           .join(OutboundMessage, OutboundMessage.id == OutboundEntry.outbound_id)
           .join(Member, Member.id == OutboundEntry.member_id)
           .where(OutboundEntry.id == bindparam("entry_id")))


def member_of_returned_copy(session: Session, mailing_list: MailingList,
                            senders: Iterable[str], secret: str,
                            robot: str) -> ProvenMember | None:
    """The subscriber whose copy's VERP sender is among SENDERS; None if none or several."""
    proven: dict[int, ProvenMember] = {}
    for sender in senders:
        token = _bounces_token(mailing_list, sender, robot)
        found = member_of_token(session, mailing_list, token, secret) if token else None
        if found is not None:
            proven.setdefault(found.member.id, found)
    if len(proven) != 1:
        # Tokens of two members in one returned copy: it is not one member's copy.
        return None
    return replace(next(iter(proven.values())), proof=Proof.RETURNED_COPY)


def _bounces_token(mailing_list: MailingList, sender: str, robot: str) -> str | None:
    destination = parse_address(sender, robot)
    if destination.kind is not AddressKind.BOUNCES or destination.list_name != \
            mailing_list.name or destination.domain != mailing_list.domain.name:
        return None
    return destination.token


def subscriber(session: Session, mailing_list: MailingList, address: str) -> Member | None:
    """The subscriber with ADDRESS, only to name it in records: never proof by itself."""
    return session.scalars(select(Member).where(
        Member.list_id == mailing_list.id, Member.role == Role.SUBSCRIBER,
        Member.address == address.lower())).first()
