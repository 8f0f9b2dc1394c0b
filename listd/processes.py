"""Running `listd serve` processes, on any host: each keeps a heartbeat row in the database.

A process's id (host, pid and a random part, so two hosts or a reused pid never collide) is
what it writes into the rows it claims. Every `outbound.heartbeat` seconds it renews its row;
a process whose row is older than `outbound.takeover_after` is taken for dead: the others give
its claimed deliveries back to the queue and delete its row. A process that was only slow
finds, at its next chunk, that its claims are gone and sends nothing it no longer holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from listd.api import webhook_queue
from listd.database import affected_rows
from listd.distribute import claims
from listd.models import ProcessHeartbeat
from listd.processing import claims as inbound_claims

if TYPE_CHECKING:
    from listd.runtime import Runtime

log = logging.getLogger("listd.processes")


def process_id(pid: int, suffix: str) -> str:
    return f"{socket.gethostname()}:{pid}:{suffix}"


def new_process_id() -> str:
    return process_id(os.getpid(), uuid.uuid4().hex[:8])


@dataclass
class Liveness:
    """What this process knows of its own heartbeat: when it was last written (monotonic)."""

    # Within this many seconds of the last written beat nobody can have taken us for dead.
    trusted_for: float = 7.5
    beat_at: float = field(default=float("-inf"))

    def fresh(self) -> bool:
        return time.monotonic() - self.beat_at < self.trusted_for


def beat(session: Session, process_id: str, now: dt.datetime) -> None:
    """Write this process's heartbeat (the row is made again if someone deleted it)."""
    result = session.execute(update(ProcessHeartbeat).where(ProcessHeartbeat.id == process_id)
                             .values(seen_at=now))
    if not affected_rows(result):
        host, _, rest = process_id.partition(":")
        pid = rest.partition(":")[0]
        session.add(ProcessHeartbeat(id=process_id, host=host,
                                     pid=int(pid) if pid.isdigit() else 0,
                                     started_at=now, seen_at=now))


def take_over_dead(session: Session, process_id: str, now: dt.datetime,
                   takeover_after: dt.timedelta) -> int:
    """Give back the claims (outbound, inbound, webhook events) of every process without a
    fresh heartbeat; forget stale rows.

    A claimer with no row at all (an older listd, or a row already deleted) is dead too:
    every process writes its row before it claims anything.
    """
    cutoff = now - takeover_after
    live = set(session.scalars(select(ProcessHeartbeat.id)
                               .where(ProcessHeartbeat.seen_at >= cutoff)))
    dead = claims.claimers(session) - live - {process_id}
    dead_inbound = inbound_claims.claimers(session) - live - {process_id}
    dead_webhooks = webhook_queue.claimers(session) - live - {process_id}
    session.execute(delete(ProcessHeartbeat).where(ProcessHeartbeat.seen_at < cutoff,
                                                   ProcessHeartbeat.id != process_id))
    return claims.release_claims_of(session, dead) + \
        inbound_claims.release_claims_of(session, dead_inbound) + \
        webhook_queue.release_claims_of(session, dead_webhooks)


def forget(session: Session, process_id: str) -> None:
    session.execute(delete(ProcessHeartbeat).where(ProcessHeartbeat.id == process_id))


class HeartbeatWorker:
    """Writes this process's heartbeat and takes back the claims of dead processes.

    It runs on its own task, never behind a long maintenance job: a late beat would make the
    other processes take this one's claims.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        outbound = runtime.config.outbound
        self.every = max(outbound.heartbeat, 0.05)
        self.takeover_after = dt.timedelta(seconds=outbound.takeover_after)

    def beat_once(self) -> int:
        """Beat, then take over the dead's claims; return how many rows were given back."""
        runtime = self.runtime
        started = time.monotonic()
        now = runtime.clock.now()
        with runtime.db.session() as session:
            beat(session, runtime.worker_id, now)
            released = take_over_dead(session, runtime.worker_id, now, self.takeover_after)
        runtime.liveness.beat_at = started
        return released

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                released = await self.runtime.db.run(self.beat_once)
            except Exception:
                log.exception("heartbeat of %s failed; trying again", self.runtime.worker_id)
                released = 0
            if released:
                log.warning("took back %d deliveries claimed by a process that is gone",
                            released)
                self.runtime.signals.outbound.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.every)
        with contextlib.suppress(Exception):
            await self.runtime.db.run(self._forget)

    def _forget(self) -> None:
        with self.runtime.db.session() as session:
            forget(session, self.runtime.worker_id)
