"""Feedback reports (ARF, RFC 5965): only the recipient's own complaint unsubscribes.

`abuse` is the recipient marking the copy as spam. `fraud` counts only when the report names
the member as the one who complained about the copy sent to them. Every other type
(auth-failure, not-spam, virus, other, …) says something about the message, not the member's
wishes: recorded and sent to the owners.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from listd import audit, suppression
from listd.bounce.events import ACTOR
from listd.bounce.notices import owner_addresses, send_notice
from listd.bounce.outcome import AddressEffect, BounceResult
from listd.bounce.proof import ProvenMember, member_of_returned_copy, subscriber
from listd.bounce.report import BounceReport
from listd.bounce.scoring import Effect
from listd.bounce.unacted import Report, Unacted, forward_to_owners, record_unacted
from listd.models import BounceEvent, SuppressionReason
from listd.runtime import Runtime

COMPLAINT = "complaint"
# Old feedback loops (no ARF fields) forward the message the recipient marked as spam.
DEFAULT_TYPE = "abuse"


def handle_complaint(session: Session, runtime: Runtime, report: Report,
                     parsed: BounceReport, verp: ProvenMember | None,
                     forged_token: str | None) -> BounceResult:
    feedback_type = parsed.feedback_type or DEFAULT_TYPE
    if forged_token is not None:
        return _not_proven(session, runtime, report, parsed,
                           f"its VERP token {forged_token!r} is unknown or forged")
    proven = _proven(session, report, parsed, verp or member_of_returned_copy(
        session, report.mailing_list, parsed.returned_senders, runtime.secret,
        runtime.config.robot))
    if not proven:
        return _not_proven(session, runtime, report, parsed,
                           "nothing shows it is about a copy sent to the member it names")
    if not _recipients_complaint(feedback_type, parsed, proven):
        return _not_a_complaint(session, runtime, report, proven, feedback_type)
    effects = [_unsubscribe(session, runtime, report, one, feedback_type) for one in proven]
    return BounceResult(COMPLAINT, tuple(effects))


def _proven(session: Session, report: Report, parsed: BounceReport,
            verp: ProvenMember | None) -> list[ProvenMember]:
    if verp is None:
        return []
    # A token is good for its own member only: a report that names another member of the
    # list contradicts it, and acts on neither.
    others = [a for a in parsed.complainants if a.lower() != verp.member.address
              and subscriber(session, report.mailing_list, a) is not None]
    return [] if others else [verp]


def _recipients_complaint(feedback_type: str, parsed: BounceReport,
                          proven: list[ProvenMember]) -> bool:
    if feedback_type == "abuse":
        return True
    if feedback_type == "fraud":
        named = {a.lower() for a in parsed.complainants}
        return all(one.member.address in named for one in proven)
    return False


def _not_proven(session: Session, runtime: Runtime, report: Report, parsed: BounceReport,
                why: str) -> BounceResult:
    kind = parsed.feedback_type or DEFAULT_TYPE
    named = [Unacted(a, COMPLAINT, reason=kind) for a in parsed.complainants]
    effects = record_unacted(session, runtime, report, named, Effect.NOT_PROVEN, why)
    forwarded = forward_to_owners(session, runtime, report, parsed.complainants,
                                  f"a {kind} report, but {why}")
    return BounceResult(COMPLAINT, tuple(effects), note=f"not acted on: {why}",
                        forwarded=forwarded)


def _not_a_complaint(session: Session, runtime: Runtime, report: Report,
                     proven: list[ProvenMember], feedback_type: str) -> BounceResult:
    why = f"feedback type {feedback_type!r} is not the recipient's own complaint"
    named = [Unacted(p.member.address, COMPLAINT, reason=feedback_type, member=p.member)
             for p in proven]
    effects = record_unacted(session, runtime, report, named, Effect.NOT_A_COMPLAINT, why)
    forwarded = forward_to_owners(session, runtime, report, [p.member.address for p in proven], why)
    return BounceResult(COMPLAINT, tuple(effects), forwarded=forwarded)


def _unsubscribe(session: Session, runtime: Runtime, report: Report, proven: ProvenMember,
                 feedback_type: str) -> AddressEffect:
    """The member no longer wants this mail: unsubscribe them at once, tell the owners."""
    member, mailing_list = proven.member, report.mailing_list
    session.add(BounceEvent(
        list_id=mailing_list.id, member_id=member.id, address=member.address,
        outbound_entry_id=proven.entry_id, kind=COMPLAINT, effect=Effect.UNSUBSCRIBED.value,
        status=None, reason=feedback_type, source="report",
        report_message_id=report.message_id, received_at=runtime.clock.now()))
    send_notice(session, mailing_list, "complaint_owner", owner_addresses(session, mailing_list),
                member=member.address, feedback_type=feedback_type)
    audit.record(session, ACTOR, "member.removed", mailing_list, member.address,
                 why="complaint", feedback_type=feedback_type, proof=proven.proof.value)
    suppression.suppress(session, member.address, SuppressionReason.COMPLAINT, actor=ACTOR,
                         note=f"feedback type {feedback_type}", mailing_list=mailing_list)
    session.delete(member)
    return AddressEffect(member.address, Effect.UNSUBSCRIBED)
