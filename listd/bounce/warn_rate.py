"""Sympa's warn_rate: when one post bounced for more than `bounce_warn_rate` % of its
recipients, the owners are told, once per post (a conditional UPDATE claims the warning, so
two processes reading bounces of the same post send one).

Each bounce costs the same whatever the size of the post: the message's row counts its
queue entries that bounced (`bounced_recipients`, raised by the first bounce of each entry) and,
once expanded, how many entries it has (`recipient_total`, counted once). Only when the
counter says the rate is crossed are the bounced addresses counted exactly, once, before the
warning is claimed; a counter that ran ahead (two processes recording the first bounces of one
copy at the same instant) is set back to the exact count.
"""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import default

from sqlalchemy import ColumnElement, Exists, bindparam, exists, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from listd.members import addresses_with_role
from listd.models import BounceEvent, MailingList, OutboundEntry, OutboundMessage, Role
from listd.posting import notices
from listd.runtime import Runtime
from listd.settings import ListSettings

POST_KIND = "post"
# complaints.COMPLAINT, the kind of a complaint's event (importing it would be circular).
COMPLAINT = "complaint"


def bounced_before(session: Session, entry_id: int) -> bool:
    """Whether a bounce of queue entry ENTRY_ID is already recorded (through
    ix_bounce_events_entry)."""
    return session.connection().execute(_BOUNCED_BEFORE, {"entry_id": entry_id}).first() \
        is not None


def count_first_bounce(session: Session, runtime: Runtime, mailing_list: MailingList,
                       entry_id: int, settings: ListSettings | None = None) -> None:
    """After the first bounce of queue entry ENTRY_ID was recorded: count it against its
    message, and warn the owners if that post crossed the rate. (A second report about the
    same copy changes neither count, so it need not come here.)"""
    counted = session.connection().execute(_COUNT, {"entry_id": entry_id}).first()
    rate = (settings or ListSettings.of(mailing_list)).bounce_warn_rate
    if counted is None or rate <= 0:
        return
    post_id, kind, warned_at, bounced, total, expanded = counted
    if kind != POST_KIND or warned_at is not None:
        return
    if total is None:
        total = _recipients(session, post_id, remember=expanded)
    if not _crossed(bounced, total, rate):
        return
    session.flush()
    exact = _bounced(session, post_id)
    if exact != bounced:
        _set_counter(session, post_id, exact)
    if not _crossed(exact, total, rate) or not _claimed(session, runtime, post_id):
        return
    notices.send_list_notice(
        session, mailing_list, "bounce_rate_owner",
        addresses_with_role(session, mailing_list, Role.OWNER),
        subject=_subject(session, post_id), bounced=exact, total=total, rate=rate,
        percent=round(exact * 100 / total), post=post_id)


def bounced_before_of(entry_id: ColumnElement[int] | InstrumentedAttribute[int]) -> Exists:
    """`bounced_before` as a column of a statement (proof.py asks it with the proof)."""
    return exists().where(BounceEvent.outbound_entry_id == entry_id,
                          BounceEvent.kind != COMPLAINT)


# Built once: both run for every bounce with a queue entry.
# A complaint is not a bounce: it is counted by neither query.
_BOUNCED_BEFORE = select(BounceEvent.id).where(
    BounceEvent.outbound_entry_id == bindparam("entry_id"),
    BounceEvent.kind != COMPLAINT).limit(1)
# Counts the entry against its message and reads what the decision needs, in one statement.
_COUNT = (
    update(OutboundMessage)
    .where(OutboundMessage.id == select(OutboundEntry.outbound_id)
           .where(OutboundEntry.id == bindparam("entry_id")).scalar_subquery())
    .values(bounced_recipients=OutboundMessage.bounced_recipients + 1)
    .returning(OutboundMessage.id, OutboundMessage.kind, OutboundMessage.bounce_warned_at,
               OutboundMessage.bounced_recipients, OutboundMessage.recipient_total,
               OutboundMessage.expanded))


def _crossed(bounced: int, total: int, rate: int) -> bool:
    return total > 0 and bounced * 100 > rate * total


def _recipients(session: Session, post_id: int, *, remember: bool) -> int:
    """The post's queue entries; kept on its row once it is fully expanded (then fixed)."""
    total = session.scalar(select(func.count()).select_from(OutboundEntry).where(
        OutboundEntry.outbound_id == post_id)) or 0
    if remember:
        session.execute(update(OutboundMessage).where(OutboundMessage.id == post_id)
                        .values(recipient_total=total)
                        .execution_options(synchronize_session=False))
    return total


def _bounced(session: Session, post_id: int) -> int:
    return session.scalar(select(func.count(func.distinct(BounceEvent.address))).join(
        OutboundEntry, OutboundEntry.id == BounceEvent.outbound_entry_id).where(
        OutboundEntry.outbound_id == post_id, BounceEvent.kind != COMPLAINT)) or 0


def _set_counter(session: Session, post_id: int, bounced: int) -> None:
    session.execute(update(OutboundMessage).where(OutboundMessage.id == post_id)
                    .values(bounced_recipients=bounced)
                    .execution_options(synchronize_session=False))


def _claimed(session: Session, runtime: Runtime, post_id: int) -> bool:
    result = session.execute(update(OutboundMessage).where(
        OutboundMessage.id == post_id, OutboundMessage.bounce_warned_at.is_(None))
        .values(bounce_warned_at=runtime.clock.now())
        .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


def _subject(session: Session, post_id: int) -> str:
    raw = session.scalar(select(OutboundMessage.raw).where(OutboundMessage.id == post_id))
    headers = BytesHeaderParser(policy=default).parsebytes(raw or b"")
    return " ".join(str(headers.get("Subject", "")).split())[:200] or "-"
