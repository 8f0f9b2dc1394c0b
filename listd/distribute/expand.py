"""Expanding a post into one queue row per receiving member, a batch per transaction.

The rows are written by the database itself (INSERT … SELECT from the members table), so no
member list passes through Python: memory stays flat from 100 to 1,000,000 members. The
outbound message keeps the highest member id queued so far; a process killed in the middle
of an expansion, or another process, continues after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    String,
    and_,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from listd.delivery_modes import receives_each_post
from listd.distribute.selection import owners, send_filter
from listd.models import (
    DeliveryMode,
    Member,
    MemberStatus,
    OutboundEntry,
    OutboundMessage,
    OutboundState,
    Role,
)
from listd.processing.worker import wait_for_any
from listd.runtime import Runtime

log = logging.getLogger("listd.distribute")

EXPAND_BATCH = 5000
FIRST_BATCH = 500
IDLE_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Expansion:
    """One batch of one outbound message's expansion."""

    outbound_id: int
    queued: int
    finished: bool


def receiving(list_id: int | None, after: int,
              audience: DeliveryMode | None = None) -> ColumnElement[bool]:
    """Members who get this message, after member id AFTER (served by ix_members_fanout):
    those of AUDIENCE's mode (a digest's form), or those who get each post."""
    modes = receives_each_post() if audience is None else frozenset({audience})
    return and_(Member.list_id == list_id, Member.role == Role.SUBSCRIBER,
                Member.status == MemberStatus.ENABLED,
                Member.delivery_mode.in_(modes), Member.id > after)


def _recipients(session: Session, list_id: int | None, after: int,
                audience: DeliveryMode | None, send_id: int | None,
                now: dt.datetime) -> ColumnElement[bool]:
    """RECEIVING, narrowed by the `listd post send` SEND_ID made this message with, if any."""
    if send_id is None:
        return receiving(list_id, after, audience)
    narrowed = send_filter(session, send_id, receiving(list_id, 0, audience), now)
    if narrowed.test:
        return owners(list_id, after)
    return and_(receiving(list_id, after, audience), *narrowed.conditions)


def expand_batch(session: Session, now: dt.datetime,
                 batch_size: int = EXPAND_BATCH) -> Expansion | None:
    """Queue the next batch of the oldest message still being expanded; None if none is."""
    pending = session.execute(
        select(OutboundMessage.id, OutboundMessage.list_id, OutboundMessage.expanded_through,
               OutboundMessage.audience, OutboundMessage.send_id)
        .where(OutboundMessage.expanded.is_(False)).order_by(OutboundMessage.id).limit(1)
        .with_for_update(skip_locked=True)).first()
    if pending is None:
        return None
    outbound_id, list_id, after, audience, send_id = pending
    if after == 0:
        # A small first batch lets delivery start while the rest is being queued.
        batch_size = min(batch_size, FIRST_BATCH)
    who = _recipients(session, list_id, after, audience, send_id, now)
    batch = select(Member.id).where(who).order_by(Member.id).limit(batch_size).subquery()
    last, count = session.execute(select(func.max(batch.c.id), func.count())).one()
    if last is None:
        session.execute(update(OutboundMessage).where(OutboundMessage.id == outbound_id)
                        .values(expanded=True))
        return Expansion(outbound_id, 0, finished=True)
    session.execute(insert(OutboundEntry).from_select(
        ["outbound_id", "recipient", "member_id", "state", "attempts", "next_attempt_at",
         "created_at"],
        select(literal(outbound_id, Integer()), Member.address, Member.id,
               literal(OutboundState.QUEUED.value, String()), literal(0, Integer()),
               literal(now, DateTime()), literal(now, DateTime()))
        .where(who, Member.id <= last)))
    finished = count < batch_size
    session.execute(update(OutboundMessage).where(OutboundMessage.id == outbound_id)
                    .values(expanded_through=last, expanded=finished))
    return Expansion(outbound_id, count, finished)


class ExpanderWorker:
    """Queues accepted posts' recipients batch by batch, waking the delivery worker each time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def run(self, stopping: asyncio.Event) -> None:
        signals = self.runtime.signals
        while not stopping.is_set():
            signals.expand.clear()
            try:
                expansion = await self.runtime.db.run(self._expand)
            except Exception:
                log.exception("expander: failure; retrying shortly")
                expansion = None
            if expansion is not None:
                signals.outbound.set()
                if expansion.finished:
                    log.info("outbound=%d: every recipient is queued", expansion.outbound_id)
                continue
            await wait_for_any(signals.expand, stopping, IDLE_POLL_SECONDS)

    def _expand(self) -> Expansion | None:
        with self.runtime.db.session() as session:
            return expand_batch(session, self.runtime.clock.now())
