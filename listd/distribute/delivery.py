"""Delivery workers: claim queued recipients, send them over reused connections, record results."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from listd.distribute.transport import Connection, SendResult, SendStatus, Transport
from listd.distribute.verp import verp_sender
from listd.models import (
    BounceEvent,
    Domain,
    MailingList,
    OutboundEntry,
    OutboundMessage,
    OutboundState,
)
from listd.processing.worker import wait_for_any
from listd.runtime import Runtime

log = logging.getLogger("listd.distribute")

BATCH_SIZE = 200
# A claim older than this belongs to a process that died mid-send; the row is taken over.
CLAIM_LEASE = dt.timedelta(minutes=10)
IDLE_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Claimed:
    entry_id: int
    outbound_id: int
    recipient: str
    sender: str
    member_id: int | None
    list_id: int | None
    attempts: int
    created_at: dt.datetime


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential back-off: 1 min, 2, 4 … capped at 4 hours."""
    return dt.timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 4 * 3600))


def claim_batch(session: Session, runtime: Runtime, limit: int) -> list[Claimed]:
    now = runtime.clock.now()
    due = or_(
        (OutboundEntry.state.in_([OutboundState.QUEUED, OutboundState.DEFERRED]))
        & (OutboundEntry.next_attempt_at <= now),
        (OutboundEntry.state == OutboundState.SENDING)
        & (OutboundEntry.claimed_at < now - CLAIM_LEASE))
    rows = session.execute(
        select(OutboundEntry.id, OutboundEntry.outbound_id, OutboundEntry.recipient,
               OutboundEntry.member_id, OutboundEntry.attempts, OutboundEntry.created_at,
               OutboundMessage.verp, OutboundMessage.envelope_sender, OutboundMessage.list_id,
               MailingList.name, Domain.name)
        .join(OutboundMessage, OutboundMessage.id == OutboundEntry.outbound_id)
        .outerjoin(MailingList, MailingList.id == OutboundMessage.list_id)
        .outerjoin(Domain, Domain.id == MailingList.domain_id)
        .where(due).order_by(OutboundEntry.id).limit(limit)
        .with_for_update(skip_locked=True, of=OutboundEntry)).all()
    if not rows:
        return []
    session.execute(update(OutboundEntry).where(OutboundEntry.id.in_([r[0] for r in rows]))
                    .values(state=OutboundState.SENDING, claimed_by=runtime.worker_id,
                            claimed_at=now))
    claimed = []
    for (entry_id, outbound_id, recipient, member_id, attempts, created_at, verp, sender,
         list_id, list_name, domain) in rows:
        if verp and list_name and domain:
            sender = verp_sender(list_name, domain, entry_id, runtime.secret)
        claimed.append(Claimed(entry_id, outbound_id, recipient, sender, member_id, list_id,
                               attempts, created_at))
    return claimed


def record_results(session: Session, runtime: Runtime,
                   results: Sequence[tuple[Claimed, SendResult]]) -> None:
    now = runtime.clock.now()
    give_up = dt.timedelta(seconds=runtime.config.outbound.give_up_after)
    for claimed, result in results:
        values: dict[str, object] = {"attempts": claimed.attempts + 1,
                                     "last_response": result.response[:2000],
                                     "claimed_by": None, "claimed_at": None}
        status = result.status
        if status is SendStatus.DEFERRED and now - claimed.created_at >= give_up:
            status = SendStatus.FAILED
            values["last_response"] = f"gave up after {give_up}: {result.response}"[:2000]
        if status is SendStatus.SENT:
            values.update(state=OutboundState.SENT, sent_at=now)
        elif status is SendStatus.DEFERRED:
            values.update(state=OutboundState.DEFERRED,
                          next_attempt_at=now + retry_delay(claimed.attempts + 1))
        else:
            values.update(state=OutboundState.FAILED)
            if result.code is not None and result.code >= 500 and claimed.list_id is not None:
                session.add(BounceEvent(
                    list_id=claimed.list_id, member_id=claimed.member_id,
                    address=claimed.recipient, outbound_entry_id=claimed.entry_id,
                    kind="relay", status=None, diagnostic=result.response[:2000],
                    source="relay"))
        session.execute(update(OutboundEntry).where(OutboundEntry.id == claimed.entry_id)
                        .values(**values))


