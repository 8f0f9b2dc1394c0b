"""Mail to LIST-bounces(+TOKEN)@: read the report, find the member, record and score.

With a VERP token the report names exactly one delivery, so the member is known whatever the
report says about addresses (forwarding often changes them). A token that does not verify
changes nothing. Without a token, the report's own failed recipients are matched to members.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import audit
from listd.bounce.classify import classify_message
from listd.bounce.events import ACTOR, is_probe, record_bounce
from listd.bounce.notices import owner_addresses, send_notice
from listd.bounce.report import BounceReport, Category, FailedRecipient
from listd.bounce.scoring import Effect
from listd.distribute.verp import decode_verp_token
from listd.models import (
    BounceEvent,
    MailingList,
    Member,
    OutboundEntry,
    OutboundMessage,
    Role,
)
from listd.processing.delivery import Delivery, Outcome
from listd.runtime import Runtime


def handle_bounce(session: Session, runtime: Runtime, delivery: Delivery) -> Outcome:
    report = classify_message(delivery.raw)
    mailing_list = delivery.mailing_list
    token = delivery.destination.token
    if mailing_list is None:
        return Outcome(f"{report.category.value} for listd's own mail; kept for the admin")
    verp_member: Member | None = None
    entry_id: int | None = None
    probe_bounced = False
    if token is not None:
        entry_id = decode_verp_token(token, runtime.secret)
        verp_member = _member_of_entry(session, mailing_list, entry_id) if entry_id else None
        probe_bounced = is_probe(session, entry_id)
        if verp_member is None:
            return Outcome(f"{report.category.value} with an unknown or forged VERP token "
                           f"{token!r}; nothing changed")

    if report.category is Category.COMPLAINT:
        return _complaint(session, runtime, mailing_list, report, verp_member,
                          delivery.inbound.message_id)
    if report.category is not Category.BOUNCE:
        # Delay notices, auto-replies and delivery reports say nothing against an address.
        return Outcome(f"{report.category.value}: recorded nothing")

    report_id = delivery.inbound.message_id
    effects = []
    if verp_member is not None:
        failed = report.recipients[0] if report.recipients else FailedRecipient(
            address=verp_member.address, reason="undefined", diagnostic="(no details)")
        effect = record_bounce(session, runtime, mailing_list, verp_member, failed,
                               source="report", outbound_entry_id=entry_id,
                               report_message_id=report_id, probe_bounced=probe_bounced)
        effects.append(f"{verp_member.address}: {effect.value}")
    else:
        for failed in report.recipients:
            member = _subscriber(session, mailing_list, failed.address, failed.original_address)
            effect = record_bounce(session, runtime, mailing_list, member, failed,
                                   source="report", report_message_id=report_id)
            effects.append(f"{failed.address}: {effect.value}")
    return Outcome("bounce: " + ("; ".join(effects) or "no failed recipient found"),
                   queued_mail=any("suspended" in e for e in effects))


def _member_of_entry(session: Session, mailing_list: MailingList,
                     entry_id: int) -> Member | None:
    row = session.execute(
        select(OutboundEntry.member_id, OutboundMessage.list_id)
        .join(OutboundMessage, OutboundMessage.id == OutboundEntry.outbound_id)
        .where(OutboundEntry.id == entry_id)).first()
    if row is None or row.list_id != mailing_list.id or row.member_id is None:
        return None
    return session.get(Member, row.member_id)


def _subscriber(session: Session, mailing_list: MailingList,
                *addresses: str | None) -> Member | None:
    wanted = [a.lower() for a in addresses if a]
    if not wanted:
        return None
    return session.scalars(select(Member).where(
        Member.list_id == mailing_list.id, Member.role == Role.SUBSCRIBER,
        Member.address.in_(wanted))).first()


def _complaint(session: Session, runtime: Runtime, mailing_list: MailingList,
               report: BounceReport, verp_member: Member | None, report_id: int) -> Outcome:
    """An abuse report: the member no longer wants this mail; unsubscribe them at once."""
    members = [verp_member] if verp_member is not None else [
        m for m in (_subscriber(session, mailing_list, a) for a in report.complainants) if m]
    if not members:
        return Outcome("complaint about no current member; recorded nothing")
    for member in members:
        session.add(BounceEvent(
            list_id=mailing_list.id, member_id=member.id, address=member.address,
            kind="complaint", effect=Effect.UNSUBSCRIBED.value, status=None,
            reason=report.feedback_type or "abuse", source="report",
            report_message_id=report_id, received_at=runtime.clock.now()))
        send_notice(session, mailing_list, "complaint_owner",
                    owner_addresses(session, mailing_list), member=member.address,
                    feedback_type=report.feedback_type or "abuse")
        audit.record(session, ACTOR, "member.removed", mailing_list, member.address,
                     why="complaint", feedback_type=report.feedback_type)
        session.delete(member)
    return Outcome("complaint: unsubscribed " + ", ".join(m.address for m in members),
                   queued_mail=True)
