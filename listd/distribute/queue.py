"""Putting mail on the outbound queue: every mail listd sends goes through here."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage

from sqlalchemy import insert
from sqlalchemy.orm import Session

from listd.clock import utcnow
from listd.models import OutboundEntry, OutboundMessage, OutboundState


def enqueue_mail(session: Session, *, sender: str, recipients: Sequence[str],
                 message: EmailMessage | bytes, kind: str = "notice",
                 list_id: int | None = None, verp: bool = False,
                 member_id: int | None = None) -> OutboundMessage:
    """Queue MESSAGE for RECIPIENTS with envelope sender SENDER, in the caller's transaction.

    VERP: each recipient gets its own LIST-bounces+TOKEN sender (a bounce probe); MEMBER_ID
    ties a single recipient to its membership, so a bounce finds the member.
    """
    raw = message if isinstance(message, bytes) else message.as_bytes()
    outbound = OutboundMessage(list_id=list_id, kind=kind, raw=raw, verp=verp,
                               envelope_sender=sender)
    session.add(outbound)
    session.flush()
    now = utcnow()
    session.execute(insert(OutboundEntry), [
        {"outbound_id": outbound.id, "recipient": rcpt, "member_id": member_id,
         "state": OutboundState.QUEUED, "attempts": 0, "next_attempt_at": now,
         "created_at": now}
        for rcpt in dict.fromkeys(recipients)])
    return outbound
