"""Handing an accepted post to distribution: rendered once, its recipients queued in bulk."""

from __future__ import annotations

from sqlalchemy.orm import Session

from listd.distribute.render import ListView, render_post
from listd.models import MailingList, OutboundMessage
from listd.runtime import Runtime


def accept_post(session: Session, runtime: Runtime, mailing_list: MailingList, raw: bytes,
                source_message_id: int | None = None) -> OutboundMessage:
    """Render RAW for MAILING_LIST and queue it for every member who receives posts.

    Cheap inside the caller's transaction: one render and one row. The recipients are queued
    by the expander (expand.py) in batches, after the commit; wake it with
    `runtime.signals.outbound.set()` once the transaction is committed.
    """
    rendered = render_post(raw, ListView.of(mailing_list, runtime.config))
    outbound = OutboundMessage(
        list_id=mailing_list.id, source_message_id=source_message_id, kind="post",
        raw=rendered.raw, verp=True, expanded=False, expanded_through=0,
        envelope_sender=f"{mailing_list.name}-bounces@{mailing_list.domain.name}",
        created_at=runtime.clock.now())
    session.add(outbound)
    session.flush()
    return outbound
