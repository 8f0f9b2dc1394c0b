"""Reports listd may not act on: kept as bounce events, in the audit log, and sent to the owners.

A report that cannot be proven to concern a copy sent to a member (proof.py), or a feedback
report that is not the recipient's own complaint, changes no membership; the owners get it
with the reason, to judge for themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listd import audit
from listd.bounce.events import ACTOR
from listd.bounce.notices import owner_addresses, send_notice
from listd.bounce.outcome import AddressEffect
from listd.bounce.scoring import Effect
from listd.models import AuditEntry, BounceEvent, MailingList, Member
from listd.runtime import Runtime

FORWARDED = "bounce.forwarded"
# Anyone can mail LIST-bounces@: past this many forwards a day, the owners are not mailed
# each further report (they stay in `listd bounce ls --reports`), so forged reports cannot
# be used to flood the owners' mailboxes through listd.
FORWARDS_PER_DAY = 10


@dataclass(frozen=True)
class Unacted:
    """One address a report names, and what the report said about it."""

    address: str
    kind: str
    status: str | None = None
    reason: str | None = None
    diagnostic: str | None = None
    # Set only when the report is proven to be about this member's copy.
    member: Member | None = None


@dataclass(frozen=True)
class Report:
    """The report as received: its stored message, raw bytes and the list it came to."""

    mailing_list: MailingList
    message_id: int
    raw: bytes


def record_unacted(session: Session, runtime: Runtime, report: Report,
                   named: Sequence[Unacted], effect: Effect, why: str) -> list[AddressEffect]:
    """Keep one event per named address and one audit entry; nothing else changes."""
    mailing_list = report.mailing_list
    for one in named:
        session.add(BounceEvent(
            list_id=mailing_list.id, member_id=one.member.id if one.member else None,
            address=one.address, kind=one.kind, effect=effect.value, status=one.status,
            reason=one.reason, diagnostic=(one.diagnostic or "")[:2000] or None,
            source="report", report_message_id=report.message_id,
            received_at=runtime.clock.now()))
    audit.record(session, ACTOR, "bounce.not_acted", mailing_list, None, why=why,
                 named=[one.address for one in named], report=report.message_id)
    return [AddressEffect(one.address, effect) for one in named]


def forward_to_owners(session: Session, runtime: Runtime, report: Report,
                      named: Sequence[str], why: str) -> bool:
    """Send the report to the owners; not when it is about an owner's own mailbox, as a
    failing owner address would otherwise bounce each forward back here, for ever, nor
    past the day's forwards."""
    owners = owner_addresses(session, report.mailing_list)
    if not owners or {a.lower() for a in named} & {o.lower() for o in owners}:
        return False
    now = runtime.clock.now()
    if _forwarded_since(session, report.mailing_list, now - dt.timedelta(days=1)) \
            >= FORWARDS_PER_DAY:
        return False
    send_notice(session, report.mailing_list, "bounce_unacted_owner", owners,
                attachment=report.raw, why=why, named=", ".join(named) or "no address")
    session.add(AuditEntry(at=now, actor=ACTOR, action=FORWARDED,
                           list_id=report.mailing_list.id, detail={"report": report.message_id}))
    return True


def _forwarded_since(session: Session, mailing_list: MailingList, since: dt.datetime) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == FORWARDED, AuditEntry.list_id == mailing_list.id,
        AuditEntry.at > since)) or 0
