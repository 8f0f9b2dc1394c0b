"""Recording a bounce against a member, scoring it, and acting when the score says so."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, Update, bindparam, insert, inspect, select, update
from sqlalchemy.orm import Session

from listd import audit
from listd.bounce import warn_rate
from listd.bounce.classify import classify_reply
from listd.bounce.notices import list_addresses, owner_addresses, send_notice
from listd.bounce.reenable import reenable_token
from listd.bounce.report import FailedRecipient, Kind
from listd.bounce.scoring import BouncePolicy, Effect, apply_bounce
from listd.commands.outgoing import RobotAddresses
from listd.compose import compose
from listd.distribute.claims import RelayRefusal
from listd.distribute.queue import enqueue_mail
from listd.models import BounceEvent, MailingList, Member, OutboundEntry, OutboundMessage
from listd.runtime import Runtime
from listd.settings import ListSettings
from listd.templates import render

ACTOR = "bounce-processing"
_INSERT_EVENT = insert(BounceEvent)


def record_bounce(session: Session, runtime: Runtime, mailing_list: MailingList,
                  member: Member | None, failed: FailedRecipient, *, source: str,
                  outbound_entry_id: int | None = None,
                  report_message_id: int | None = None, probe_bounced: bool = False,
                  bounced_before: bool | None = None) -> Effect:
    """Keep the event (always, for audit) and count it against MEMBER where it should count.
    BOUNCED_BEFORE: whether a bounce of OUTBOUND_ENTRY_ID is recorded already, where the
    caller knows it (else asked here)."""
    kind = (failed.kind or Kind.SOFT).value
    effect = Effect.UNKNOWN_MEMBER
    settings = ListSettings.of(mailing_list)
    if member is not None:
        policy = BouncePolicy.of(settings)
        effect = apply_bounce(member, policy, kind, failed.reason, runtime.clock.now(),
                              probe_bounced=probe_bounced)
        if effect is Effect.PROBING:
            send_probe(session, mailing_list, member)
        if effect is Effect.SUSPENDED:
            suspend_notices(session, runtime, mailing_list, member, policy, failed)
            audit.record(session, ACTOR, "member.bounce_suspended", mailing_list,
                         member.address, score=member.bounce_score, reason=failed.reason)
    if bounced_before is None and outbound_entry_id is not None:
        bounced_before = warn_rate.bounced_before(session, outbound_entry_id)
    first_of_entry = outbound_entry_id is not None and not bounced_before
    # A Core insert, built once, on the session's connection: the unit of work would cost
    # several times the statement (the member's changes: write_scored, or with the commit).
    session.connection().execute(_INSERT_EVENT, {
        "list_id": mailing_list.id, "member_id": member.id if member is not None else None,
        "address": member.address if member is not None else failed.address,
        "outbound_entry_id": outbound_entry_id, "kind": kind, "effect": effect.value,
        "status": failed.status, "reason": failed.reason,
        "diagnostic": (failed.diagnostic or "")[:2000] or None, "source": source,
        "report_message_id": report_message_id, "received_at": runtime.clock.now()})
    if first_of_entry:
        assert outbound_entry_id is not None
        warn_rate.count_first_bounce(session, runtime, mailing_list, outbound_entry_id,
                                     settings)
    if member is not None and not effect.queues_mail:
        write_scored(session, member)
    return effect


# What apply_bounce may change on a member.
_SCORE_COLUMNS = ("bounce_score", "last_bounce_at", "status", "bounce_suspended_at",
                  "bounce_warnings", "last_warning_at", "probe_sent_at")
_MEMBERS = cast(Table, Member.__table__)
# One UPDATE per set of changed columns, built once (at most 2**7 sets; a few in practice).
_SCORE_UPDATES: dict[tuple[str, ...], Update] = {}


def write_scored(session: Session, member: Member) -> None:
    """MEMBER's score written now, by a statement on the table, and the member taken out of
    the session: the unit of work would cost several times the UPDATE at the commit. Only
    where scoring alone changed it (no notice, probe or token refers to it), and only the
    columns it changed, as the unit of work would write them. A later read of the member in
    this transaction loads it again, as written."""
    state = inspect(member)
    changed = tuple(key for key in _SCORE_COLUMNS if state.attrs[key].history.has_changes())
    if changed:
        statement = _SCORE_UPDATES.get(changed)
        if statement is None:
            statement = _SCORE_UPDATES[changed] = update(_MEMBERS).where(
                _MEMBERS.c.id == bindparam("member_id")).values(
                {key: bindparam(f"new_{key}") for key in changed})
        session.connection().execute(statement, {
            "member_id": member.id, **{f"new_{key}": getattr(member, key) for key in changed}})
    session.expunge(member)


def suspend_notices(session: Session, runtime: Runtime, mailing_list: MailingList,
                    member: Member, policy: BouncePolicy, failed: FailedRecipient) -> None:
    reason = failed.reason or failed.status or "unknown"
    # The first warning goes out with the suspension; the lifecycle job sends the others.
    warn_member(session, runtime, mailing_list, member, reason,
                warnings_left=max(policy.warnings - 1, 0))
    member.bounce_warnings = 1
    member.last_warning_at = member.bounce_suspended_at
    send_notice(session, mailing_list, "bounce_owner_suspended",
                owner_addresses(session, mailing_list), member=member.address,
                score=f"{member.bounce_score:g}", threshold=f"{policy.threshold:g}",
                reason=reason, warnings=policy.warnings)


def record_relay_refusals(session: Session, runtime: Runtime,
                          refusals: Sequence[RelayRefusal]) -> None:
    """A 5xx from the relay during delivery is a bounce like one mailed back."""
    for refusal in refusals:
        mailing_list = session.get(MailingList, refusal.list_id)
        if mailing_list is None:
            continue
        member = session.get(Member, refusal.member_id) if refusal.member_id else None
        record_bounce(session, runtime, mailing_list, member,
                      classify_reply(refusal.recipient, refusal.response), source="relay",
                      outbound_entry_id=refusal.entry_id,
                      probe_bounced=is_probe(session, refusal.entry_id))


def warn_member(session: Session, runtime: Runtime, mailing_list: MailingList, member: Member,
                reason: str, warnings_left: int) -> None:
    """Tell a suspended member; answering the notice resumes delivery (a reenable token)."""
    token = reenable_token(session, runtime, mailing_list, member)
    send_notice(session, mailing_list, "bounce_suspended", [member.address],
                reply_to=RobotAddresses.of(runtime, mailing_list).confirm(token),
                member=member.address, reason=reason, warnings=warnings_left)


PROBE_KIND = "probe"


def send_probe(session: Session, mailing_list: MailingList, member: Member) -> None:
    """A VERP-tagged test mail: if it bounces too, the address is dead (see apply_bounce)."""
    names = list_addresses(mailing_list)
    text = render("bounce_probe", mailing_list.language, member=member.address, **names)
    message = compose(sender=names["owner"], to=member.address, subject=text.subject,
                      body=text.body, auto_submitted="auto-generated",
                      reply_to=names["request"], headers={"X-Loop": mailing_list.address})
    enqueue_mail(session, sender=names["bounces"], recipients=[member.address],
                 message=message, kind=PROBE_KIND, list_id=mailing_list.id, verp=True,
                 member_id=member.id)


def is_probe(session: Session, entry_id: int | None) -> bool:
    if entry_id is None:
        return False
    kind = session.scalar(select(OutboundMessage.kind).join(
        OutboundEntry, OutboundEntry.outbound_id == OutboundMessage.id).where(
        OutboundEntry.id == entry_id))
    return kind == PROBE_KIND
