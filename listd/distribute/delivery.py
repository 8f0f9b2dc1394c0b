"""The delivery worker: claim due recipients, keep every relay connection busy, record answers.

Three kinds of task share one in-memory window of claimed rows:

- the claimer tops the window up (one transaction per batch, within the quotas); a batch
  signed per recipient (one-click with DKIM) is built beside it, piece by piece, in a thread
  or by the signing pool's processes, so recording never waits for the signatures;
- one sender per connection takes a few jobs at a time (respecting the per-domain limit and
  the rate) and sends them pipelined on its own reused connection;
- the recorder writes the answers back, as many per transaction as have arrived meanwhile.

The window never holds more than about two batches, which bounds memory. A sender sends its
next chunk while the recorder commits the answers to its last one, but no further: before
a third chunk it waits for the first chunk's commit. The recorder commits whatever has
arrived at once (a group commit of a few chunks). So a crash can make at most
UNRECORDED_AT_MOST recipients per connection receive a post twice (what was on the wire or
answered but not yet committed), and the connections do not idle while a commit's fsync
runs. One slow or failing recipient holds only its own connection's next few jobs, never
the queue.

`listd serve` runs one such worker in each of its delivery processes
(listd/delivery_processes.py), each with its share of the connections and limits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.orm import Session

from listd.bounce.events import record_relay_refusals
from listd.config import OutboundConfig
from listd.deliverability.signing_pool import BrokenProcessPool, SigningPool, pool_size
from listd.distribute import claims
from listd.distribute.claims import Claimed, OutboundInfo
from listd.distribute.domain_limit import DomainLimit
from listd.distribute.domain_quota import DomainQuota
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

# Jobs a sender takes at once: few enough that the connections share a batch evenly.
CHUNK = 8
# Chunks of one connection that may be unrecorded at once: the one on the wire and the one
# whose answers are being committed.
UNRECORDED_CHUNKS = 2
# What one connection can have sent unrecorded: the most a crash can make it send twice.
UNRECORDED_AT_MOST = CHUNK * UNRECORDED_CHUNKS
# Recipients per piece of a batch sent to the signing pool: each piece is ready for the
# connections as soon as its signatures are back.
SIGN_PIECE = 64
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
    def __init__(self, runtime: Runtime, transport: Transport,
                 outbound: OutboundConfig | None = None, processes: int = 1) -> None:
        """OUTBOUND: this process's share of the outbound settings (listd/distribute/shares.py),
        when `listd serve` delivers from PROCESSES processes; default: all of them."""
        self.runtime = runtime
        self.transport = transport
        config = self.outbound = outbound or runtime.config.outbound
        self.batch_size = max(1, config.batch_size)
        # Claimed but unrecorded rows, at most.
        self.window = 2 * self.batch_size
        # Below this many ready jobs, claim whatever room there is: the connections would
        # soon have nothing to send.
        self.low_water = min(2 * UNRECORDED_AT_MOST * max(1, config.connections), self.batch_size)
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
        # Claimed rows whose jobs are being built (and signed), and the tasks building them.
        self.building = 0
        self.builders: set[asyncio.Task[None]] = set()
        self.pool = SigningPool(pool_size(config.signing_workers, processes))
        self.bodies = BodyCache(lambda info: prepare(info, runtime.keyring, runtime.config))
        self.domains = DomainLimit(config.per_domain_connections)
        self.rate = RateLimiter(config.quota.rate)
        self.quota = WindowQuota(config.quota)
        self.domain_quota = DomainQuota(config.domain_quotas)
        self.signer = VerpSigner(runtime.secret)
        self.tokens = UnsubscribeTokens(runtime.secret)
        self.values = MemberValues(runtime.secret)
        # Names of the members of the claimed batches still being built, where a post has
        # merge fields (kept until no build is in flight, as signed builds run beside claims).
        self.names: dict[int, str] = {}
        self.next_lease_check = dt.datetime.min
        # When every claim this process holds was last renewed (claims.renew).
        self.renewed_at = dt.datetime.min
        self.sent_total = 0

    @property
    def outstanding(self) -> int:
        """Claimed rows not yet recorded."""
        return len(self.ready) + self.building + self.in_flight + len(self.results) + \
            self.recording

    async def run(self, stopping: asyncio.Event) -> None:
        connections = max(1, self.outbound.connections)
        senders = [asyncio.create_task(self._sender(stopping)) for _ in range(connections)]
        try:
            await self._pump(stopping)
        finally:
            self.work.set()
            try:
                await asyncio.gather(*self.builders, return_exceptions=True)
                await self._record_until_done(senders)
                leftovers = [c.entry_id for c, _ in self.ready]
                self.ready.clear()
                if leftovers:
                    await self._guarded(self._db_release, leftovers)
            finally:
                self.pool.close()

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
            # Claim ahead while the connections still have work, within the window; in
            # batches, not a chunk's worth at a time (each claim is a transaction, a commit
            # and, on SQLite, the write lock the other delivery processes wait for).
            room = min(self.batch_size - len(self.ready), self.window - self.outstanding)
            if room > 0 and (room >= self.batch_size // 2 or len(self.ready) < self.low_water) \
                    and await self._claim(room):
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
        """Claim up to WANTED rows; the number claimed, with those given back at once to
        wait for their domain's quota (progress all the same: claim again)."""
        rows, paced = await self._guarded(self._db_claim, wanted) or ([], 0)
        if not rows:
            return paced
        self.building += len(rows)
        if not any(self.bodies.peek(r.outbound_id).signed_per_recipient for r in rows):
            # Cheap (a splice, a VERP address): made at once, in a thread.
            await self._build_here(rows)
            return len(rows) + paced
        # Signed per recipient (half a millisecond of CPU each): built beside the pump, by
        # the signing pool or piece by piece in a thread, so that recording never waits for
        # a whole batch's signatures.
        builder = asyncio.create_task(self._build(rows))
        self.builders.add(builder)
        builder.add_done_callback(self.builders.discard)
        return len(rows) + paced

    async def _build(self, rows: list[Claimed]) -> None:
        plain: list[Claimed] = []
        signed: dict[int, list[Claimed]] = {}
        for row in rows:
            if self.bodies.peek(row.outbound_id).signed_per_recipient:
                signed.setdefault(row.outbound_id, []).append(row)
            else:
                plain.append(row)
        pieces = [same[n:n + SIGN_PIECE] for same in signed.values()
                  for n in range(0, len(same), SIGN_PIECE)]
        if not self.pool.enabled:
            # One piece after the other in a thread; each goes out as soon as it is made.
            # OpenSSL's RSA releases the GIL, so this thread and the event loop already share
            # about 1.5 cores; with a delivery process per core, more threads would only
            # make every piece later (bench/RESULTS.md).
            await self._build_here(plain)
            for piece in pieces:
                await self._build_here(piece)
            return
        # Each piece goes to the connections as soon as its signatures are back.
        await asyncio.gather(self._build_here(plain),
                             *(self._build_signed(piece) for piece in pieces))

    async def _build_here(self, rows: list[Claimed]) -> None:
        """Jobs made in a thread: off the event loop and off the database thread."""
        if rows:
            await self._ready_up(rows, lambda: asyncio.to_thread(
                lambda: [(row, self._job(row)) for row in rows]))

    async def _build_signed(self, rows: list[Claimed]) -> None:
        """Jobs whose per-recipient signatures the signing pool makes, on every core."""
        async def build() -> list[tuple[Claimed, Job]]:
            # All ROWS are recipients of one message (see _build).
            prepared = self.bodies.peek(rows[0].outbound_id)
            assert prepared.signing is not None
            tokens = [self._token(prepared, row) for row in rows]
            try:
                signatures = await self.pool.signatures(prepared.signing,
                                                        [t.encode() for t in tokens])
            except BrokenProcessPool:
                log.exception("delivery: the signing pool broke; signing here meanwhile")
                return await asyncio.to_thread(lambda: [(row, self._job(row)) for row in rows])
            return [(row, self._job(row, prepared.signed_body(token, signature)))
                    for row, token, signature in zip(rows, tokens, signatures, strict=True)]
        await self._ready_up(rows, build)

    async def _ready_up(self, rows: list[Claimed],
                        build: Callable[[], Awaitable[list[tuple[Claimed, Job]]]]) -> None:
        try:
            jobs = await build()
        except Exception:
            # Ours: the rows go back to the queue, to be tried again on the next claim.
            log.exception("delivery: cannot build the jobs of %d claimed rows", len(rows))
            jobs = []
            await self._guarded(self._db_release, [r.entry_id for r in rows])
        finally:
            self.building -= len(rows)
        self.ready.extend(jobs)
        self.work.set()

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

    def _db_claim(self, wanted: int) -> tuple[list[Claimed], int]:
        runtime = self.runtime
        now = runtime.clock.now()
        rows: list[Claimed] = []
        paced = 0
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
                if rows and self.domain_quota.limited:
                    pacing = self.domain_quota.pace(session, now, rows, runtime.worker_id)
                    rows, paced = pacing.kept, pacing.deferred
                missing = {r.outbound_id for r in rows if r.outbound_id not in self.bodies}
                infos = claims.load_outbound(session, missing) if missing else []
                if not self.building:
                    # Nothing is being built from older claims: their names can go.
                    self.names = {}
                self.names.update(self._names(session, rows, infos))
        for info in infos:
            self.bodies.add(info)
        return rows, paced

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

    def _token(self, prepared: Prepared, item: Claimed) -> str:
        list_id = prepared.info.list_id
        return self.tokens.token(list_id, item.recipient) if list_id is not None else ""

    def _job(self, item: Claimed, body: bytes | None = None) -> Job:
        """ITEM's job; BODY, when given, is its wire body already made (and signed)."""
        prepared = self.bodies.get(item.outbound_id)
        info = prepared.info
        sender = info.envelope_sender
        if info.verp and info.list_name and info.domain:
            sender = self.signer.sender(info.list_name, info.domain, item.entry_id)
        eight_bit = prepared.eight_bit
        if body is None:
            body = prepared.body
            if prepared.personal:
                merge = self._merge(prepared, item)
                body = prepared.body_for(self._token(prepared, item), merge)
                # A member's name may be the only 8-bit text in the message.
                eight_bit = eight_bit or (bool(merge) and not body.isascii())
        return Job(sender, item.recipient, body, eight_bit)

    def _merge(self, prepared: Prepared, item: Claimed) -> list[tuple[bytes, bytes]]:
        if not prepared.markers:
            return []
        return self.values.pairs(prepared.markers, prepared.info.source_message_id,
                                 item.recipient, self.names.get(item.member_id or 0, ""),
                                 item.member_id)

    async def _sender(self, stopping: asyncio.Event) -> None:
        connection = self.transport.connect()
        # The commits of this connection's chunks, oldest first (at most UNRECORDED_CHUNKS).
        unrecorded: deque[asyncio.Future[None]] = deque()
        try:
            while True:
                while unrecorded and (unrecorded[0].done() or
                                      len(unrecorded) >= UNRECORDED_CHUNKS):
                    await unrecorded.popleft()
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
                    committed = await self._send(connection, batch)
                finally:
                    self.domains.give_back(held)
                if committed is not None:
                    unrecorded.append(committed)
        finally:
            # Whatever is still being committed is the recorder's (it runs until the senders end).
            await asyncio.gather(*unrecorded, return_exceptions=True)
            await connection.close()

    async def _send(self, connection: Connection, taken: Sequence[tuple[Claimed, Job]]
                    ) -> asyncio.Future[None] | None:
        """Send TAKEN; the commit of their answers, to be awaited before the connection has
        more than UNRECORDED_CHUNKS chunks unrecorded (None: nothing was sent)."""
        taken = await self._still_ours(taken)
        if not taken:
            return None
        batch = [item for item, _ in taken]
        self.in_flight += len(batch)
        try:
            results = await connection.send_many([job for _, job in taken])
        except Exception as exc:
            log.exception("delivery: sending failed")
            results = [deferred(f"internal error while sending: {exc!r}")] * len(batch)
        finally:
            self.in_flight -= len(batch)
        return self._recorded(list(zip(batch, results, strict=True)))

    def _recorded(self, results: list[tuple[Claimed, SendResult]]) -> asyncio.Future[None]:
        """Hand RESULTS to the recorder; the future of their commit."""
        committed = asyncio.get_running_loop().create_future()
        self.results.extend(results)
        self.recorded.append(committed)
        self.have_results.set()
        return committed

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
