"""The delivery worker: claim due recipients, keep every relay connection busy, record answers.

Three kinds of task share one in-memory window of claimed rows:

- the claimer tops the window up (one transaction per batch, within the quotas);
- one sender per connection takes a few jobs at a time (respecting the per-domain limit and
  the rate) and sends them pipelined on its own reused connection;
- the recorder writes the answers back, as many per transaction as have arrived meanwhile.

The window never holds more than about two batches, which bounds memory. A sender waits for
its chunk's answers to be committed before it sends the next, and the recorder commits
whatever has arrived at once (a group commit of a few chunks), so a crash can make at most
one chunk per connection (connections × CHUNK recipients) receive a post twice: what was on
the wire. One slow or failing recipient holds only its own connection's next few jobs,
never the queue.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.orm import Session

from listd.bounce.events import record_relay_refusals
from listd.distribute import claims
from listd.distribute.claims import Claimed, OutboundInfo
from listd.distribute.domain_limit import DomainLimit
from listd.distribute.outcome import SendResult, deferred
from listd.distribute.personal import (
    MemberValues,
    UnsubscribeTokens,
    markers_in,
    member_names,
)
from listd.distribute.prepared import Prepared, prepare
from listd.distribute.quota import RateLimiter, WindowQuota
from listd.distribute.smtp_client import Job
from listd.distribute.transport import Connection, Transport
from listd.distribute.verp import VerpSigner
from listd.runtime import Runtime

log = logging.getLogger("listd.distribute")
T = TypeVar("T")

# Jobs a sender takes at once: enough to keep a pipelined connection full, few enough that
# the connections share a batch evenly. Also what one connection can have sent unrecorded.
CHUNK = 16
IDLE_POLL_SECONDS = 1.0
LEASE_CHECK = dt.timedelta(minutes=1)
# Rendered bodies kept in memory, by total size.
BODY_CACHE_BYTES = 64 * 1024 * 1024


class BodyCache:
    """Prepared outbound messages (signed, wire-ready), the least recently used dropped first."""

    def __init__(self, prepare: Callable[[OutboundInfo], Prepared],
                 budget: int = BODY_CACHE_BYTES) -> None:
        self.prepare = prepare
        self.budget = budget
        self.items: OrderedDict[int, Prepared] = OrderedDict()
        self.size = 0

    def __contains__(self, outbound_id: int) -> bool:
        return outbound_id in self.items

    def get(self, outbound_id: int) -> Prepared:
        self.items.move_to_end(outbound_id)
        return self.items[outbound_id]

    def peek(self, outbound_id: int) -> Prepared:
        """The entry, without reordering (safe beside a thread that calls get)."""
        return self.items[outbound_id]

    def add(self, info: OutboundInfo) -> None:
        prepared = self.prepare(info)
        self.items[info.outbound_id] = prepared
        self.size += len(prepared.body)
        while self.size > self.budget and len(self.items) > 1:
            _, old = self.items.popitem(last=False)
            self.size -= len(old.body)


def recipient_of(item: tuple[Claimed, Job]) -> str:
    return item[0].recipient


class DeliveryWorker:
    def __init__(self, runtime: Runtime, transport: Transport) -> None:
        self.runtime = runtime
        self.transport = transport
        config = runtime.config.outbound
        self.batch_size = max(1, config.batch_size)
        # Claimed but unrecorded rows, at most.
        self.window = 2 * self.batch_size
        self.give_up_after = dt.timedelta(seconds=config.give_up_after)
        self.lease = dt.timedelta(seconds=config.claim_lease)
        # Claimed rows with their job (signing is CPU work, done off the event loop).
        self.ready: deque[tuple[Claimed, Job]] = deque()
        self.work = asyncio.Event()
        # Answers waiting for the recorder, and the senders waiting for them to be committed.
        self.results: list[tuple[Claimed, SendResult]] = []
        self.recorded: list[asyncio.Future[None]] = []
        self.have_results = asyncio.Event()
        self.in_flight = 0
        # Results being written: still outstanding until their transaction commits.
        self.recording = 0
        self.bodies = BodyCache(lambda info: prepare(info, runtime.keyring, runtime.config))
        self.domains = DomainLimit(config.per_domain_connections)
        self.rate = RateLimiter(config.quota.rate)
        self.quota = WindowQuota(config.quota)
        self.signer = VerpSigner(runtime.secret)
        self.tokens = UnsubscribeTokens(runtime.secret)
        self.values = MemberValues(runtime.secret)
        # Names of the members of the last claimed batch, where a post has merge fields.
        self.names: dict[int, str] = {}
        self.next_lease_check = dt.datetime.min
        # When every claim this process holds was last renewed (claims.renew).
        self.renewed_at = dt.datetime.min
        self.sent_total = 0

    @property
    def outstanding(self) -> int:
        """Claimed rows not yet recorded."""
        return len(self.ready) + self.in_flight + len(self.results) + self.recording

    async def run(self, stopping: asyncio.Event) -> None:
        connections = max(1, self.runtime.config.outbound.connections)
        senders = [asyncio.create_task(self._sender(stopping)) for _ in range(connections)]
        try:
            await self._pump(stopping)
        finally:
            self.work.set()
            await self._record_until_done(senders)
            leftovers = [c.entry_id for c, _ in self.ready]
            self.ready.clear()
            if leftovers:
                await self._guarded(self._db_release, leftovers)

    # -- the database side: record answers first, claim more when none wait ---------------

    async def _pump(self, stopping: asyncio.Event) -> None:
        signal = self.runtime.signals.outbound
        while not stopping.is_set():
            signal.clear()
            self.have_results.clear()
            if self.results:
                # Senders wait for this commit before their next chunk: keep it prompt.
                await self._record()
                continue
            # Claim ahead while the connections still have work, within the window.
            room = min(self.batch_size - len(self.ready), self.window - self.outstanding)
            if room > 0 and await self._claim(room):
                continue
            await wait_for_any_of((signal, self.have_results), stopping, IDLE_POLL_SECONDS)

    async def _record_until_done(self, senders: list[asyncio.Task[None]]) -> None:
        """While the senders finish their chunks, keep recording what they report."""
        finished = asyncio.ensure_future(asyncio.gather(*senders, return_exceptions=True))
        while True:
            if self.results:
                await self._record()
            if finished.done():
                break
            self.have_results.clear()
            arrived = asyncio.ensure_future(self.have_results.wait())
            await asyncio.wait((finished, arrived), return_when=asyncio.FIRST_COMPLETED)
            arrived.cancel()
        if self.results:
            await self._record()

    async def _record(self) -> None:
        done, self.results = self.results, []
        waiting, self.recorded = self.recorded, []
        self.recording = len(done)
        try:
            # On failure the rows stay claimed; takeover or the lease gives them back.
            await self._guarded(self._db_record, done)
        finally:
            self.recording = 0
            for future in waiting:
                if not future.done():
                    future.set_result(None)
        self._log(done)

    async def _claim(self, wanted: int) -> int:
        rows = await self._guarded(self._db_claim, wanted) or []
        if rows:
            # Built off the event loop and off the database thread, which the recorder needs:
            # a personal message is DKIM-signed per recipient (a millisecond of CPU each).
            jobs = await asyncio.to_thread(lambda: [(row, self._job(row)) for row in rows])
            self.ready.extend(jobs)
            self.work.set()
        return len(rows)

    async def _guarded(self, fn: Callable[..., T], *args: object) -> T | None:
        try:
            return await self.runtime.db.run(fn, *args)
        except Exception:
            log.exception("delivery: %s failed", fn.__name__.strip("_"))
            return None

    def _db_record(self, done: list[tuple[Claimed, SendResult]]) -> None:
        runtime = self.runtime
        list_of = {oid: self.bodies.peek(oid).info.list_id
                   for oid in {c.outbound_id for c, _ in done} if oid in self.bodies}
        with runtime.db.session() as session:
            refusals = claims.record_results(session, runtime.clock.now(), self.give_up_after,
                                             done, list_of, runtime.worker_id)
            record_relay_refusals(session, runtime, refusals)

    def _db_release(self, unsent: list[int]) -> None:
        with self.runtime.db.session() as session:
            claims.release(session, unsent)

    def _db_claim(self, wanted: int) -> list[Claimed]:
        runtime = self.runtime
        now = runtime.clock.now()
        rows: list[Claimed] = []
        infos: list[OutboundInfo] = []
        with runtime.db.session() as session:
            if now >= self.next_lease_check:
                self.next_lease_check = now + min(LEASE_CHECK, self.lease / 4)
                released = claims.release_expired_leases(session, now, self.lease)
                if released:
                    log.warning("took over %d deliveries whose claim had expired", released)
            if self.quota.limited:
                wanted = self.quota.allowance(session, now, self.outstanding, wanted)
            if wanted > 0:
                rows = claims.claim_due(session, now, runtime.worker_id, wanted)
                missing = {r.outbound_id for r in rows if r.outbound_id not in self.bodies}
                infos = claims.load_outbound(session, missing) if missing else []
                self.names = self._names(session, rows, infos)
        for info in infos:
            self.bodies.add(info)
        return rows

    def _names(self, session: Session, rows: list[Claimed], infos: list[OutboundInfo]
               ) -> dict[int, str]:
        merged = {i.outbound_id for i in infos if markers_in(i.raw)} | {
            r.outbound_id for r in rows
            if r.outbound_id in self.bodies and self.bodies.peek(r.outbound_id).markers}
        return member_names(session, (r.member_id for r in rows if r.outbound_id in merged
                                      and r.member_id is not None)) if merged else {}

    # -- the claims a chunk is sent under ------------------------------------------------

    def _may_have_lost(self, taken: Sequence[tuple[Claimed, Job]], now: dt.datetime) -> bool:
        """Could another process hold (and send) some of these rows by now?

        Not while this process's heartbeat is known fresh and its claims were renewed within
        a quarter of the lease: then nobody can have taken them back.
        """
        oldest = min(max(item.claimed_at, self.renewed_at) for item, _ in taken)
        return now - oldest > self.lease / 4 or not self.runtime.liveness.fresh()

    async def _still_ours(self, taken: Sequence[tuple[Claimed, Job]]
                          ) -> Sequence[tuple[Claimed, Job]]:
        """TAKEN without the rows whose claim was lost; renews every claim this process holds
        when it is due, so a batch paced by a quota outlasts the lease safely."""
        if not self._may_have_lost(taken, self.runtime.clock.now()):
            return taken
        ours = await self._guarded(self._db_renew, [item.entry_id for item, _ in taken])
        kept = [pair for pair in taken if ours is not None and pair[0].entry_id in ours]
        if len(kept) < len(taken):
            log.warning("delivery: %d claimed rows not sent: %s", len(taken) - len(kept),
                        "their claim was lost" if ours is not None else "claims unknown")
        return kept

    def _db_renew(self, entry_ids: list[int]) -> set[int]:
        now = self.runtime.clock.now()
        with self.runtime.db.session() as session:
            ours = claims.renew(session, self.runtime.worker_id, now, entry_ids)
        self.renewed_at = now
        return ours

    # -- sending --------------------------------------------------------------------------

    def _job(self, item: Claimed) -> Job:
        prepared = self.bodies.get(item.outbound_id)
        info = prepared.info
        sender = info.envelope_sender
        if info.verp and info.list_name and info.domain:
            sender = self.signer.sender(info.list_name, info.domain, item.entry_id)
        body = prepared.body
        eight_bit = prepared.eight_bit
        if prepared.personal:
            token = self.tokens.token(info.list_id, item.recipient) \
                if info.list_id is not None else ""
            merge = self.values.pairs(
                prepared.markers, info.source_message_id, item.recipient,
                self.names.get(item.member_id or 0, ""), item.member_id) \
                if prepared.markers else []
            body = prepared.body_for(token, merge)
            # A member's name may be the only 8-bit text in the message.
            eight_bit = eight_bit or (bool(merge) and not body.isascii())
        return Job(sender, item.recipient, body, eight_bit)

    async def _sender(self, stopping: asyncio.Event) -> None:
        connection = self.transport.connect()
        try:
            while True:
                self.work.clear()
                if stopping.is_set():
                    return
                if not self.ready:
                    await wait_for_any_of((self.work,), stopping, IDLE_POLL_SECONDS)
                    continue
                allowed = await self.rate.take(CHUNK)
                batch, held = self.domains.take(self.ready, allowed, recipient_of)
                if not batch:
                    room = self.domains.waiter(self.ready, recipient_of)
                    await wait_for_any_of((room,), stopping, IDLE_POLL_SECONDS)
                    room.set()  # retired: a later give_back wakes a sender still waiting
                    continue
                try:
                    await self._send(connection, batch)
                finally:
                    self.domains.give_back(held)
        finally:
            await connection.close()

    async def _send(self, connection: Connection,
                    taken: Sequence[tuple[Claimed, Job]]) -> None:
        taken = await self._still_ours(taken)
        if not taken:
            return
        batch = [item for item, _ in taken]
        self.in_flight += len(batch)
        try:
            results = await connection.send_many([job for _, job in taken])
        except Exception as exc:
            log.exception("delivery: sending failed")
            results = [deferred(f"internal error while sending: {exc!r}")] * len(batch)
        finally:
            self.in_flight -= len(batch)
        await self._recorded(list(zip(batch, results, strict=True)))

    async def _recorded(self, results: list[tuple[Claimed, SendResult]]) -> None:
        """Hand RESULTS to the recorder and wait for their commit: a connection starts its
        next chunk only then, so a crash can resend at most one chunk per connection."""
        committed = asyncio.get_running_loop().create_future()
        self.results.extend(results)
        self.recorded.append(committed)
        self.have_results.set()
        await committed

    def _log(self, done: list[tuple[Claimed, SendResult]]) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        for item, result in done:
            if result.status.value != "sent" or log.isEnabledFor(logging.DEBUG):
                log.info("entry=%d outbound=%d rcpt=<%s> %s: %s", item.entry_id,
                         item.outbound_id, item.recipient, result.status.value,
                         result.response[:200])
        self.sent_total += sum(1 for _, r in done if r.status.value == "sent")
        if done:  # an idle round is not news
            log.info("delivery: %d recorded (%d sent in all)", len(done), self.sent_total)


async def wait_for_any_of(events: Sequence[asyncio.Event], stopping: asyncio.Event,
                          timeout: float) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in (*events, stopping)]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
