"""Sympa's warn_rate: when one post bounced for more than `bounce_warn_rate` % of its
recipients, the owners are told, once per post (a conditional UPDATE claims the warning, so
two processes reading bounces of the same post send one)."""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import default

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from listd.members import addresses_with_role
from listd.models import BounceEvent, MailingList, OutboundEntry, OutboundMessage, Role
from listd.posting import notices
from listd.runtime import Runtime
from listd.settings import ListSettings


def check(session: Session, runtime: Runtime, mailing_list: MailingList, entry_id: int) -> None:
    """After a bounce of queue entry ENTRY_ID: warn the owners if its post crossed the rate."""
    rate = ListSettings.of(mailing_list).bounce_warn_rate
    if rate <= 0:
        return
    # The post's columns only: its raw (the whole message) is read if a warning is sent.
    post = session.execute(select(OutboundMessage.id, OutboundMessage.kind,
                                  OutboundMessage.bounce_warned_at).join(
        OutboundEntry, OutboundEntry.outbound_id == OutboundMessage.id).where(
        OutboundEntry.id == entry_id)).first()
    if post is None or post.kind != "post" or post.bounce_warned_at is not None:
        return
    total = session.scalar(select(func.count()).select_from(OutboundEntry).where(
        OutboundEntry.outbound_id == post.id)) or 0
    bounced = session.scalar(select(func.count(func.distinct(BounceEvent.address))).join(
        OutboundEntry, OutboundEntry.id == BounceEvent.outbound_entry_id).where(
        OutboundEntry.outbound_id == post.id)) or 0
    if total == 0 or bounced * 100 <= rate * total or not _claimed(session, runtime, post.id):
        return
    notices.send_list_notice(
        session, mailing_list, "bounce_rate_owner",
        addresses_with_role(session, mailing_list, Role.OWNER),
        subject=_subject(session, post.id), bounced=bounced, total=total, rate=rate,
        percent=round(bounced * 100 / total), post=post.id)


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
