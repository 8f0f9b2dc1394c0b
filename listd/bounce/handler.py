"""Mail to LIST-bounces(+TOKEN)@: read the report, find the member it is about, act or not.

A report acts on a member only when listd can prove it is about a copy sent to that member
(proof.py): through the VERP token of the envelope recipient, which names exactly one
delivery whatever the report says about addresses (forwarding often changes them), or,
without one, through the VERP token in the envelope sender the returned copy shows. Anything
else, a Message-ID included, is recorded and sent to the owners (unacted.py), never acted on.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from listd.bounce.classify import classify_message
from listd.bounce.complaints import handle_complaint
from listd.bounce.events import PROBE_KIND, record_bounce
from listd.bounce.outcome import AddressEffect, BounceResult
from listd.bounce.proof import ProvenMember, member_of_returned_copy, member_of_token
from listd.bounce.report import BounceReport, Category, FailedRecipient, Kind
from listd.bounce.scoring import Effect
from listd.bounce.unacted import Report, Unacted, forward_to_owners, record_unacted
from listd.processing.delivery import Delivery, Outcome
from listd.runtime import Runtime
from listd.smtp_in.routing import DestinationKind

BOUNCE = "bounce"


def handle_bounce(session: Session, runtime: Runtime, delivery: Delivery) -> Outcome:
    # Classified while the inbound worker prepared it (a pure function of the bytes).
    parsed = delivery.prepared_bounce or classify_message(delivery.raw)
    if delivery.mailing_list is None:
        return Outcome(f"{parsed.category.value} for listd's own mail; kept for the admin")
    report = Report(delivery.mailing_list, delivery.inbound.message_id, delivery.raw)
    result = _handle(session, runtime, report, parsed, _verp_token(delivery))
    return Outcome(result.summary, queued_mail=result.queued_mail)


def _verp_token(delivery: Delivery) -> str | None:
    # Only LIST-bounces+TOKEN carries a VERP token; the null sender to another address of
    # the list (the posting address, say) brings none.
    if delivery.destination.kind is not DestinationKind.BOUNCES:
        return None
    return delivery.destination.token


def _handle(session: Session, runtime: Runtime, report: Report, parsed: BounceReport,
            token: str | None) -> BounceResult:
    verp = member_of_token(session, report.mailing_list, token, runtime.secret) \
        if token is not None else None
    forged = token if token is not None and verp is None else None
    if parsed.category is Category.COMPLAINT:
        return handle_complaint(session, runtime, report, parsed, verp, forged)
    if parsed.category is not Category.BOUNCE:
        # Delay notices, auto-replies and delivery reports say nothing against an address.
        return BounceResult(parsed.category.value, note="recorded nothing")
    if forged is not None:
        return _unproven(session, runtime, report, list(parsed.recipients),
                         f"unknown or forged VERP token {forged!r}; nothing changed")
    if verp is not None:
        return BounceResult(BOUNCE, (_score(session, runtime, report, verp,
                                            _details_for(parsed, verp)),))
    return _by_returned_copy(session, runtime, report, parsed)


def _details_for(parsed: BounceReport, verp: ProvenMember) -> FailedRecipient:
    """The report's words about the member's copy: its own entry, else the first one."""
    address = verp.member.address
    for failed in parsed.recipients:
        if address in (failed.address.lower(), (failed.original_address or "").lower()):
            return failed
    if parsed.recipients:
        return parsed.recipients[0]
    return FailedRecipient(address=address, reason="undefined", diagnostic="(no details)")


def _score(session: Session, runtime: Runtime, report: Report, proven: ProvenMember,
           failed: FailedRecipient) -> AddressEffect:
    effect = record_bounce(session, runtime, report.mailing_list, proven.member, failed,
                           source="report", outbound_entry_id=proven.entry_id,
                           report_message_id=report.message_id,
                           probe_bounced=proven.kind == PROBE_KIND,
                           bounced_before=proven.bounced_before)
    return AddressEffect(proven.member.address, effect)


def _by_returned_copy(session: Session, runtime: Runtime, report: Report,
                      parsed: BounceReport) -> BounceResult:
    """No token in the envelope: the returned copy's own VERP sender may still say whose."""
    proven = member_of_returned_copy(session, report.mailing_list, parsed.returned_senders,
                                     runtime.secret, runtime.config.robot)
    if proven is not None:
        return BounceResult(BOUNCE, (_score(session, runtime, report, proven,
                                            _details_for(parsed, proven)),))
    return _unproven(session, runtime, report, list(parsed.recipients),
                     "no VERP token, in the envelope or in the returned copy")


def _unproven(session: Session, runtime: Runtime, report: Report,
              failed: list[FailedRecipient], why: str) -> BounceResult:
    named = [Unacted(f.address, (f.kind or Kind.SOFT).value, f.status, f.reason, f.diagnostic)
             for f in failed]
    effects = record_unacted(session, runtime, report, named, Effect.NOT_PROVEN, why)
    forwarded = forward_to_owners(session, runtime, report, [f.address for f in failed],
                                  f"a delivery failure report, but {why}")
    note = f"not acted on: {why}" if failed else "no failed recipient found"
    return BounceResult(BOUNCE, tuple(effects), note=note, forwarded=forwarded)
