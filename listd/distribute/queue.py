"""Putting mail on the outbound queue: every mail listd sends goes through here."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any, cast

from sqlalchemy import CursorResult, Table, insert
from sqlalchemy.orm import Session

from listd.clock import utcnow
from listd.models import OutboundEntry, OutboundMessage, OutboundState

_OUTBOUND = cast(Table, OutboundMessage.__table__)
_ENTRIES = cast(Table, OutboundEntry.__table__)


def enqueue_mail(session: Session, *, sender: str, recipients: Sequence[str],
                 message: EmailMessage | bytes, kind: str = "notice",
                 list_id: int | None = None, verp: bool = False,
                 member_id: int | None = None) -> int:
    """Queue MESSAGE for RECIPIENTS with envelope sender SENDER, in the caller's transaction.

    VERP: each recipient gets its own LIST-bounces+TOKEN sender (a bounce probe); MEMBER_ID
    ties a single recipient to its membership, so a bounce finds the member. The message's id.
    """
    raw = message if isinstance(message, bytes) else message.as_bytes()
    now = utcnow()
    # Core inserts, not the ORM's unit of work: a notice is queued for most held posts.
    inserted = cast("CursorResult[Any]", session.execute(insert(_OUTBOUND), {
        "list_id": list_id, "kind": kind, "raw": raw, "verp": verp, "envelope_sender": sender,
        "created_at": now}))
    key = inserted.inserted_primary_key
    assert key is not None
    outbound_id = key[0]
    session.execute(insert(_ENTRIES), [
        {"outbound_id": outbound_id, "recipient": rcpt, "member_id": member_id,
         "state": OutboundState.QUEUED, "attempts": 0, "next_attempt_at": now,
         "created_at": now}
        for rcpt in dict.fromkeys(recipients)])
    return int(outbound_id)