def load_bodies(session: Session, outbound_ids: set[int]) -> dict[int, bytes]:
    return dict(session.execute(select(OutboundMessage.id, OutboundMessage.raw)
                                .where(OutboundMessage.id.in_(outbound_ids))).all())


class DeliveryWorker:
    """Keeps `connections` senders busy with claimed rows; each sender reuses one connection."""

    def __init__(self, runtime: Runtime, transport: Transport) -> None:
        self.runtime = runtime
        self.transport = transport
        self.bodies: dict[int, bytes] = {}

    async def run(self, stopping: asyncio.Event) -> None:
        connections = [self.transport.connect()
                       for _ in range(max(1, self.runtime.config.outbound.connections))]
        signal = self.runtime.signals.outbound
        try:
            while not stopping.is_set():
                signal.clear()
                try:
                    sent = await self.deliver_batch(connections)
                except Exception:
                    log.exception("delivery worker: failure; retrying shortly")
                    sent = 0
                if not sent:
                    await wait_for_any(signal, stopping, IDLE_POLL_SECONDS)
        finally:
            for connection in connections:
                await connection.close()

    async def deliver_batch(self, connections: list[Connection]) -> int:
        db = self.runtime.db
        claimed = await db.run(self._claim)
        if not claimed:
            return 0
        missing = {c.outbound_id for c in claimed} - self.bodies.keys()
        if missing:
            if len(self.bodies) > 64:
                self.bodies.clear()
            self.bodies.update(await db.run(self._bodies, missing))
        work: asyncio.Queue[Claimed] = asyncio.Queue()
        for item in claimed:
            work.put_nowait(item)
        results: list[tuple[Claimed, SendResult]] = []

        async def sender(connection: Connection) -> None:
            while not work.empty():
                item = work.get_nowait()
                result = await connection.send(item.sender, item.recipient,
                                               self.bodies[item.outbound_id])
                results.append((item, result))

        await asyncio.gather(*(sender(c) for c in connections[:len(claimed)]))
        await db.run(self._record, results)
        for item, result in results:
            log.info("entry=%d outbound=%d rcpt=<%s> %s: %s", item.entry_id, item.outbound_id,
                     item.recipient, result.status.value, result.response[:200])
        return len(results)

    def _claim(self) -> list[Claimed]:
        with self.runtime.db.session() as session:
            return claim_batch(session, self.runtime, BATCH_SIZE)

    def _bodies(self, ids: set[int]) -> dict[int, bytes]:
        with self.runtime.db.session() as session:
            return load_bodies(session, ids)

    def _record(self, results: list[tuple[Claimed, SendResult]]) -> None:
        with self.runtime.db.session() as session:
            record_results(session, self.runtime, results)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_dead_claims(runtime: Runtime) -> int:
    """Give back rows that a dead listd process on this machine had claimed but not finished.

    Claims by processes on other machines are left to the lease: only they know whether they
    are alive.
    """
    host = runtime.worker_id.rpartition(":")[0]
    released = 0
    with runtime.db.session() as session:
        owners = session.scalars(select(OutboundEntry.claimed_by).distinct().where(
            OutboundEntry.state == OutboundState.SENDING,
            OutboundEntry.claimed_by.like(f"{host}:%"))).all()
        for owner in owners:
            pid = owner.rpartition(":")[2] if owner else ""
            if owner == runtime.worker_id or not pid.isdigit() or _process_alive(int(pid)):
                continue
            result = session.execute(
                update(OutboundEntry).where(OutboundEntry.state == OutboundState.SENDING,
                                            OutboundEntry.claimed_by == owner)
                .values(state=OutboundState.QUEUED, claimed_by=None, claimed_at=None))
            released += result.rowcount or 0
    return released
